"""Admin for products and their variants."""
from django.contrib import admin

from .models import Product, ProductVariant


class VariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ["name", "sku", "price", "stock", "position"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "kind", "price", "currency", "is_active", "made_to_order", "created_at"]
    list_filter = ["kind", "is_active", "made_to_order", "currency"]
    search_fields = ["name", "id", "creator__name"]
    list_select_related = ["creator"]
    readonly_fields = ["id", "created_at"]
    inlines = [VariantInline]
