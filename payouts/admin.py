"""Staff views of the creator's money: ledger, disputes, tips, payouts and payout profiles (records only)."""
from django.contrib import admin

from commerce.admin import ReadOnlyMixin

from .models import Dispute, LedgerEntry, Payout, PayoutLine, PayoutProfile, Tip


# --- the creator's money (records only: payouts/money.py writes them) ----------------------------

@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "creator", "kind", "amount", "currency", "order", "note"]
    list_filter = ["kind", "currency"]
    search_fields = ["key", "order__id", "creator__name", "note"]
    list_select_related = ["creator", "order"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "provider_reference", "order", "amount", "currency", "reason", "status", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["id", "provider_reference", "order__id", "order__email"]


@admin.register(Tip)
class TipAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "creator", "user", "amount", "currency", "event_id", "message"]
    search_fields = ["creator__name", "user__email", "message", "order__id"]



# --- payouts (records only: payouts/services.py and payouts/connect.py write them) -----------------

class PayoutLineInline(admin.TabularInline):
    model = PayoutLine
    extra = 0
    can_delete = False
    fields = ["entry"]
    readonly_fields = ["entry"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payout)
class PayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "creator", "amount", "currency", "status", "method", "schedule", "created_at",
                    "expected_at", "paid_at"]
    list_filter = ["status", "method", "schedule", "currency"]
    search_fields = ["id", "creator__name", "provider_reference", "transfer_reference"]
    list_select_related = ["creator"]
    inlines = [PayoutLineInline]


@admin.register(PayoutProfile)
class PayoutProfileAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["creator", "schedule", "charges_enabled", "payouts_enabled", "details_submitted",
                    "sandbox_connected", "account_updated_at"]
    list_filter = ["schedule", "charges_enabled", "payouts_enabled"]
    search_fields = ["creator__name", "creator__stripe_account"]
