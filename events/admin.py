"""Admin for events, ticket tiers, tickets and door check-ins."""
from django.contrib import admin
from django.db.models import Count, Q

from .models import CheckIn, Drop, Event, Ticket, TicketTier


class TierInline(admin.TabularInline):
    model = TicketTier
    extra = 0
    fields = ["name", "kind", "price", "currency", "quantity", "max_per_order", "sales_start", "sales_end"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "starts_at", "timezone", "mode", "status", "visibility", "tickets_sold"]
    list_filter = ["status", "visibility", "mode", "starts_at"]
    search_fields = ["title", "slug", "id", "creator__name", "creator__slug", "venue_name"]
    date_hierarchy = "starts_at"
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at", "updated_at", "published_at", "preview_image"]
    inlines = [TierInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _sold=Count("tickets", filter=Q(tickets__status=Ticket.Status.VALID)))

    @admin.display(description="Tickets", ordering="_sold")
    def tickets_sold(self, obj):
        return obj._sold


@admin.register(TicketTier)
class TicketTierAdmin(admin.ModelAdmin):
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

    @admin.display(description="Order", ordering="order_line__order")
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
