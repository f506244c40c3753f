"""Staff views of orders, inventory pools and holds; money and stock change only through services."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.db.models import Q, Sum
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

from microstage.errors import ServiceError
from microstage.permissions import SYSTEM

from . import services
from .models import CreditEntry, Order, OrderLine
from .models.inventory import Hold, Inventory

REFUNDABLE = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


class ReadOnlyMixin:
    """Every field read-only, no adding or deleting: the row is a record, services change it."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + list(getattr(self, "extra_readonly", []))

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["id", "kind", "item_id", "description", "quantity", "refunded_quantity", "unit_price", "list_price",
              "total"]
    ordering = ["position"]


class HoldInline(ReadOnlyMixin, admin.TabularInline):
    model = Hold
    extra = 0
    can_delete = False
    fields = ["inventory", "line", "quantity", "status", "expires_at"]


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "creator", "email", "status", "total", "refunded_total", "currency",
                    "paid_at"]
    list_filter = ["status", "currency", "created_at", "paid_at"]
    search_fields = ["id", "email", "buyer__email", "creator__name", "creator__slug", "lines__item_id",
                     "lines__description", "payment__id"]
    list_select_related = ["creator"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [OrderLineInline, HoldInline]
    actions = ["refund_orders"]
    fieldsets = [
        (None, {"fields": ["id", "status", "creator", "buyer", "email", "note"]}),
        (_("Money"), {"fields": ["currency", "subtotal", "discount", "total", "refunded_total", "payment"]}),
        (_("Dates"), {"fields": ["created_at", "expires_at", "paid_at", "cancelled_at"]}),
    ]

    @admin.action(description=_("Refund selected paid orders in full"), permissions=["change"])
    def refund_orders(self, request, queryset):
        """Refund through commerce.services.refund after a confirmation page; reports each outcome."""
        orders = list(queryset.order_by("created_at"))
        if request.POST.get("confirm") != "yes":
            refundable = [o for o in orders if o.status in REFUNDABLE]
            return TemplateResponse(request, "admin/commerce/order/refund_confirmation.html", {
                **self.admin_site.each_context(request), "title": gettext("Refund orders?"), "opts": self.model._meta,
                "orders": orders, "refundable": refundable, "skipped": [o for o in orders if o not in refundable],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "action": "refund_orders",
                "media": self.media,
            })
        reason = (request.POST.get("reason") or "").strip()[:200] or gettext("Refunded by Microstage staff.")
        done, failed = [], []
        for order in orders:
            try:
                services.refund(order.pk, actor=SYSTEM, reason=reason)  # staff in the admin act as SYSTEM
            except ServiceError as exc:
                failed.append(f"{order.pk}: {exc.detail}")
            else:
                done.append(order.pk)
        if done:
            self.message_user(request, ngettext("Refunded %(count)d order: %(orders)s.",
                                                "Refunded %(count)d orders: %(orders)s.", len(done))
                              % {"count": len(done), "orders": ", ".join(done)}, messages.SUCCESS)
        if failed:
            self.message_user(request, gettext("%(count)d not refunded — %(problems)s")
                              % {"count": len(failed), "problems": "; ".join(failed)}, messages.ERROR)
        return None


class LiveHoldFilter(admin.SimpleListFilter):
    title = _("counts against stock now")
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes (active, not expired)")), ("no", _("No"))]

    def queryset(self, request, queryset):
        live = Q(status=Hold.Status.ACTIVE, expires_at__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


@admin.register(Hold)
class HoldAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "inventory", "order", "quantity", "status", "expires_at", "is_live"]
    list_filter = [LiveHoldFilter, "status", "expires_at"]
    search_fields = ["order__id", "order__email", "inventory__key", "line__id"]
    list_select_related = ["inventory", "order"]
    date_hierarchy = "expires_at"

    @admin.display(description=_("Counts now"), boolean=True)
    def is_live(self, obj):
        return obj.status == Hold.Status.ACTIVE and obj.expires_at > timezone.now()

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Inventory)
class InventoryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Pools are kept by the apps that sell (tier quantity, venue capacity); staff only look."""

    list_display = ["key", "total", "sold", "moved", "held_now", "available_now", "updated_at", "holds_link"]
    search_fields = ["key"]
    list_filter = ["updated_at"]
    ordering = ["key"]

    def get_queryset(self, request):
        live = Q(holds__status=Hold.Status.ACTIVE, holds__expires_at__gt=timezone.now())
        return super().get_queryset(request).annotate(_held=Sum("holds__quantity", filter=live))

    @admin.display(description=_("Held now"), ordering="_held")
    def held_now(self, obj):
        return obj._held or 0

    @admin.display(description=_("Available now"))
    def available_now(self, obj):
        return max(0, obj.total - obj.sold - obj.moved - (obj._held or 0))

    @admin.display(description=_("Holds"))
    def holds_link(self, obj):
        url = reverse("admin:commerce_hold_changelist") + f"?inventory__id__exact={obj.pk}"
        return format_html('<a href="{}">holds</a>', url)

    def has_change_permission(self, request, obj=None):
        return False


# --- store credit (commerce/credit.py writes it) -------------------------------------------------

@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Store credit (commerce/credit.py writes it): grants, spends, returns and revocations."""

    list_display = ["created_at", "creator", "user", "email", "kind", "amount", "currency", "order", "note"]
    list_filter = ["kind", "currency"]
    search_fields = ["key", "email", "user__email", "order__id", "creator__name"]
    list_select_related = ["creator", "user", "order"]
