"""Staff admin for plans, memberships, passes, loyalty (ledger read-only and append-only), referrals and rewards."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from microstage.errors import ServiceError

from . import services
from .models import PromoCode, PromoCodeUse
from .models import (LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass, PassProduct, PassRedemption,
                     Referral, Reward, RewardRedemption)
from microstage.permissions import SYSTEM


class ReadOnlyMixin:
    """Records written only by services (payments, the ledger): staff look, never add, edit or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MembershipPlan)
class MembershipPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "price", "currency", "interval", "early_access_hours", "discount_percent",
                    "members_only_events", "clip_access", "is_active"]
    list_filter = ["is_active", "interval", "currency", "members_only_events", "clip_access"]
    search_fields = ["name", "id", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "creator", "plan", "status", "current_period_end", "cancel_at_period_end",
                    "started_at", "ended_at"]
    list_filter = ["status", "creator", "provider", "cancel_at_period_end", "plan__interval"]
    search_fields = ["id", "user__email", "user__display_name", "subscription", "creator__name", "plan__name"]
    list_select_related = ["user", "creator", "plan"]
    date_hierarchy = "created_at"
    # The state follows the payment provider (webhooks and services): staff read it here.
    readonly_fields = ["id", "plan", "creator", "user", "status", "provider", "subscription", "current_period_end",
                       "cancel_at_period_end", "started_at", "ended_at", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False  # memberships start by subscribing


class PassRedemptionInline(ReadOnlyMixin, admin.TabularInline):
    model = PassRedemption
    extra = 0
    fields = ["order_line_id", "created_at", "returned_at"]
    readonly_fields = fields


@admin.register(Pass)
class PassAdmin(admin.ModelAdmin):
    list_display = ["id", "product", "user", "creator", "credits_left", "credits_total", "expires_at"]
    list_filter = ["creator", "expires_at"]
    search_fields = ["id", "user__email", "product__name", "creator__name", "order_line_id"]
    list_select_related = ["product", "user", "creator"]
    readonly_fields = ["id", "creator", "user", "product", "credits_total", "credits_left", "order_line_id",
                       "created_at"]
    fields = ["id", "creator", "user", "product", "credits_total", "credits_left", "expires_at", "order_line_id",
              "created_at"]
    inlines = [PassRedemptionInline]

    def has_add_permission(self, request):
        return False  # passes are issued by paying an order


@admin.register(PassProduct)
class PassProductAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "credits", "price", "currency", "valid_days", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "id", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at"]


class LoyaltyEntryInline(ReadOnlyMixin, admin.TabularInline):
    model = LoyaltyEntry
    extra = 0
    fields = ["created_at", "points", "reason", "note", "key"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    max_num = 0


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "creator", "balance", "referral_code"]
    list_filter = ["creator"]
    search_fields = ["user__email", "user__display_name", "creator__name", "referral_code"]
    list_select_related = ["user", "creator"]
    # The balance is the sum of the ledger: it changes only through entries written by services.
    readonly_fields = ["user", "creator", "balance", "referral_code"]
    inlines = [LoyaltyEntryInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Append-only ledger: no edits, no deletes (corrections are new adjustment entries)."""

    list_display = ["created_at", "account", "points", "reason", "note", "key"]
    list_filter = ["reason", "account__creator", "created_at"]
    search_fields = ["key", "note", "account__user__email", "account__creator__name"]
    list_select_related = ["account__user", "account__creator"]
    date_hierarchy = "created_at"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["referrer", "referred", "creator", "status", "created_at", "rewarded_at"]
    list_filter = ["status", "creator", ("rewarded_at", admin.EmptyFieldListFilter)]
    search_fields = ["referrer__email", "referred__email", "creator__name", "order_id"]
    list_select_related = ["referrer", "referred", "creator"]
    readonly_fields = ["creator", "referrer", "referred", "status", "order_id", "created_at", "rewarded_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "kind", "cost_points", "stock", "discount_percent", "is_active"]
    list_filter = ["kind", "is_active", "creator"]
    search_fields = ["name", "id", "creator__name", "creator__slug"]
    list_select_related = ["creator"]
    autocomplete_fields = ["creator"]
    readonly_fields = ["id", "created_at"]


@admin.register(RewardRedemption)
class RewardRedemptionAdmin(admin.ModelAdmin):
    list_display = ["code", "reward", "account", "status", "created_at", "used_at"]
    list_filter = ["status", "reward__kind", "reward__creator"]
    search_fields = ["code", "id", "account__user__email", "reward__name"]
    list_select_related = ["reward", "account__user", "account__creator"]
    readonly_fields = ["id", "reward", "account", "code", "status", "created_at", "used_at"]
    actions = ["mark_used"]

    def has_add_permission(self, request):
        return False  # codes are issued by redeeming points

    @admin.action(description=_("Mark selected codes as used"))
    def mark_used(self, request, queryset):
        done = 0
        for redemption in queryset.select_related("reward__creator").filter(status=RewardRedemption.Status.ISSUED):
            try:
                services.mark_redemption_used(creator=redemption.reward.creator, redemption_id=redemption.pk,
                                              actor=SYSTEM)
                done += 1
            except ServiceError:
                pass  # used meanwhile
        self.message_user(request, ngettext("%(count)d code marked as used.", "%(count)d codes marked as used.",
                                            done) % {"count": done})


class PromoCodeUseInline(admin.TabularInline):
    model = PromoCodeUse
    extra = 0
    readonly_fields = ("order_id", "created_at")
    can_delete = False


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "creator", "kind", "partner", "percent_off", "amount_off", "currency", "max_uses",
                    "valid_from", "valid_until", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "partner", "creator__name")
    list_select_related = ("creator",)
    raw_id_fields = ("creator",)
    inlines = [PromoCodeUseInline]
    actions = ["switch_off"]

    @admin.action(description=_("Switch the selected codes off"))
    def switch_off(self, request, queryset):
        n = queryset.update(is_active=False)
        self.message_user(request, ngettext("%(count)d code switched off.", "%(count)d codes switched off.",
                                            n) % {"count": n})
