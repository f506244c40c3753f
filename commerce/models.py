"""Inventory pools, holds, orders and their lines. The rules that change them live in services.py."""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from microstage.ids import PublicIdField
from microstage.models import Creator


class Inventory(models.Model):
    """A pool of sellable units (a tier's quantity, a venue's capacity, a drop's stock).

    `key` names the pool ("tier:tier_x", "venue:evt_y"); the selling app owns `total`. Units are
    taken by active, unexpired holds and by `sold`; everything else is available. A line may draw
    on several pools at once (a ticket takes one from its tier and one from the venue).
    """

    key = models.CharField(max_length=80, unique=True)
    total = models.PositiveIntegerField()
    sold = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inventory"
        constraints = [models.CheckConstraint(condition=Q(sold__lte=F("total")), name="inventory_sold_within_total")]

    def __str__(self):
        return f"{self.key}: {self.sold}/{self.total} sold"


class Order(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

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
    expires_at = models.DateTimeField()
    payment = models.ForeignKey("microstage.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    note = models.CharField(max_length=255, blank=True, help_text="Why the order ended as it did, if unusual.")
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
    kind = models.CharField(max_length=32, help_text="Sellable kind registered by the app that sells it.")
    item_id = models.CharField(max_length=40)
    description = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    list_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()
    refunded_quantity = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    options = models.JSONField(default=dict, blank=True, help_text="How the line is paid beyond money (pass, code).")
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


class Hold(models.Model):
    """Units of one pool held for one order line until `expires_at` (or until paid/released).

    Availability only counts holds that are active *and* unexpired, so an abandoned order frees its
    stock by the clock alone — no sweeper has to run for the count to be right.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONVERTED = "converted", "Converted to a sale"
        RELEASED = "released", "Released"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="holds")
    inventory = models.ForeignKey(Inventory, on_delete=models.CASCADE, related_name="holds")
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        indexes = [models.Index(fields=["inventory", "status", "expires_at"], name="hold_active_idx")]

    def __str__(self):
        return f"{self.quantity} of {self.inventory.key} for {self.order_id}"
