"""App configuration for commerce: payment handlers, sellable kinds and signal receivers, wired once."""
from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from microstage.payments.registry import register_handler

        from . import gate, services
        from .shop_views import downloads_section
        from .views import register_order_section

        # Chargebacks go to whoever registered for them in commerce/gate.py (the payouts app).
        register_handler(services.PURPOSE, on_paid=services.on_payment_paid, on_failed=services.on_payment_failed,
                         on_cancelled=services.on_payment_failed, on_refunded=services.on_payment_refunded,
                         on_dispute_opened=gate.dispute_opened, on_dispute_closed=gate.dispute_closed)
        services.register_product_sellable()
        register_order_section(services.PRODUCT_KIND, downloads_section)
