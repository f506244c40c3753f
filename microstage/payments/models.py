"""Provider-neutral payment records and the ledger of confirmations already handled.

The models belong to the `microstage` app (imported from microstage/models.py) so the platform keeps one
app and one migration history.
"""
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField


class Payment(models.Model):
    """Money asked of one payer for one purpose, whatever provider carries it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        AUTHORIZED = "authorized", _("Authorised")
        CAPTURED = "captured", _("Captured")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Capture(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic")
        MANUAL = "manual", _("Manual (authorise, capture later)")

    id = PublicIdField("pay")
    provider = models.CharField(max_length=16)
    provider_reference = models.CharField(max_length=255, blank=True, help_text=_("Payment intent / authorisation id."))
    checkout_session = models.CharField(max_length=255, blank=True)
    subscription = models.CharField(max_length=255, blank=True)
    invoice = models.CharField(max_length=255, blank=True)
    customer = models.CharField(max_length=255, blank=True, help_text=_("Provider customer id, if any."))

    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    captured_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    capture_method = models.CharField(max_length=16, choices=Capture.choices, default=Capture.AUTOMATIC)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)

    purpose = models.CharField(max_length=64, help_text=_('Which app acts on it, e.g. "commerce.order".'))
    reference = models.CharField(max_length=128, help_text=_("The caller's own id (order, participant, plan…)."))
    description = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    success_url = models.URLField(max_length=1000, blank=True)
    cancel_url = models.URLField(max_length=1000, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "microstage"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["purpose", "reference"], name="payment_purpose_ref_idx"),
            models.Index(fields=["provider", "subscription"], name="payment_subscription_idx"),
        ]
        constraints = [
            # One record per provider object, so a replayed confirmation can never create a second one.
            models.UniqueConstraint(fields=["provider", "provider_reference"], condition=~Q(provider_reference=""),
                                    name="payment_unique_provider_reference"),
            models.UniqueConstraint(fields=["provider", "checkout_session"], condition=~Q(checkout_session=""),
                                    name="payment_unique_checkout_session"),
            models.UniqueConstraint(fields=["provider", "invoice"], condition=~Q(invoice=""),
                                    name="payment_unique_invoice"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__lte=models.F("captured_amount")),
                                   name="payment_refund_within_captured"),
        ]

    def __str__(self):
        return f"{self.id} {self.amount} {self.currency} {self.status} ({self.purpose}:{self.reference})"

    @property
    def refundable_amount(self) -> Decimal:
        return self.captured_amount - self.refunded_amount


class ProcessedEvent(models.Model):
    """A confirmation already handled. The unique (provider, event_id) pair makes handling exactly-once."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "microstage"
        ordering = ["-processed_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="processed_event_unique")]

    def __str__(self):
        return f"{self.provider}:{self.event_id} ({self.kind})"
