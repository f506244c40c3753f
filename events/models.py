"""Events and their ticket tiers."""
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from microstage.ids import PublicIdField
from microstage.models import Creator
from microstage.uploads import SafeImageField

# The kinds of order line events sells through commerce (commerce.sellables): a ticket of a tier, an item
# of a drop, a bundle. Here, below every module that prices, issues or reads them.
TICKET_KIND = "ticket"
DROP_KIND = "drop"
BUNDLE_KIND = "bundle"


class LocalDateTime(datetime):
    """A datetime already in the event's timezone: templates must not convert it to the server's."""

    convert_to_local_time = False


def in_zone(value: datetime, tz: zoneinfo.ZoneInfo) -> LocalDateTime:
    local = timezone.localtime(value, tz)
    return LocalDateTime(local.year, local.month, local.day, local.hour, local.minute, local.second,
                         local.microsecond, tzinfo=local.tzinfo, fold=local.fold)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(gettext("Unknown timezone: %(value)s") % {"value": value})


class Event(models.Model):
    """A micro-event: a room, a live stream, or both."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        ONLINE = "online", _("Online")
        HYBRID = "hybrid", _("Hybrid")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        UNLISTED = "unlisted", _("Unlisted")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    id = PublicIdField("evt")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(max_length=140)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, max_length=20000, help_text=_("Markdown"))
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # The language of its public pages for visitors who chose none (microstage.i18n).
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.HYBRID)
    venue_name = models.CharField(max_length=120, blank=True)
    venue_address = models.CharField(max_length=255, blank=True)
    venue_lat = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    venue_lng = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    venue_capacity = models.PositiveIntegerField(null=True, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    members_only = models.BooleanField(default=False, help_text=_("Only the creator's members (whose plan includes "
                                       "members-only events) and team see and buy it."))
    cover = SafeImageField(upload_to="events/covers/", blank=True)
    preview_image = models.ImageField(upload_to="events/previews/", blank=True, editable=False,
                                      help_text=_("1200×630 social preview, drawn at publish and on change."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    checkin_bundle_issued_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text=_("When a door device first took the offline bundle: no offline scan can be older."))
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
        STANDARD = "standard", _("Standard")
        BACKSTAGE = "backstage", _("Backstage")
        VIP = "vip", _("VIP")
        ONLINE = "online", _("Stream only")

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
        VALID = "valid", _("Valid")
        VOID = "void", _("Void")

    id = PublicIdField("tkt")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tickets")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="tickets")
    order_line = models.ForeignKey("commerce.OrderLine", on_delete=models.PROTECT, related_name="tickets")
    holder = models.ForeignKey("microstage.User", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="tickets")
    holder_email = models.EmailField(max_length=254)
    holder_name = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VALID, db_index=True)
    version = models.PositiveIntegerField(default=1, help_text=_("Bumped on transfer: older QR codes stop working."))
    awaiting_claim = models.BooleanField(default=False, help_text=_("Transferred: nobody holds it until the "
                                         "recipient claims it from the emailed link with a verified address."))
    checked_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "created_at"]
        indexes = [models.Index(fields=["holder_email"], name="ticket_holder_email_idx")]

    def __str__(self):
        return f"{self.id} · {self.tier.name} · {self.holder_email}"


def opens_room(event_mode: str, tier_kind: str) -> bool:
    """What a ticket is decides where it admits: never the room for a stream-only tier or an online show."""
    return tier_kind != TicketTier.Kind.ONLINE and event_mode != Event.Mode.ONLINE


class CheckIn(models.Model):
    """A scan at the door. The first accepted scan of a ticket admits it; later ones are duplicates."""

    class Result(models.TextChoices):
        OK = "ok", _("Admitted")
        ALREADY = "already_checked_in", _("Already checked in")
        INVALID = "invalid", _("Invalid")
        STREAM_ONLY = "stream_only", _("Stream-only ticket (refused at the door)")

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
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    id = PublicIdField("drp")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="drops")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="drops")
    variant = models.ForeignKey("catalog.ProductVariant", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="drops")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                help_text=_("Drop price; the product's price when empty."))
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    members_only_until = models.DateTimeField(null=True, blank=True)
    per_person_limit = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    stopped_at = models.DateTimeField(null=True, blank=True, help_text=_("Stopped early from the control room."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="drop_ends_after_start")]

    def __str__(self):
        return f"{self.product} drop at {self.event}"


class WaitlistEntry(models.Model):
    """One person waiting for tickets of a sold-out tier, in line by `number` (services: events/waitlist.py).

    When tickets come back the first waiting entry gets an offer: a reserved order held for them
    alone for MICROSTAGE_WAITLIST_OFFER_SECONDS; `status` then says what the offer became.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered")
        EXPIRED = "expired", _("Offer expired")
        BOUGHT = "bought", _("Bought")
        LEFT = "left", _("Left the list")

    ACTIVE = (Status.WAITING, Status.OFFERED)

    id = PublicIdField("wl")
    tier = models.ForeignKey(TicketTier, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey("microstage.User", on_delete=models.CASCADE, related_name="waitlist_entries")
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    number = models.PositiveIntegerField(help_text=_("Place in the tier's line, in the order people joined."))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING, db_index=True)
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="waitlist_offers", help_text=_("The offer: held for this person alone."))
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tier", "number"]
        verbose_name_plural = _("waiting list entries")
        constraints = [
            models.UniqueConstraint(fields=["tier", "number"], name="waitlist_one_place_per_number"),
            models.UniqueConstraint(fields=["tier", "user"], condition=Q(status__in=["waiting", "offered"]),
                                    name="waitlist_one_active_entry_per_person"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_quantity_positive"),
        ]

    def __str__(self):
        return f"#{self.number} {self.user} for {self.tier.name} ({self.status})"


class Bundle(models.Model):
    """An experience plus goods plus future credit, sold as one line (services: events/bundles.py)."""

    id = PublicIdField("bdl")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="bundles")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3)
    credit = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=[MinValueValidator(0)],
                                 help_text=_("Store credit with this creator that paying for the bundle adds."))
    max_per_order = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1)])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "name"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="bundle_price_not_negative"),
                       models.CheckConstraint(condition=Q(credit__gte=0), name="bundle_credit_not_negative")]

    def __str__(self):
        return self.name


