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
        from memberships.promos import TICKET, register_item_choices

        from .selectors import tier_choices

        register_item_choices(TICKET, tier_choices)
        register_order_section(TICKET_KIND, order_tickets_section)
        from commerce.shop_views import downloads_section

        from .services import DROP_KIND, register_drop_sellable

        register_drop_sellable()
        register_order_section(DROP_KIND, downloads_section)

        from commerce.signals import guest_order_claimed, order_paid, order_refunded

        from .services import attach_guest_tickets

        from . import bundles, waitlist

        order_paid.connect(waitlist.on_order_paid, dispatch_uid="events.waitlist.paid")
        order_refunded.connect(waitlist.on_order_refunded, dispatch_uid="events.waitlist.refunded")
        bundles.register()
        guest_order_claimed.connect(attach_guest_tickets, dispatch_uid="events.tickets.guest_claimed")
        from . import settling

        settling.register()  # which show a line belongs to, for when the creator's money settles
        from . import perks

        perks.register()  # tier perks that deliver: downloads through the ticket line, show-time merch discount
        from . import page_cache

        page_cache.connect()
        from . import languages

        languages.register()  # an event's public pages are in its language for visitors who chose none
