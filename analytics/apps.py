"""App configuration for analytics: the price-override provider (experiments) and the two moments a
visitor is linked to an account — logging in and buying."""
from django.apps import AppConfig


def _on_login(sender, request, user, **kwargs):
    from . import services
    from .middleware import visitor_id_of

    if request is not None:
        services.link_visitor(visitor_id_of(request), user)


def _on_order_paid(sender, order, **kwargs):
    """Link the buyer to the visitor whose request paid (none for webhooks or opted-out browsers)."""
    from . import services
    from .middleware import current_request

    request = current_request.get()
    if request is not None and order.buyer_id and getattr(request, "visitor_id", None):
        services.link_visitor(request.visitor_id if request.COOKIES.get("ms_vid") == request.visitor_id else None,
                              order.buyer)


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from allauth.account.signals import user_logged_in

        from commerce.signals import order_paid
        from microstage import overrides

        from . import services

        overrides.register(services.price_override)
        from microstage.home import register_panel

        from .home import render_panel

        register_panel(render_panel)  # the creator home at /dashboard/
        user_logged_in.connect(_on_login, dispatch_uid="analytics-link-visitor-login")
        order_paid.connect(_on_order_paid, dispatch_uid="analytics-link-visitor-purchase")
