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
        services.register_sellables()  # passes, sold through commerce
        from commerce import sellables

        from . import promos

        sellables.register_code_pricer(promos.price_product_offer)
        order_paid.connect(promos.on_order_paid, dispatch_uid="memberships.promo_codes")

        from allauth.account.signals import user_logged_in, user_signed_up

        from .referral_views import remember_referrer

        user_logged_in.connect(remember_referrer, dispatch_uid="memberships.referral.login")
        user_signed_up.connect(remember_referrer, dispatch_uid="memberships.referral.signup")
