"""Admin for events and ticket tiers."""
from django.contrib import admin

from .models import Event, TicketTier


class TierInline(admin.TabularInline):
    model = TicketTier
    extra = 0
    fields = ["name", "kind", "price", "currency", "quantity", "max_per_order", "sales_start", "sales_end"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "starts_at", "mode", "status", "visibility"]
    list_filter = ["status", "visibility", "mode", "starts_at"]
    search_fields = ["title", "slug", "id", "creator__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at", "updated_at", "published_at"]
    inlines = [TierInline]


@admin.register(TicketTier)
class TicketTierAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "kind", "price", "currency", "quantity"]
    list_filter = ["kind", "currency"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]
