"""The creator's money: tips, the append-only ledger (sales, fees, refunds, disputes, payouts), disputes,
payout profiles (Stripe Connect) and payouts with their lines (rules in payouts/money.py,
payouts/services.py and payouts/connect.py). The tables kept the names they had in commerce."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from microstage.ids import PublicIdField
from microstage.models import Creator


# --- tips ----------------------------------------------------------------------------------------

class Tip(models.Model):
    """Money a fan gives a creator during a show; paid through an order with one "tip" line."""

    id = PublicIdField("tip")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="tips")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="tips")
    event_id = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=200, blank=True)
    order = models.OneToOneField("commerce.Order", on_delete=models.PROTECT, related_name="tip")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_tip"  # the table kept its name when the model left commerce
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="tip_amount_positive")]

    def __str__(self):
        return f"{self.amount} {self.currency} tip to {self.creator}"


# --- the creator's money -------------------------------------------------------------------------

class LedgerEntry(models.Model):
    """Append-only record of a creator's money: sales, platform fees, refunds, disputes and payouts.

    The balance is the sum of `amount` per currency; `key` makes every entry happen once.
    """

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale (gross)")
        FEE = "fee", _("Platform fee")
        REFUND = "refund", _("Refund")
        DISPUTE_HOLD = "dispute_hold", _("Held for a dispute")
        DISPUTE_RELEASE = "dispute_release", _("Dispute resolved")
        DISPUTE_LOSS = "dispute_loss", _("Dispute lost")
        PAYOUT = "payout", _("Payout")

    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text=_("Positive credits, negative debits."))
    currency = models.CharField(max_length=3)
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="ledger_entries")
    key = models.CharField(max_length=120, unique=True)
    note = models.CharField(max_length=255, blank=True)
    available_at = models.DateTimeField(null=True, blank=True, help_text=_(
        "When a sale (and its fee and refunds) stops being pending: the show's end plus the settling period. "
        "Empty means at once."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "commerce_ledgerentry"  # the table kept its name when the model left commerce
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class Dispute(models.Model):
    """A payer's bank disputing a payment: the order is flagged and the amount held until resolved."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("status", "Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    id = PublicIdField("dsp")
    order = models.ForeignKey("commerce.Order", on_delete=models.PROTECT, related_name="disputes")
    provider_reference = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)


    class Meta:
        db_table = "commerce_dispute"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Dispute {self.provider_reference} on {self.order_id} ({self.status})"


# --- payouts -------------------------------------------------------------------------------------

class PayoutProfile(models.Model):
    """How a creator is paid: the schedule, and the state of their Stripe Connect (or sandbox) account."""

    class Schedule(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        AFTER_SHOW = "after_show", _("After each show")

    creator = models.OneToOneField(Creator, on_delete=models.CASCADE, related_name="payout_profile")
    schedule = models.CharField(max_length=12, choices=Schedule.choices, default=Schedule.WEEKLY)
    # Connect: the account id itself stays on Creator.stripe_account (what checkout reads).
    sandbox_connected = models.BooleanField(default=False, help_text=_("The sandbox's stand-in for a Connect account."))
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    requirements = models.JSONField(default=list, blank=True, help_text=_("What Stripe still needs (currently_due)."))
    disabled_reason = models.CharField(max_length=120, blank=True)
    account_updated_at = models.DateTimeField(null=True, blank=True)


    class Meta:
        db_table = "commerce_payoutprofile"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Payouts of {self.creator}"


class Payout(models.Model):
    """Money sent to a creator: the sum of the ledger entries it covers (its lines), minus nothing else."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        IN_TRANSIT = "in_transit", _("On its way")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    class Method(models.TextChoices):
        SANDBOX = "sandbox", _("Sandbox (test mode)")
        STRIPE = "stripe", _("Stripe Connect")

    id = PublicIdField("pyt")
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    method = models.CharField(max_length=8, choices=Method.choices)
    schedule = models.CharField(max_length=12, choices=PayoutProfile.Schedule.choices)
    key = models.CharField(max_length=120, unique=True, help_text=_("One payout per creator, currency and period."))
    destination = models.CharField(max_length=64, blank=True)
    transfer_reference = models.CharField(max_length=255, blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    expected_at = models.DateTimeField(null=True, blank=True, help_text=_("When it should land in the bank."))
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "commerce_payout"  # the table kept its name when the model left commerce
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self):
        return f"Payout {self.amount} {self.currency} to {self.creator} ({self.status})"


class PayoutLine(models.Model):
    """One ledger entry a payout covers; an entry is covered at most once."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="payout_line")

    class Meta:
        db_table = "commerce_payoutline"  # the table kept its name when the model left commerce
        ordering = ["payout", "entry__created_at", "entry_id"]

    def __str__(self):
        return f"{self.entry} in {self.payout_id}"
