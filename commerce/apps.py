"""App configuration for commerce: payment handlers and signal receivers, wired once."""
from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from microstage.payments.registry import register_handler

        from . import gate, services

        # Chargebacks go to whoever registered for them in commerce/gate.py (the payouts app).
        register_handler(services.PURPOSE, on_paid=services.on_payment_paid, on_failed=services.on_payment_failed,
                         on_cancelled=services.on_payment_failed, on_refunded=services.on_payment_refunded,
                         on_dispute_opened=gate.dispute_opened, on_dispute_closed=gate.dispute_closed)