class BundleItem(models.Model):
    """One part of a bundle: `quantity` tickets of a tier or units of a product variant."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    tier = models.ForeignKey(TicketTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("catalog.ProductVariant", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["bundle", "position"]
        constraints = [models.CheckConstraint(condition=(Q(tier__isnull=False, variant__isnull=True)
                                                         | Q(tier__isnull=True, variant__isnull=False)),
                                              name="bundle_item_is_tier_or_variant"),
                       models.CheckConstraint(condition=Q(quantity__gte=1), name="bundle_item_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.tier or self.variant}"


class TierPerk(models.Model):
    """A perk the platform delivers to holders of a tier's valid tickets (an entitlement).

    Text-only perks ("meet the band") stay in `TicketTier.perks` and promise nothing the platform checks.
    """

    class Kind(models.TextChoices):
        REPLAY = "replay", _("Replay access")
        DOWNLOAD = "download", _("Digital download")
        MERCH_DISCOUNT = "merch_discount", _("Merch discount during the show")
        BACKSTAGE = "backstage", _("Backstage")

    tier = models.ForeignKey(TicketTier, on_delete=models.CASCADE, related_name="entitlements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    days = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(3650)],
                                            help_text=_("Replay: days after the show it stays open (empty: no end)."))
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", help_text=_("Download: the digital product unlocked."))
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                  validators=[MinValueValidator(0), MaxValueValidator(100)],
                                  help_text=_("Merch discount: percent off the creator's products during the show."))

    class Meta:
        ordering = ["tier", "kind"]
        constraints = [models.UniqueConstraint(fields=["tier", "kind"], name="one_perk_kind_per_tier")]

    def __str__(self):
        return f"{self.get_kind_display()} with {self.tier}"


# Consent forms, answers and "notify me" requests live in their own module but belong to this app.
from .consent_models import ConsentAnswers, ConsentForm, NotifyRequest  # noqa: E402,F401
