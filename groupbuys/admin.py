"""Staff views of group-buys, their price tiers and participants (groupbuys/services.py changes them)."""
from django.contrib import admin

from commerce.admin import ReadOnlyMixin

from .models import GroupBuy, GroupBuyParticipant, GroupBuyPriceTier


class PriceTierInline(admin.TabularInline):
    model = GroupBuyPriceTier
    extra = 0


class ParticipantInline(ReadOnlyMixin, admin.TabularInline):
    model = GroupBuyParticipant
    fields = ["user", "quantity", "status", "charged_amount", "outcome", "attempts", "settled_at"]
    readonly_fields = fields


@admin.register(GroupBuy)
class GroupBuyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "creator", "status", "committed_quantity", "max_quantity", "final_price", "deadline"]
    list_filter = ["status", "deadline"]
    search_fields = ["title", "id", "product__name", "creator__name"]
    list_select_related = ["creator", "product"]
    readonly_fields = ["id", "status", "committed_quantity", "final_price", "settle_started_at", "settled_at",
                       "created_at"]
    inlines = [PriceTierInline, ParticipantInline]


@admin.register(GroupBuyParticipant)
class GroupBuyParticipantAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "group_buy", "user", "quantity", "status", "charged_amount", "settled_at"]
    list_filter = ["status"]
    search_fields = ["id", "user__email", "group_buy__title"]
    list_select_related = ["group_buy", "user"]
