"""The stock tables: inventory pools and the holds on them.

Only commerce reads or writes these, through commerce/inventory.py (key builders, reserve, resize,
sold, release, availability); an import-linter contract forbids every other app this module.
"""
from django.db import models
from django.db.models import F, Q


class Inventory(models.Model):
    """A pool of sellable units (a tier's quantity, a venue's capacity, a drop's stock).

    `key` names the pool ("tier:tier_x", "venue:evt_y"); the selling app owns `total`. Units are
    taken by active, unexpired holds, by `sold` and by `moved` (units of the pool taken elsewhere: a
    variant's units moved to a pop-up); everything else is available. A line may draw
    on several pools at once (a ticket takes one from its tier and one from the venue).
    """

    key = models.CharField(max_length=80, unique=True)
    total = models.PositiveIntegerField()
    sold = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0, help_text="Units taken out of this pool to be sold elsewhere "
                                                             "(a variant's units moved to a pop-up).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inventory"
        constraints = [models.CheckConstraint(condition=Q(sold__lte=F("total")), name="inventory_sold_within_total")]

    def __str__(self):
        return f"{self.key}: {self.sold}/{self.total} sold"



class Hold(models.Model):
    """Units of one pool held for one order line until `expires_at` (or until paid/released).

    Availability only counts holds that are active *and* unexpired, so an abandoned order frees its
    stock by the clock alone — no sweeper has to run for the count to be right.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONVERTED = "converted", "Converted to a sale"
        RELEASED = "released", "Released"

    order = models.ForeignKey("commerce.Order", on_delete=models.CASCADE, related_name="holds")
    line = models.ForeignKey("commerce.OrderLine", on_delete=models.CASCADE, related_name="holds")
    inventory = models.ForeignKey(Inventory, on_delete=models.CASCADE, related_name="holds")
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        indexes = [models.Index(fields=["inventory", "status", "expires_at"], name="hold_active_idx")]

    def __str__(self):
        return f"{self.quantity} of {self.inventory.key} for {self.order_id}"
