"""Consent forms asked before the show, each ticket holder's answers, and "notify me" requests.

The models belong to the `events` app (imported from events/models.py).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField


class ConsentForm(models.Model):
    """The short yes/no form a creator asks every ticket holder before the show (recording release,
    photos, sharing their email…). `questions`: [{key, text, kind: "yes_no", required}]."""

    event = models.OneToOneField("events.Event", on_delete=models.CASCADE, related_name="consent_form")
    questions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Consent form of {self.event}"


class ConsentAnswers(models.Model):
    """One ticket holder's answers. A transfer deletes them: the new holder is asked again."""

    ticket = models.OneToOneField("events.Ticket", on_delete=models.CASCADE, related_name="consent")
    holder_email = models.EmailField(max_length=254, help_text=_("Whose answers these are."))
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("consent answers")

    def __str__(self):
        return f"Answers of {self.holder_email} for {self.ticket_id}"


class NotifyRequest(models.Model):
    """Someone asked to be told once when a drop opens or a tier's sales start."""

    id = PublicIdField("ntr")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_requests")
    drop = models.ForeignKey("events.Drop", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="notify_requests")
    tier = models.ForeignKey("events.TicketTier", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="notify_requests")
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(drop__isnull=True, tier__isnull=False)
                                   | Q(drop__isnull=False, tier__isnull=True), name="notify_request_one_item"),
            models.UniqueConstraint(fields=["user", "drop"], condition=Q(drop__isnull=False),
                                    name="notify_request_once_per_drop"),
            models.UniqueConstraint(fields=["user", "tier"], condition=Q(tier__isnull=False),
                                    name="notify_request_once_per_tier"),
        ]

    def __str__(self):
        return f"{self.user} → {self.drop_id or self.tier_id}"
