"""Stock across places: central stock and pop-ups, the append-only movement ledger, manual overrides and
the pop-up till's sales (rules in stock/services.py). The tables kept the names they had in commerce."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from microstage.ids import PublicIdField
from microstage.models import Creator


class StockLocation(models.Model):
    """Where units physically are: the central stock, or a pop-up (a merch table at a show)."""

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central stock")
        POPUP = "popup", _("Pop-up")

    id = PublicIdField("loc")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="stock_locations")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.POPUP)
    event_id = models.CharField(max_length=40, blank=True, help_text=_("The show a pop-up belongs to (evt_…)."))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_stocklocation"  # the table kept its name when the model left commerce
        ordering = ["creator", "kind", "name"]

    def __str__(self):
        return self.name


class StockMovement(models.Model):
    """Append-only ledger of units in or out of a location; a location's stock is the sum of its rows.

    `key` makes every movement happen once (a POS sale synced twice moves stock once).
    """

    class Reason(models.TextChoices):
        RECEIVED = "received", _("Received")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        POS_SALE = "pos_sale", _("Pop-up sale")
        ONLINE_SALE = "online_sale", _("Online sale")
        RETURN = "return", _("Return")
        CORRECTION = "correction", _("Correction")

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="movements")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.PROTECT, related_name="movements")
    quantity = models.IntegerField(help_text=_("Positive in, negative out."))
    reason = models.CharField(max_length=16, choices=Reason.choices)
    key = models.CharField(max_length=120, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_stockmovement"  # the table kept its name when the model left commerce
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "variant"], name="movement_location_variant_idx")]

    def __str__(self):
        return f"{self.quantity:+d} {self.variant} @ {self.location}"


class StockOverride(models.Model):
    """A manual count for a location that wins until it expires, then the ledger's value is back."""

    location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="overrides")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_stockoverride"  # the table kept its name when the model left commerce
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.variant} @ {self.location} = {self.quantity} until {self.expires_at:%H:%M}"


class PosSale(models.Model):
    """A sale rung up at a pop-up, possibly offline; `client_id` (made on the device) dedupes syncs."""

    class Payment(models.TextChoices):
        CASH = "cash", _("Cash")
        QR = "qr", _("Paid by the buyer's phone (QR)")

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Waiting for the buyer to pay")
        COMPLETED = "completed", _("Completed")
        CONFLICT = "conflict", _("Sold more than the pop-up held")
        BACK_ORDERED = "back_ordered", _("Back-ordered")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")

    id = PublicIdField("pos")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="pos_sales")
    client_id = models.CharField(max_length=64, unique=True)
    items = models.JSONField(help_text='[{"variant": "var_…", "quantity": n, "unit_price": "12.00"}]')
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=8, choices=Payment.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED, db_index=True)
    order = models.OneToOneField("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="pos_sale")
    sold_at = models.DateTimeField(help_text=_("When the device rang it up (maybe offline)."))
    synced_at = models.DateTimeField(auto_now_add=True)
    device = models.CharField(max_length=80, blank=True)
    sold_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    resolution = models.CharField(max_length=200, blank=True, help_text=_("How a conflict was resolved."))

    class Meta:
        db_table = "commerce_possale"  # the table kept its name when the model left commerce
        ordering = ["-sold_at"]

    def __str__(self):
        return f"{self.total} {self.currency} at {self.location} ({self.get_status_display()})"
