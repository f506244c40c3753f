"""Events and their ticket tiers."""
import zoneinfo
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from microstage.ids import PublicIdField
from microstage.models import Creator


class LocalDateTime(datetime):
    """A datetime already in the event's timezone: templates must not convert it to the server's."""

    convert_to_local_time = False


def in_zone(value: datetime, tz: zoneinfo.ZoneInfo) -> LocalDateTime:
    local = timezone.localtime(value, tz)
    return LocalDateTime(local.year, local.month, local.day, local.hour, local.minute, local.second,
                         local.microsecond, tzinfo=local.tzinfo, fold=local.fold)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown timezone: {value}")


class Event(models.Model):
    """A micro-event: a room, a live stream, or both."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"
        HYBRID = "hybrid", "Hybrid"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    id = PublicIdField("evt")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(max_length=140)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, max_length=20000, help_text="Markdown")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.HYBRID)
    venue_name = models.CharField(max_length=120, blank=True)
    venue_address = models.CharField(max_length=255, blank=True)
    venue_lat = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    venue_lng = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    venue_capacity = models.PositiveIntegerField(null=True, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    members_only = models.BooleanField(default=False, help_text="Only the creator's members (whose plan includes "
                                       "members-only events) and team see and buy it.")
    cover = models.ImageField(upload_to="events/covers/", blank=True)
    preview_image = models.ImageField(upload_to="events/previews/", blank=True, editable=False,
                                      help_text="1200×630 social preview, drawn at publish and on change.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    checkin_bundle_issued_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When a door device first took the offline bundle: no offline scan can be older.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["status", "visibility", "starts_at"], name="event_discovery_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="event_ends_after_start")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"/e/{self.slug}/"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def local_starts_at(self) -> LocalDateTime:
        return in_zone(self.starts_at, self.tz)

    @property
    def local_ends_at(self) -> LocalDateTime:
        return in_zone(self.ends_at, self.tz)

    @property
    def is_online(self) -> bool:
        return self.mode in (self.Mode.ONLINE, self.Mode.HYBRID)


class TicketTier(models.Model):
    """A kind of ticket for an event: standard, backstage, VIP…, with its own price and quantity."""

    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard"
        BACKSTAGE = "backstage", "Backstage"
        VIP = "vip", "VIP"
        ONLINE = "online", "Stream only"

    id = PublicIdField("tier")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STANDARD)
    description = models.CharField(max_length=280, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3)
    quantity = models.PositiveIntegerField()
    max_per_order = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    sales_start = models.DateTimeField(null=True, blank=True)
    sales_end = models.DateTimeField(null=True, blank=True)
    members_only_until = models.DateTimeField(null=True, blank=True)
    perks = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["event", "position", "price"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="tier_price_not_negative")]

    def __str__(self):
        return f"{self.event} — {self.name}"

    @property
    def in_person(self) -> bool:
        return self.kind != self.Kind.ONLINE

    def on_sale(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.event.status == Event.Status.PUBLISHED
            and (self.sales_start is None or self.sales_start <= now)
            and (self.sales_end is None or now < self.sales_end)
            and now < self.event.ends_at
        )


class Ticket(models.Model):
    """One admission, issued when its order line is paid. The QR payload is signed (Ed25519)."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        VOID = "void", "Void"

    id = PublicIdField("tkt")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tickets")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="tickets")
    order_line = models.ForeignKey("commerce.OrderLine", on_delete=models.PROTECT, related_name="tickets")
    holder = models.ForeignKey("microstage.User", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="tickets")
    holder_email = models.EmailField(max_length=254)
    holder_name = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VALID, db_index=True)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on transfer: older QR codes stop working.")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "created_at"]
        indexes = [models.Index(fields=["holder_email"], name="ticket_holder_email_idx")]

    def __str__(self):
        return f"{self.id} · {self.tier.name} · {self.holder_email}"


class CheckIn(models.Model):
    """A scan at the door. The first accepted scan of a ticket admits it; later ones are duplicates."""

    class Result(models.TextChoices):
        OK = "ok", "Admitted"
        ALREADY = "already_checked_in", "Already checked in"
        INVALID = "invalid", "Invalid"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="checkins")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="checkins")
    result = models.CharField(max_length=20, choices=Result.choices)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    device = models.CharField(max_length=80, blank=True)
    scanned_by = models.ForeignKey("microstage.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    offline = models.BooleanField(default=False)

    class Meta:
        ordering = ["-scanned_at"]
        indexes = [models.Index(fields=["event", "-scanned_at"], name="checkin_event_idx")]

    def __str__(self):
        return f"{self.get_result_display()} at {self.scanned_at:%H:%M}"


class Drop(models.Model):
    """A product offered in limited quantity during a time window of an event (pool "drop:<id>")."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    id = PublicIdField("drp")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="drops")
    product = models.ForeignKey("commerce.Product", on_delete=models.PROTECT, related_name="drops")
    variant = models.ForeignKey("commerce.ProductVariant", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="drops")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                help_text="Drop price; the product's price when empty.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    members_only_until = models.DateTimeField(null=True, blank=True)
    per_person_limit = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Stopped early from the control room.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="drop_ends_after_start")]

    def __str__(self):
        return f"{self.product} drop at {self.event}"
