"""App configuration for risk: plugs the checkout review into commerce's order flow (commerce/gate.py)."""
from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce import gate

        from . import services

        gate.register(check_checkout=services.check_checkout, on_paid=services.on_paid,
                      is_delivered=services.is_delivered, is_held=services.is_held,
                      held_orders=services.held_orders)
