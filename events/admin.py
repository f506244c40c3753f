"""Admin for events, ticket tiers, tickets and door check-ins."""
from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import ngettext, gettext_lazy as _

from .models import Bundle, BundleItem, CheckIn, Drop, Event, Ticket, TicketTier, TierPerk, WaitlistEntry


class TierInline(admin.TabularInline):
    model = TicketTier
    extra = 0
    fields = ["name", "kind", "price", "currency", "quantity", "max_per_order", "sales_start", "sales_end"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "starts_at", "timezone", "language", "mode", "status", "visibility",
                    "tickets_sold"]
    list_filter = ["status", "visibility", "mode", "language", "starts_at"]
    search_fields = ["title", "slug", "id", "creator__name", "creator__slug", "venue_name"]
    date_hierarchy = "starts_at"
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at", "updated_at", "published_at", "preview_image"]
    inlines = [TierInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _sold=Count("tickets", filter=Q(tickets__status=Ticket.Status.VALID)))

    @admin.display(description=_("Tickets"), ordering="_sold")
    def tickets_sold(self, obj):
        return obj._sold


class TierPerkInline(admin.TabularInline):
    model = TierPerk
    extra = 0
    fields = ["kind", "days", "product", "percent"]
    autocomplete_fields = ["product"]


@admin.register(TicketTier)
class TicketTierAdmin(admin.ModelAdmin):
    inlines = [TierPerkInline]
    list_display = ["name", "event", "kind", "price", "currency", "quantity", "max_per_order", "sales_start",
                    "sales_end"]
    list_filter = ["kind", "currency", "event__status"]
    search_fields = ["name", "id", "event__title", "event__id", "event__creator__name"]
    list_select_related = ["event"]
    autocomplete_fields = ["event"]
    readonly_fields = ["id"]

    def get_readonly_fields(self, request, obj=None):
        # Once the event is on sale the price is what buyers were shown: change it from the dashboard.
        if obj is not None and obj.event.status != Event.Status.DRAFT:
            return [*self.readonly_fields, "price", "currency", "event"]
        return self.readonly_fields


class CheckInInline(admin.TabularInline):
    model = CheckIn
    extra = 0
    fields = ["result", "scanned_at", "received_at", "device", "scanned_by", "offline"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "tier", "holder_email", "status", "checked_in_at", "order", "created_at"]
    list_filter = ["status", "tier__kind", "event__status", ("checked_in_at", admin.EmptyFieldListFilter),
                   "created_at"]
    search_fields = ["id", "holder_email", "holder_name", "event__title", "event__id", "order_line__order__id"]
    list_select_related = ["event", "tier", "order_line"]
    date_hierarchy = "created_at"
    # Holder, status and check-in change only through services (transfer, refund, the door).
    readonly_fields = ["id", "event", "tier", "order", "order_line", "holder", "holder_email", "status", "version",
                       "awaiting_claim", "checked_in_at", "created_at"]
    fields = ["id", "event", "tier", "order", "order_line", "holder", "holder_email", "holder_name", "status",
              "version", "awaiting_claim", "checked_in_at", "created_at"]
    inlines = [CheckInInline]

    def has_add_permission(self, request):
        return False  # tickets are issued by paying an order

    @admin.display(description=_("Order"), ordering="order_line__order")
    def order(self, obj):
        return obj.order_line.order_id


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    """The door's log: a record of what happened, never edited by hand."""

    list_display = ["scanned_at", "event", "ticket", "result", "device", "scanned_by", "offline", "received_at"]
    list_filter = ["result", "offline", "scanned_at"]
    search_fields = ["ticket__id", "ticket__holder_email", "event__title", "event__id", "device"]
    list_select_related = ["event", "ticket", "ticket__tier", "scanned_by"]
    date_hierarchy = "scanned_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):
    list_display = ["product", "event", "quantity", "price", "starts_at", "ends_at", "stopped_at"]
    list_filter = ["starts_at"]
    search_fields = ["id", "product__name", "event__title"]
    list_select_related = ["product", "event"]
    autocomplete_fields = ["event"]
    readonly_fields = ["id", "created_at"]


# --- waiting lists and bundles -------------------------------------------------------------------

@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    """Entries change only through events/waitlist.py (places, offers): staff read and leave."""

    list_display = ["number", "tier", "user", "quantity", "status", "offer_expires_at", "order", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "user__email", "tier__name", "tier__id", "tier__event__title", "order__id"]
    list_select_related = ["tier", "tier__event", "user", "order"]
    readonly_fields = ["id", "tier", "user", "quantity", "number", "status", "order", "offer_expires_at", "offered_at",
                       "ended_at", "note", "created_at"]
    actions = ["offer_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Offer tickets that came back to these tiers' lines now"))
    def offer_now(self, request, queryset):
        from .waitlist import promote

        made = sum(len(promote(tier_id)) for tier_id in set(queryset.values_list("tier_id", flat=True)))
        self.message_user(request, ngettext("%(count)s offer made.", "%(count)s offers made.", made) % {"count": made})


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    extra = 0
    fields = ["tier", "variant", "quantity", "position"]
    raw_id_fields = ["tier", "variant"]

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.pk  # parts are fixed once buyers may hold them


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "price", "currency", "credit", "max_per_order", "is_active", "created_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "id", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at"]
    inlines = [BundleItemInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # what buyers were shown stays: make a new bundle to change the deal
            return [*self.readonly_fields, "creator", "price", "currency", "credit"]
        return self.readonly_fields


from . import consent_admin  # noqa: E402,F401  (registers consent forms, answers, notify-me)
