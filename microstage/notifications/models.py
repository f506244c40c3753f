"""Notification preferences and the record of every message sent.

The models belong to the `microstage` app (imported from microstage/models.py) so the platform keeps one
app and one migration history.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField


class NotificationPreference(models.Model):
    """How a person wants to be told: email and/or SMS, and the phone number confirmed by a code."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_pref")
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=False)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +4915112345678.")
    phone_confirmed_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=128, blank=True, editable=False)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Notification preferences of {self.user}"

    @property
    def phone_confirmed(self) -> bool:
        return bool(self.phone and self.phone_confirmed_at)

    @property
    def sms_usable(self) -> bool:
        return self.sms and self.phone_confirmed


class Notification(models.Model):
    """One message on one channel to one person. Unique per (recipient, kind, key, channel): the same
    message is never sent twice, whoever asks for it again."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        RATE_LIMITED = "rate_limited", _("Not sent: rate limited")

    id = PublicIdField("ntf")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="notifications")
    recipient = models.CharField(max_length=254, help_text=_("Email address (lower case) that identifies the person."))
    address = models.CharField(max_length=254, help_text=_("Where it went: the email address or the phone number."))
    kind = models.CharField(max_length=40, db_index=True)
    event_id = models.CharField(max_length=32, blank=True, db_index=True,
                                help_text=_("The event it is about (rate limits count per person and event)."))
    key = models.CharField(max_length=120, help_text=_("What makes it one message (deduplication)."))
    channel = models.CharField(max_length=8, choices=Channel.choices)
    fallback = models.BooleanField(default=False, help_text=_("Sent by SMS because the email could not be sent."))
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    fallback_text = models.CharField(max_length=320, blank=True,
                                     help_text=_("What goes by SMS if this email cannot be sent (confirmed phones)."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    provider_id = models.CharField(max_length=80, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["recipient", "kind", "key", "channel"],
                                               name="notification_once_per_channel")]
        indexes = [models.Index(fields=["recipient", "event_id", "created_at"], name="notification_rate_idx")]

    def __str__(self):
        return f"{self.kind} → {self.address} ({self.channel}, {self.status})"
