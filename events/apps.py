"""App configuration for events."""
from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog.shop_views import downloads_section
        from commerce.signals import guest_order_claimed, order_paid, order_refunded
        from commerce.views import register_order_section
        from memberships.promos import TICKET, register_item_choices

        from . import bundles, waitlist
        from .models import BUNDLE_KIND, DROP_KIND, TICKET_KIND
        from .selectors import tier_choices
        from .services.drops import register_drop_sellable
        from .services.tickets import attach_guest_tickets, register_sellables
        from .views import order_bundle_section, order_tickets_section

        register_sellables()
        register_item_choices(TICKET, tier_choices)
        register_order_section(TICKET_KIND, order_tickets_section)
        register_drop_sellable()
        register_order_section(DROP_KIND, downloads_section)
        order_paid.connect(waitlist.on_order_paid, dispatch_uid="events.waitlist.paid")
        order_refunded.connect(waitlist.on_order_refunded, dispatch_uid="events.waitlist.refunded")
        bundles.register()
        register_order_section(BUNDLE_KIND, order_bundle_section)
        guest_order_claimed.connect(attach_guest_tickets, dispatch_uid="events.tickets.guest_claimed")
        from . import settling

        settling.register()  # which show a line belongs to, for when the creator's money settles
        from . import perks

        perks.register()  # tier perks that deliver: downloads through the ticket line, show-time merch discount
        from . import page_cache

        page_cache.connect()
        from . import languages

        languages.register()  # an event's public pages are in its language for visitors who chose none
