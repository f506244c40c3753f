"""Staff views of shipping batches, shipments, pickups and fulfilment costs (fulfilment/services.py writes them)."""
from django.contrib import admin

from commerce.admin import ReadOnlyMixin

from .models import FulfilmentCost, Pickup, PickupWindow, Shipment, ShippingBatch


class ShipmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Shipment
    fields = ["order", "address", "carrier", "tracking_number", "shipped_at"]
    readonly_fields = fields
    extra = 0


@admin.register(ShippingBatch)
class ShippingBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "creator", "group_buy", "status", "created_at", "shipped_at"]
    list_filter = ["status"]
    search_fields = ["id", "creator__name", "group_buy__title", "group_buy__id"]
    list_select_related = ["creator", "group_buy"]
    inlines = [ShipmentInline]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "order", "batch", "carrier", "tracking_number", "shipped_at"]
    list_filter = [("shipped_at", admin.EmptyFieldListFilter), "carrier"]
    search_fields = ["id", "order__id", "order__email", "tracking_number"]
    list_select_related = ["order", "batch"]


class PickupInline(ReadOnlyMixin, admin.TabularInline):
    model = Pickup
    fields = ["order", "picked_up_at", "picked_up_by"]
    readonly_fields = fields
    extra = 0


@admin.register(PickupWindow)
class PickupWindowAdmin(admin.ModelAdmin):
    list_display = ["place", "creator", "starts_at", "ends_at", "event_id"]
    search_fields = ["place", "creator__name", "event_id"]
    list_select_related = ["creator"]
    readonly_fields = ["id"]
    inlines = [PickupInline]


@admin.register(Pickup)
class PickupAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["order", "window", "picked_up_at", "picked_up_by"]
    list_filter = [("picked_up_at", admin.EmptyFieldListFilter)]
    search_fields = ["order__id", "order__email", "window__place"]
    list_select_related = ["order", "window", "picked_up_by"]


@admin.register(FulfilmentCost)
class FulfilmentCostAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["order", "kind", "amount", "currency", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["order__id", "order__email"]
    list_select_related = ["order"]
