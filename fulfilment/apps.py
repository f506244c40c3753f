"""App configuration for fulfilment: a settled group-buy gets its shipping batch (commerce's signal)."""
from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce import signals

        from . import services

        signals.group_buy_settled.connect(services.on_group_buy_settled, dispatch_uid="fulfilment.group_buy_batch")
