"""Getting goods to buyers: a shipping batch per settled group-buy, shipments, pickup windows and pickups,
and what fulfilment cost (rules in fulfilment/services.py). The tables kept the names they had in commerce."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator


class ShippingBatch(models.Model):
    """Everything to ship for one settled group-buy (or a manual batch)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Packing")
        SHIPPED = "shipped", _("Shipped")

    id = PublicIdField("shp")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="shipping_batches")
    group_buy = models.OneToOneField("groupbuys.GroupBuy", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="shipping_batch")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)


    class Meta:
        db_table = "commerce_shippingbatch"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Shipping batch {self.id}"


class Shipment(models.Model):
    """One order's parcel: address, tracking, and what it cost to send."""

    id = PublicIdField("sh")
    order = models.OneToOneField("commerce.Order", on_delete=models.PROTECT, related_name="shipment")
    batch = models.ForeignKey(ShippingBatch, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="shipments")
    address = models.TextField(blank=True, max_length=1000)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)


    class Meta:
        db_table = "commerce_shipment"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Shipment of {self.order_id}"


class PickupWindow(models.Model):
    """A time and place where buyers collect their orders (shown with a pickup QR)."""

    id = PublicIdField("pkw")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="pickup_windows")
    event_id = models.CharField(max_length=40, blank=True)
    place = models.CharField(max_length=160)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        db_table = "commerce_pickupwindow"  # the table kept its name when the model left commerce
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="pickup_ends_after_start")]

    def __str__(self):
        return f"Pickup at {self.place}"


class Pickup(models.Model):
    """An order to be collected in a window; the pickup QR is signed, and collecting happens once."""

    order = models.OneToOneField("commerce.Order", on_delete=models.PROTECT, related_name="pickup")
    window = models.ForeignKey(PickupWindow, on_delete=models.PROTECT, related_name="pickups")
    picked_up_at = models.DateTimeField(null=True, blank=True)
    picked_up_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")


    class Meta:
        db_table = "commerce_pickup"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Pickup of {self.order_id}"


class FulfilmentCost(models.Model):
    """What fulfilling an order cost the creator (postage, packaging, handling) — for analytics."""

    class Kind(models.TextChoices):
        POSTAGE = "postage", _("Postage")
        PACKAGING = "packaging", _("Packaging")
        HANDLING = "handling", _("Handling")

    order = models.ForeignKey("commerce.Order", on_delete=models.CASCADE, related_name="fulfilment_costs")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_fulfilmentcost"  # the table kept its name when the model left commerce
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="fulfilment_cost_not_negative")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency} for {self.order_id}"
