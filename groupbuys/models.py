"""Group-buys, their price tiers and participants (rules in groupbuys/services.py). The tables kept the
names they had in commerce."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator


class GroupBuy(models.Model):
    """A price that drops as more people commit before a deadline; settled once, at the deadline."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("status", "Open")
        SUCCEEDED = "succeeded", _("Succeeded (settling)")
        FAILED = "failed", _("Failed (releasing)")
        SETTLED = "settled", _("Settled")

    id = PublicIdField("gb")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="group_buys")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="group_buys")
    variant = models.ForeignKey("catalog.ProductVariant", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    event_id = models.CharField(max_length=40, blank=True, help_text=_("The show it runs during, if any (evt_…)."))
    title = models.CharField(max_length=120, blank=True)
    deadline = models.DateTimeField(db_index=True)
    max_quantity = models.PositiveIntegerField(null=True, blank=True, help_text=_("Cap on committed units."))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    committed_quantity = models.PositiveIntegerField(default=0)
    final_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    settle_started_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_groupbuy"  # the table kept its name when the model left commerce
        ordering = ["deadline"]
        constraints = [models.CheckConstraint(
            condition=Q(max_quantity__isnull=True) | Q(committed_quantity__lte=F("max_quantity")),
            name="groupbuy_within_cap")]

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Deal reached")
        NOT_REACHED = "not_reached", _("Deal not reached")

    def __str__(self):
        return self.title or f"Group-buy of {self.product}"

    @property
    def outcome(self) -> str | None:
        """What the deadline decided: None while open; "reached" or "not_reached" from the decision on,
        kept after settlement (a settled group-buy's status alone no longer tells which it was)."""
        if self.status == self.Status.OPEN:
            return None
        return self.Outcome.REACHED if self.final_price is not None else self.Outcome.NOT_REACHED

    @property
    def status_summary(self) -> str:
        """The status in people's words, with the outcome (static/js/groupbuy.js says the same)."""
        outcome = self.outcome
        if outcome is None:
            return pgettext("status", "Open")
        reached = outcome == self.Outcome.REACHED
        if self.status == self.Status.SETTLED:
            step = pgettext("group-buy step", "settled") if reached else gettext("nothing charged")
        else:
            step = gettext("charging…") if reached else gettext("releasing holds…")
        return f"{self.Outcome(outcome).label} · {step}"


class GroupBuyPriceTier(models.Model):
    """From `min_quantity` committed units on, everyone pays `price`."""

    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="price_tiers")
    min_quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        db_table = "commerce_groupbuypricetier"  # the table kept its name when the model left commerce
        ordering = ["group_buy", "min_quantity"]
        constraints = [models.UniqueConstraint(fields=["group_buy", "min_quantity"], name="one_price_per_threshold"),
                       models.CheckConstraint(condition=Q(price__gte=0), name="groupbuy_tier_price_not_negative")]

    def __str__(self):
        return f"≥{self.min_quantity}: {self.price}"


class GroupBuyParticipant(models.Model):
    """One person's commitment: money authorised (or a saved card) now, charged once at settlement."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting authorisation")
        AUTHORIZED = "authorized", _("Authorised")
        CAPTURED = "captured", _("Charged")
        RELEASED = "released", _("Released")
        DECLINED = "declined", _("Declined at settlement")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")

    id = PublicIdField("gbp")
    group_buy = models.ForeignKey(GroupBuy, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_buys")
    quantity = models.PositiveIntegerField()
    order = models.OneToOneField("commerce.Order", on_delete=models.PROTECT, related_name="group_buy_share")
    payment = models.ForeignKey("microstage.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    customer = models.CharField(max_length=255, blank=True, help_text=_("Provider customer (saved-card path)."))
    payment_method = models.CharField(max_length=255, blank=True, help_text=_("Saved payment method, if any."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    charged_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True, help_text=_("What settlement did, in words."))
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "commerce_groupbuyparticipant"  # the table kept its name when the model left commerce
        ordering = ["group_buy", "created_at"]

    def __str__(self):
        return f"{self.user} × {self.quantity} in {self.group_buy}"
