"""Staff views of stock at places and pop-up till sales: the ledger is append-only, stock/services.py
holds the rules."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from commerce.admin import ReadOnlyMixin

from .models import PosSale, StockLocation, StockMovement, StockOverride


class StockMovementInline(ReadOnlyMixin, admin.TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "variant", "quantity", "reason", "key", "note", "created_by"]
    ordering = ["-created_at", "-id"]
    show_change_link = False


class StockOverrideInline(ReadOnlyMixin, admin.TabularInline):
    model = StockOverride
    extra = 0
    can_delete = False
    fields = ["variant", "quantity", "expires_at", "created_by", "created_at"]


@admin.register(StockLocation)
class StockLocationAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "kind", "event_id", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "creator__name", "event_id"]
    list_select_related = ["creator"]
    readonly_fields = ["id", "creator", "created_at"]
    inlines = [StockOverrideInline, StockMovementInline]

    def has_add_permission(self, request):
        return False  # made by the creator's team in the dashboard (stock.services.create_location)

    def has_delete_permission(self, request, obj=None):
        return False  # its ledger must stay


class PosConflictFilter(admin.SimpleListFilter):
    title = _("needs resolving")
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return [("yes", _("Conflicts to resolve")), ("owed", _("Back-ordered (owed)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=PosSale.Status.CONFLICT)
        if self.value() == "owed":
            return queryset.filter(status=PosSale.Status.BACK_ORDERED)
        return queryset


@admin.register(PosSale)
class PosSaleAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "location", "status", "payment_method", "total", "currency", "sold_at", "synced_at",
                    "device"]
    list_filter = [PosConflictFilter, "status", "payment_method"]
    search_fields = ["id", "client_id", "location__name", "order__id", "device"]
    list_select_related = ["location"]
    date_hierarchy = "sold_at"
