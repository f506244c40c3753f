"""First-party, privacy-preserving measurement: visitors, page views, client telemetry, experiments."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator


class Visitor(models.Model):
    """A browser, known only by a random first-party cookie id. No IP address or user agent is kept;
    the account is linked only when the visitor logs in or buys."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="visitors")
    first_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.id


class PageView(models.Model):
    """One view of a tracked page (event landing, watch, checkout, order, creator, group-buy)."""

    class Page(models.TextChoices):
        EVENT = "event", _("Event page")
        WATCH = "watch", _("Watch page")
        ORDER = "order", _("Order page")
        CREATOR = "creator", _("Creator page")
        SHOP = "shop", _("Shop")
        GROUP_BUY = "group_buy", _("Group-buy page")
        OTHER = "other", _("Other")

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="views")
    page = models.CharField(max_length=12, choices=Page.choices)
    event_id = models.CharField(max_length=40, blank=True, db_index=True)
    creator_id = models.CharField(max_length=40, blank=True, db_index=True)
    variant = models.CharField(max_length=40, blank=True, help_text=_("Experiment variant shown, if any."))
    # When the page was viewed (views are buffered and written in batches: analytics/pageview_buffer.py).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["event_id", "created_at"], name="pageview_event_time_idx"),
                   models.Index(fields=["event_id", "visitor"], name="pageview_event_visitor_idx"),
                   models.Index(fields=["creator_id", "created_at"], name="pageview_creator_time_idx")]

    def __str__(self):
        return f"{self.page} view of {self.event_id or self.creator_id}"


class PageViewBatch(models.Model):
    """A batch of buffered page views written to the database (its id is the Redis batch's): a batch
    whose Redis copy outlived the write is recognised and not written twice."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    views = models.PositiveIntegerField()
    written_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.views} views ({self.id})"


class TelemetrySample(models.Model):
    """A measurement a page reported: player startup and rebuffering, checkout latency and errors."""

    class Kind(models.TextChoices):
        PLAYER_STARTUP_MS = "player_startup_ms", _("Player startup (ms)")
        REBUFFER_MS = "rebuffer_ms", _("Rebuffering (ms)")
        CHECKOUT_LATENCY_MS = "checkout_latency_ms", _("Checkout latency (ms)")
        CHECKOUT_ERROR = "checkout_error", _("Checkout error")
        VIEWERS = "viewers", _("Viewers watching (sampled each minute while live)")

    event_id = models.CharField(max_length=40, db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    value = models.FloatField()
    detail = models.CharField(max_length=64, blank=True, help_text=_("An error code, never free text."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["event_id", "kind", "created_at"], name="telemetry_event_kind_idx")]

    def __str__(self):
        return f"{self.kind}={self.value} for {self.event_id}"


class Experiment(models.Model):
    """An A/B test of a group-buy offer or a drop price: visitors are assigned deterministically."""

    class Target(models.TextChoices):
        GROUP_BUY = "group_buy", _("Group-buy offer")
        DROP = "drop", _("Drop price")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        STOPPED = "stopped", _("Stopped")

    id = PublicIdField("exp")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=120)
    target = models.CharField(max_length=12, choices=Target.choices)
    target_id = models.CharField(max_length=40, help_text=_("The group-buy or drop tested."))
    variants = models.JSONField(help_text=_('[{"key": "a", "price": "15.00", "weight": 50}, …]'))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name
