"""App configuration for events."""
from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from commerce.views import register_order_section

        from .services import TICKET_KIND, register_sellables
        from .views import order_tickets_section

        register_sellables()
        register_order_section(TICKET_KIND, order_tickets_section)
        from commerce.shop_views import downloads_section

        from .services import DROP_KIND, register_drop_sellable

        register_drop_sellable()
        register_order_section(DROP_KIND, downloads_section)
        from . import page_cache

        page_cache.connect()
