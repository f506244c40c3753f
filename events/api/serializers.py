"""Serializers for events, tiers, tickets and check-in (API.md "Events and tiers", "Tickets and check-in")."""
import re

from django.utils.translation import gettext, gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Event
from microstage.api.fields import AwareDateTimeField

MAX_SYNC_SCANS = 1000
MAX_PAYLOAD_CHARS = 2000
MAX_TIER_QUANTITY = 1_000_000
MAX_PER_ORDER = 100  # commerce refuses more than 100 of one item per line anyway


# --- input -------------------------------------------------------------------------------------

class VenueInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    capacity = serializers.IntegerField(min_value=1, max_value=MAX_TIER_QUANTITY, required=False, allow_null=True)


class EventInSerializer(serializers.Serializer):
    """The body of POST /events (all of it) and PATCH /events/{id} (any of it, `partial=True`)."""

    creator = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=140)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True, trim_whitespace=False)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    timezone = serializers.CharField(max_length=64, required=False)
    online = serializers.BooleanField(required=False)
    mode = serializers.ChoiceField(choices=Event.Mode.choices, required=False,
                                   help_text=_("Optional; by default derived from `online` and `venue`."))
    venue = VenueInSerializer(required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=Event.Visibility.choices, required=False)
    members_only = serializers.BooleanField(required=False,
                                            help_text=_("Only the creator's members and team see it; members buy."))


VENUE_FIELDS = {"name": "venue_name", "address": "venue_address", "lat": "venue_lat", "lng": "venue_lng",
                "capacity": "venue_capacity"}
CLEARED_VENUE = {"venue_name": "", "venue_address": "", "venue_lat": None, "venue_lng": None, "venue_capacity": None}


def event_fields(data: dict, event: Event | None = None) -> dict:
    """API body → the model fields events.services takes.

    `online` and `venue` decide the mode: online with a venue is hybrid, online without one is
    online only, not online is in person. On PATCH the missing half comes from the event as it is.
    """
    fields = {k: v for k, v in data.items() if k not in ("creator", "online", "venue")}
    if "venue" in data:
        venue = data["venue"]
        if venue is None:
            fields.update(CLEARED_VENUE)
        else:
            fields.update({VENUE_FIELDS[k]: v for k, v in venue.items()})
    if "mode" not in data and ("online" in data or "venue" in data or event is None):
        online = data.get("online", event.is_online if event is not None else False)
        has_venue = bool(fields.get("venue_name", event.venue_name if event is not None else ""))
        fields["mode"] = (Event.Mode.HYBRID if online and has_venue else Event.Mode.ONLINE if online
                          else Event.Mode.IN_PERSON)
    return fields


class TierInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, max_value=100000)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False,
                                      error_messages={"invalid": _("Use a three-letter ISO 4217 code like EUR.")})
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TIER_QUANTITY)
    max_per_order = serializers.IntegerField(min_value=1, max_value=MAX_PER_ORDER, required=False)
    sales_start = AwareDateTimeField(required=False, allow_null=True)
    sales_end = AwareDateTimeField(required=False, allow_null=True)
    members_only_until = AwareDateTimeField(required=False, allow_null=True)
    perks = serializers.ListField(child=serializers.CharField(max_length=120), max_length=20, required=False,
                                  help_text=_("Text-only perks: shown to buyers, enforced by nobody."))
    entitlements = serializers.ListField(
        child=serializers.DictField(), max_length=4, required=False,
        help_text=_('Perks the platform delivers: {"kind": "replay", "days"?}, {"kind": "download", "product"}, '
                  '{"kind": "merch_discount", "percent"}, {"kind": "backstage"}.'))
    kind = serializers.ChoiceField(choices=["standard", "backstage", "vip", "online"], required=False)
    description = serializers.CharField(max_length=280, required=False, allow_blank=True)


_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


