"""App configuration for analytics: the creator home panel, and linking a visitor to an account at login
(a purchase links in the middleware, analytics.middleware)."""
from django.apps import AppConfig


def _on_login(sender, request, user, **kwargs):
    from . import services
    from .middleware import visitor_id_of

    if request is not None:
        services.link_visitor(visitor_id_of(request), user)


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from allauth.account.signals import user_logged_in

        from microstage.home import register_panel

        from .home import render_panel

        register_panel(render_panel)  # the creator home at /dashboard/
        user_logged_in.connect(_on_login, dispatch_uid="analytics-link-visitor-login")
