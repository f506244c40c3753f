"""Checkout attempts (keyed hashes only) and the staff reviews of risky paid orders (rules in risk/services.py).

Both moved here from commerce with their tables: `db_table` keeps the names they had there.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckoutAttempt(models.Model):
    """One checkout try, for velocity checks. IPs and card fingerprints are stored only as keyed hashes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField(max_length=254, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    card_fingerprint_hash = models.CharField(max_length=64, blank=True)
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "commerce_checkoutattempt"  # the table kept its name when the model left commerce
        indexes = [models.Index(fields=["email", "created_at"], name="attempt_email_idx"),
                   models.Index(fields=["ip_hash", "created_at"], name="attempt_ip_idx"),
                   models.Index(fields=["user", "created_at"], name="attempt_user_idx")]

    def __str__(self):
        return f"Checkout attempt by {self.email or self.user_id} ({'ok' if self.succeeded else 'failed'})"


class RiskReview(models.Model):
    """A risky order held for a staff decision before it is fulfilled or paid out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected (refunded)")

    order = models.OneToOneField("commerce.Order", on_delete=models.CASCADE, related_name="risk_review")
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commerce_riskreview"  # the table kept its name when the model left commerce

    def __str__(self):
        return f"Risk {self.score} on {self.order_id} ({self.status})"
