"""App configuration for memberships: subscriptions through the gateway, passes through commerce."""
from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "memberships"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce.signals import order_disputed, order_paid, order_refunded
        from microstage.payments.registry import register_handler

        from . import services

        register_handler(services.PURPOSE, on_paid=services.on_period_paid, on_failed=services.on_period_failed,
                         on_subscription_ended=services.on_subscription_ended,
                         on_subscription_updated=services.on_subscription_updated)
        order_paid.connect(services.on_order_paid, dispatch_uid="memberships.loyalty")
        order_refunded.connect(services.on_order_refunded, dispatch_uid="memberships.loyalty.refund")
        order_disputed.connect(services.on_order_disputed, dispatch_uid="memberships.loyalty.dispute")
        from . import referrals

        order_refunded.connect(referrals.on_order_refunded, dispatch_uid="memberships.referral.refund")
        services.register_sellables()  # passes, sold through commerce
        from commerce import sellables

        from . import promos

        sellables.register_code_pricer(promos.price_product_offer)
        order_paid.connect(promos.on_order_paid, dispatch_uid="memberships.promo_codes")

        from allauth.account.signals import user_signed_up

        from .referral_views import remember_referrer

        # Only a sign-up records a referral: logging in to an existing account never does.
        user_signed_up.connect(remember_referrer, dispatch_uid="memberships.referral.signup")
