"""App configuration for events."""
from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog.shop_views import downloads_section
        from commerce import inventory, sellables
        from commerce.signals import guest_order_claimed, order_paid, order_refunded
        from memberships.promos import TICKET, register_item_choices

        from . import bundles, perks, settling, waitlist
        from .models import BUNDLE_KIND, DROP_KIND, TICKET_KIND
        from .selectors import tier_choices
        from .services import drops, tickets
        from .views import order_bundle_section, order_tickets_section

        # The kinds events sells, each registered once with all its hooks. Paid physical drop items
        # are fulfilled elsewhere (shipping, pickup); digital ones unlock downloads through commerce.
        sellables.register(TICKET_KIND, offer=tickets.ticket_offer, on_paid=tickets.issue_tickets,
                           on_refunded=tickets.void_tickets, on_cancelled=waitlist.on_ticket_line_cancelled,
                           group=tickets.tier_group, event_of=settling.ticket_event,
                           product_of_line=perks.ticket_download_product, order_section=order_tickets_section,
                           stock_key=inventory.tier_key)
        sellables.register(DROP_KIND, offer=drops.drop_offer, group=drops.drop_group, event_of=settling.drop_event,
                           product_of_line=drops.drop_product_of_line, order_section=downloads_section,
                           stock_key=inventory.drop_key)
        sellables.register(BUNDLE_KIND, offer=bundles.bundle_offer, on_paid=bundles.issue, on_refunded=bundles.void,
                           on_cancelled=bundles.on_cancelled, product_of_line=bundles.product_of_line,
                           order_section=order_bundle_section)
        register_item_choices(TICKET, tier_choices)
        order_paid.connect(waitlist.on_order_paid, dispatch_uid="events.waitlist.paid")
        order_refunded.connect(waitlist.on_order_refunded, dispatch_uid="events.waitlist.refunded")
        guest_order_claimed.connect(tickets.attach_guest_tickets, dispatch_uid="events.tickets.guest_claimed")
        settling.register()  # when shows end, for when the creator's money settles
        perks.register()  # the show-time merch discount a tier perk gives
        from . import page_cache

        page_cache.connect()
        from . import languages

        languages.register()  # an event's public pages are in its language for visitors who chose none
