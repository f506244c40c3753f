"""App configuration for commerce: it takes money for orders through the payments gateway."""
from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from microstage.payments.registry import register_handler

        from . import services

        register_handler(services.PURPOSE, on_paid=services.on_payment_paid, on_failed=services.on_payment_failed,
                         on_cancelled=services.on_payment_failed, on_refunded=services.on_payment_refunded)