class QueryDateTimeField(AwareDateTimeField):
    """A datetime in a query string, forgiving the unencoded "+" of an offset (read as a space)."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            value = _SPACED_OFFSET.sub(r"+\1", value.strip())
        return super().to_internal_value(value)


class DiscoverQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, allow_blank=True)
    creator = serializers.CharField(max_length=80, required=False, allow_blank=True)
    starts_after = QueryDateTimeField(required=False)
    starts_before = QueryDateTimeField(required=False)
    near = serializers.CharField(max_length=64, required=False, help_text=_('"lat,lng", e.g. "52.52,13.40"'))
    radius_km = serializers.FloatField(min_value=0.1, max_value=20000, required=False)
    page = serializers.IntegerField(min_value=1, max_value=100000, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)

    def validate_near(self, value):
        from events.selectors import parse_near

        near = parse_near(value)
        if near is None:
            raise serializers.ValidationError(gettext("Use latitude,longitude in degrees, e.g. 52.52,13.40."))
        return near

    def validate(self, attrs):
        after, before = attrs.get("starts_after"), attrs.get("starts_before")
        if after and before and before <= after:
            raise serializers.ValidationError({"starts_before": [gettext("Must be after starts_after.")]})
        if "radius_km" in attrs and "near" not in attrs:
            raise serializers.ValidationError({"near": [gettext("Give near=lat,lng together with radius_km.")]})
        return attrs


class TransferSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class CheckInInSerializer(serializers.Serializer):
    payload = serializers.CharField(max_length=MAX_PAYLOAD_CHARS)
    device = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class ScanSerializer(serializers.Serializer):
    payload = serializers.CharField(max_length=MAX_PAYLOAD_CHARS)
    scanned_at = AwareDateTimeField()
    device = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class SyncInSerializer(serializers.Serializer):
    scans = ScanSerializer(many=True, max_length=MAX_SYNC_SCANS)


# --- output ------------------------------------------------------------------------------------

def absolute(request, path: str) -> str:
    from django.conf import settings

    return request.build_absolute_uri(path) if request is not None else settings.SITE_URL + path


class CreatorRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()


class VenueOutSerializer(serializers.Serializer):
    name = serializers.CharField(source="venue_name")
    address = serializers.CharField(source="venue_address")
    lat = serializers.FloatField(source="venue_lat", allow_null=True)
    lng = serializers.FloatField(source="venue_lng", allow_null=True)
    capacity = serializers.IntegerField(source="venue_capacity", allow_null=True)


class TierSerializer(serializers.Serializer):
    """A tier with `available` and `is_on_sale` set (events.selectors.tiers_with_availability)."""

    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    available = serializers.IntegerField()
    on_sale = serializers.BooleanField(source="is_on_sale")
    max_per_order = serializers.IntegerField()
    sales_start = AwareDateTimeField(allow_null=True)
    sales_end = AwareDateTimeField(allow_null=True)
    members_only_until = AwareDateTimeField(allow_null=True)
    perks = serializers.ListField(child=serializers.CharField())
    entitlements = serializers.SerializerMethodField(help_text=_("Perks the platform delivers (see tier create)."))
    member_price = serializers.SerializerMethodField(
        help_text=_("The price after the caller's member discount (the price itself when none applies)."))

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2))
    def get_member_price(self, tier) -> str:
        return f"{getattr(tier, 'member_price', tier.price):.2f}"

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_entitlements(self, tier) -> list:
        from events.perks import entitlements_json

        return entitlements_json(tier)


class DropInSerializer(serializers.Serializer):
    product = serializers.CharField(max_length=40)
    variant = serializers.CharField(max_length=40, required=False, allow_null=True)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TIER_QUANTITY)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, max_value=100000, required=False,
                                     allow_null=True)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    members_only_until = AwareDateTimeField(required=False, allow_null=True)
    per_person_limit = serializers.IntegerField(min_value=1, max_value=100, required=False)


class DropSerializer(serializers.Serializer):
    """A drop with `available`, `is_on_sale`, `state`, `unit_price`, `currency`, `name` set
    (events.selectors.drops_with_availability)."""

    id = serializers.CharField()
    product = serializers.CharField(source="product_id")
    variant = serializers.CharField(source="variant_id", allow_null=True)
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, source="unit_price")
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    available = serializers.IntegerField()
    on_sale = serializers.BooleanField(source="is_on_sale")
    status = serializers.CharField(source="state")
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    members_only_until = AwareDateTimeField(allow_null=True)
    per_person_limit = serializers.IntegerField()


class EventCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, event) -> str:
        return absolute(self.context.get("request"), event.get_absolute_url())


class EventSummarySerializer(EventCreatedSerializer):
    """An event in lists: what a discovery card shows."""

    title = serializers.CharField()
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    timezone = serializers.CharField()
    mode = serializers.CharField()
    online = serializers.BooleanField(source="is_online")
    visibility = serializers.CharField()
    members_only = serializers.BooleanField()
    venue = serializers.SerializerMethodField()
    creator = CreatorRefSerializer()
    distance_km = serializers.SerializerMethodField()

    @extend_schema_field(VenueOutSerializer(allow_null=True))
    def get_venue(self, event):
        return VenueOutSerializer(event).data if event.venue_name else None

    def get_distance_km(self, event) -> float | None:
        distance = getattr(event, "distance_km", None)
        return round(distance, 2) if distance is not None else None


class EventDetailSerializer(EventSummarySerializer):
    """One event with its tiers (set on the instance as `tier_list`), drops and group-buys."""

    description = serializers.CharField()
    cover = serializers.SerializerMethodField()
    published_at = AwareDateTimeField(allow_null=True)
    tiers = TierSerializer(source="tier_list", many=True)
    drops = serializers.SerializerMethodField()
    group_buys = serializers.SerializerMethodField()

    def get_cover(self, event) -> str | None:
        return absolute(self.context.get("request"), event.cover.url) if event.cover else None

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_drops(self, event):
        return DropSerializer(getattr(event, "drop_list", []), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_group_buys(self, event):
        """The event's group-buys with their live progress (as the websocket sends it), plus deadline."""
        from groupbuys import services as groupbuys
        from groupbuys.models import GroupBuy

        out = []
        for gb in (GroupBuy.objects.filter(event_id=event.pk).select_related("product", "variant")
                   .prefetch_related("price_tiers").order_by("deadline")):
            state = groupbuys.progress(gb).as_payload(gb)
            state.pop("type")
            out.append({**state, "title": str(gb), "product": gb.product_id, "deadline": gb.deadline.isoformat(),
                        "max_quantity": gb.max_quantity})
        return out


class PublishedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    published_at = AwareDateTimeField(allow_null=True)


class NotReadySerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class TicketSerializer(serializers.Serializer):
    id = serializers.CharField()
    event = serializers.CharField(source="event_id")
    tier = serializers.CharField(source="tier_id")
    status = serializers.CharField()
    qr_payload = serializers.SerializerMethodField()
    event_title = serializers.CharField(source="event.title")
    event_url = serializers.SerializerMethodField()
    starts_at = AwareDateTimeField(source="event.starts_at")
    ends_at = AwareDateTimeField(source="event.ends_at")
    tier_name = serializers.CharField(source="tier.name")
    holder_email = serializers.EmailField()
    checked_in_at = AwareDateTimeField(allow_null=True)

    def get_qr_payload(self, ticket) -> str | None:
        from events.services.tickets import qr_payload

        return qr_payload(ticket) if ticket.status == ticket.Status.VALID else None

    def get_event_url(self, ticket) -> str:
        return absolute(self.context.get("request"), ticket.event.get_absolute_url())


class TransferredSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    event = serializers.CharField(source="event_id")
    tier = serializers.CharField(source="tier_id")
    holder_email = serializers.EmailField()


class ScannedTicketSerializer(serializers.Serializer):
    id = serializers.CharField()
    tier = serializers.CharField(source="tier.name")
    holder = serializers.SerializerMethodField()
    checked_in_at = AwareDateTimeField(allow_null=True)
    answers = serializers.SerializerMethodField()
    no_recording = serializers.SerializerMethodField()
    backstage = serializers.SerializerMethodField(help_text=_("The tier's backstage perk: show the door."))

    def get_holder(self, ticket) -> str:
        return ticket.holder_name or ticket.holder_email.split("@", 1)[0]

    def _door(self, ticket) -> dict:
        from events.consent import door_view

        if not hasattr(ticket, "_door_consent"):
            ticket._door_consent = door_view(ticket.event, ticket)
        return ticket._door_consent

    def get_answers(self, ticket) -> dict[str, bool]:
        return self._door(ticket)["answers"]

    def get_no_recording(self, ticket) -> bool:
        return self._door(ticket)["no_recording"]
    def get_backstage(self, ticket) -> bool:
        from events.perks import is_backstage

        return is_backstage(ticket.tier)


class CheckInResultSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["ok", "already_checked_in", "invalid", "stream_only"])
    no_recording = serializers.BooleanField(required=False)
    answers = serializers.DictField(child=serializers.BooleanField(), required=False)
    ticket = ScannedTicketSerializer(required=False)
    first_scan_at = AwareDateTimeField(required=False)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class SyncResultSerializer(serializers.Serializer):
    payload = serializers.CharField()
    result = serializers.CharField()
    ticket = serializers.CharField(allow_null=True)
    first_scan_at = AwareDateTimeField(required=False)


class SyncOutSerializer(serializers.Serializer):
    results = SyncResultSerializer(many=True)


class BundleSerializer(serializers.Serializer):
    event = serializers.CharField()
    public_key = serializers.CharField()
    algorithm = serializers.CharField()
    payload_prefix = serializers.CharField()
    generated_at = AwareDateTimeField()
    tickets = serializers.ListField(child=serializers.DictField())
    revoked = serializers.ListField(child=serializers.CharField())

