"""Orders and their lines, and store credit.

The stock tables (inventory pools and holds) live in commerce/models/inventory.py: only commerce
touches them, through commerce/inventory.py (an import-linter contract keeps other apps out).
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import pgettext_lazy
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator

from . import inventory as _stock_tables  # noqa: F401  (registers Inventory and Hold; not re-exported)


class Order(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
        EXPIRED = "expired", _("Expired")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    OPEN = (Status.RESERVED, Status.AWAITING_PAYMENT)
    SETTLED = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED)

    id = PublicIdField("ord")
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="orders")
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RESERVED, db_index=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    refunded_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    credit_used = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"),
                                      help_text=_("Store credit with the creator spent on this order."))
    expires_at = models.DateTimeField()
    payment = models.ForeignKey("microstage.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    note = models.CharField(max_length=255, blank=True, help_text=_("Why the order ended as it did, if unusual."))
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["creator", "status", "-created_at"], name="order_creator_status_idx"),
                   models.Index(fields=["buyer", "-created_at"], name="order_buyer_idx")]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative")]

    def __str__(self):
        return f"{self.id} ({self.get_status_display()}, {self.total} {self.currency})"

    def get_absolute_url(self):
        return f"/orders/{self.id}/"


class OrderLine(models.Model):
    """One kind of thing bought, in some quantity, at a fixed unit price."""

    id = PublicIdField("lin")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=32, help_text=_("Sellable kind registered by the app that sells it."))
    item_id = models.CharField(max_length=40)
    description = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    list_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()
    refunded_quantity = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    options = models.JSONField(default=dict, blank=True, help_text=_("How the line is paid beyond money (pass, code)."))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "position"]
        indexes = [models.Index(fields=["kind", "item_id"], name="orderline_item_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
                       models.CheckConstraint(condition=Q(refunded_quantity__lte=F("quantity")),
                                              name="orderline_refund_within_quantity")]

    def __str__(self):
        return f"{self.quantity} × {self.description}"

    @property
    def active_quantity(self) -> int:
        return self.quantity - self.refunded_quantity


# --- store credit --------------------------------------------------------------------------------

class CreditEntry(models.Model):
    """Append-only store credit a buyer holds with one creator (rules in commerce/credit.py).

    The balance is the sum of `amount` per (user, creator, currency); `key` makes every entry
    happen once. A guest's credit waits under their email (user empty) until they have an account.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", _("Granted by a purchase")
        REVOKE = "revoke", _("Taken back by a refund")
        SPEND = "spend", _("Spent on an order")
        RETURN = "return", _("Given back (order not paid or refunded)")

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="credit_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="credit_entries")
    email = models.EmailField(max_length=254)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text=_("Positive adds, negative takes."))
    currency = models.CharField(max_length=3)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_entries")
    line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=120, unique=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("credit entries")
        indexes = [models.Index(fields=["user", "creator", "currency"], name="credit_balance_idx"),
                   models.Index(fields=["email", "user"], name="credit_guest_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"
