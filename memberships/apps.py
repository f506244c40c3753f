"""App configuration for memberships: subscriptions through the gateway, passes through commerce."""
from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "memberships"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce.signals import order_paid
        from microstage.payments.registry import register_handler

        from . import services

        register_handler(services.PURPOSE, on_paid=services.on_period_paid, on_failed=services.on_period_failed,
                         on_subscription_ended=services.on_subscription_ended)
        order_paid.connect(services.on_order_paid, dispatch_uid="memberships.loyalty")
