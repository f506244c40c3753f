"""Reads for events: discovery, landing pages, live tier availability and the door's bundle."""
import math
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import ACos, Cos, Least, Radians, Sin
from django.utils import timezone

from commerce.models import variant_label
from commerce.selectors import availability_by_key
from microstage import overrides

from .models import Event, Ticket, TicketTier, TierPerk, opens_room

EARTH_RADIUS_KM = 6371.0
MAX_RADIUS_KM = 20000.0


def discover(*, q: str = "", creator: str = "", starts_after: datetime | None = None,
             starts_before: datetime | None = None, near: tuple[float, float] | None = None,
             radius_km: float = 50.0, include_past: bool = False, viewer=None) -> QuerySet[Event]:
    """Public, published events (upcoming unless `starts_after` says otherwise), filtered.

    Members-only events are listed only for `viewer` when they may see them (members_seeing).

    `creator` matches a creator's id or slug; `near` keeps in-person events within `radius_km`
    (great-circle distance computed in PostgreSQL) and orders by start time as everywhere else.
    """
    qs = Event.objects.filter(status=Event.Status.PUBLISHED, visibility=Event.Visibility.PUBLIC)
    qs = qs.filter(Q(members_only=False) | Q(creator_id__in=members_seeing(viewer)))
    if not include_past and starts_after is None:
        qs = qs.filter(ends_at__gt=timezone.now())
    if starts_after is not None:
        qs = qs.filter(starts_at__gte=starts_after)
    if starts_before is not None:
        qs = qs.filter(starts_at__lt=starts_before)
    if creator:
        qs = qs.filter(Q(creator__id=creator) | Q(creator__slug=creator))
    if q:
        for word in q.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word) | Q(venue_name__icontains=word)
                           | Q(venue_address__icontains=word) | Q(creator__name__icontains=word))
    if near is not None:
        lat, lng = near
        # Spherical law of cosines; Least() keeps rounding from pushing acos past 1.
        qs = qs.filter(venue_lat__isnull=False, venue_lng__isnull=False).annotate(
            distance_km=EARTH_RADIUS_KM * ACos(Least(1.0, Cos(Radians(lat)) * Cos(Radians("venue_lat"))
                                                     * Cos(Radians("venue_lng") - Radians(lng))
                                                     + Sin(Radians(lat)) * Sin(Radians("venue_lat")))))
        qs = qs.filter(distance_km__lte=min(radius_km, MAX_RADIUS_KM))
    return qs.select_related("creator").order_by("starts_at", "id")


def members_seeing(user) -> list[str]:
    """Creators whose members-only events `user` sees: where their live plan includes members-only
    events (memberships.selectors.perks_for decides), or where they are on the team."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    from memberships.models import Membership
    from memberships.selectors import perks_for
    from microstage.selectors import team_roles

    ids = set(team_roles(user).values_list("creator_id", flat=True))
    for creator_id in set(Membership.objects.filter(user=user, status__in=Membership.GOOD_STANDING)
                          .values_list("creator_id", flat=True)):
        if creator_id not in ids and perks_for(user, creator_id).members_only_events:
            ids.add(creator_id)
    return sorted(ids)


def parse_near(value: str) -> tuple[float, float] | None:
    """"52.5,13.4" → (52.5, 13.4); None when malformed or out of range."""
    try:
        lat_s, lng_s = value.split(",")
        lat, lng = float(lat_s), float(lng_s)
    except (ValueError, AttributeError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def upcoming_public_events(limit: int | None = 24) -> QuerySet[Event]:
    qs = discover()
    return qs[:limit] if limit else qs


def landing_event(slug: str, viewer=None) -> Event | None:
    """A published (or cancelled) event with its tiers, for the public landing page; a members-only
    event only for those who may see it (None for anyone else, as if it did not exist)."""
    from .services import may_see_event

    event = (
        Event.objects.filter(slug=slug, status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])
        .select_related("creator")
        .prefetch_related(Prefetch("tiers", queryset=TicketTier.objects.order_by("position", "price")))
        .first()
    )
    return event if event is not None and may_see_event(viewer, event) else None


def tier_availability(tiers: list[TicketTier], now=None) -> dict[str, int]:
    """Tickets left per tier: the tier's own pool and, for the room, the venue's — whichever is tighter."""
    from .services import tier_pools

    pools = {t.pk: tier_pools(t) for t in tiers}
    found = availability_by_key(sorted({k for p in pools.values() for k in p}), now)
    return {tier_id: min(found.get(k, total) for k, total in p.items()) for tier_id, p in pools.items()}


def tiers_with_availability(event: Event, now=None, buyer=None) -> list[TicketTier]:
    """The event's tiers, each with `.available` and `.is_on_sale` set, in display order.

    `.is_on_sale` is for this `buyer` (member early access and members-only windows count; anonymous
    sees what everyone sees). Each tier also gets `.refusal` (the 409 code a purchase would get, or ""),
    `.member_price` (the price after the buyer's member discount) and `.members_early` (members may buy
    now, everyone else later).
    """
    from memberships.selectors import perks_for

    from .services import member_price, sale_refusal

    now = now or timezone.now()
    perks = perks_for(buyer, event.creator_id)
    tiers = list(event.tiers.all())
    # The perks each tier delivers, shown with it: one query for all tiers, not one per tier.
    prefetch_related_objects(tiers, Prefetch("entitlements", queryset=TierPerk.objects.select_related("product")))
    for tier in tiers:
        tier.event = event  # avoid one query per tier
    left = tier_availability(tiers, now)
    from .waitlist import waiting_counts

    waiting = waiting_counts([t.pk for t in tiers])
    for tier in tiers:
        # While people wait, tickets that come back are theirs: the tier is sold out for everyone else.
        tier.waiting = waiting.get(tier.pk, 0)
        tier.available = 0 if tier.waiting else left[tier.pk]
        refusal = sale_refusal(tier, perks, now)
        tier.refusal = refusal[0] if refusal else ""
        tier.is_on_sale = refusal is None
        tier.members_early = tier.is_on_sale and perks.is_member and (
            not tier.on_sale(now) or (tier.members_only_until is not None and tier.members_only_until > now))
        tier.member_price = member_price(tier.price, perks.discount_percent)
    return tiers


def tickets_of(user) -> QuerySet[Ticket]:
    """A person's tickets: held by their account, or bought for an email address they have verified
    (a guest order). A transferred ticket counts only once its recipient claimed it (events.transfers)."""
    from allauth.account.models import EmailAddress

    if not user.is_authenticated:
        return Ticket.objects.none()
    verified = EmailAddress.objects.filter(user=user, verified=True).values("email")
    return (Ticket.objects.filter(Q(holder=user) | Q(holder__isnull=True, awaiting_claim=False,
                                                     holder_email__in=verified))
            .select_related("event", "event__creator", "tier").order_by("event__starts_at", "created_at"))


def checkin_bundle(event: Event) -> dict:
    """What a door device needs to verify tickets offline: the public key, valid tickets, revocations."""
    from microstage.signing import public_key_b64url

    from .consent import answers_by_ticket, no_recording, questions_of
    from .models import TierPerk

    rows = Ticket.objects.filter(event=event).values_list("pk", "version", "status", "checked_in_at", "tier__name",
                                                          "tier__kind", "holder_name", "holder_email", "tier_id")
    answered = answers_by_ticket(event)  # the holders' consent answers travel with the bundle (offline door)
    backstage = set(TierPerk.objects.filter(tier__event=event, kind=TierPerk.Kind.BACKSTAGE)
                    .values_list("tier_id", flat=True))
    tickets, revoked = [], []
    for pk, version, status, checked_in_at, tier_name, tier_kind, holder_name, holder_email, tier_id in rows:
        if status != Ticket.Status.VALID:
            revoked.append(pk)
            continue
        answers = answered.get(pk, {})
        # The tier's kind travels with the ticket so an offline door refuses stream-only tickets too.
        tickets.append({"id": pk, "version": version, "tier": tier_name, "tier_kind": tier_kind,
                        "opens_room": opens_room(event.mode, tier_kind), "backstage": tier_id in backstage,
                        "holder": holder_name or holder_email.split("@", 1)[0],
                        "checked_in_at": checked_in_at.isoformat() if checked_in_at else None,
                        "answers": answers, "no_recording": no_recording(answers)})
    return {"event": event.pk, "public_key": public_key_b64url(), "algorithm": "Ed25519", "payload_prefix": "MST1",
            "generated_at": timezone.now().isoformat(), "tickets": tickets, "revoked": revoked,
            "questions": [{"key": q["key"], "text": q["text"]} for q in questions_of(event)]}


# --- creator dashboard ----------------------------------------------------------------------

def dashboard_events(creator, now=None) -> dict[str, list[Event]]:
    """A creator's events as the dashboard groups them — drafts, upcoming, past, cancelled — each
    with `tickets_sold` (valid tickets) and `tier_count`."""
    from django.db.models import Count

    now = now or timezone.now()
    events = (Event.objects.filter(creator=creator)
              .annotate(tickets_sold=Count("tickets", filter=Q(tickets__status=Ticket.Status.VALID), distinct=True),
                        tier_count=Count("tiers", distinct=True))
              .order_by("starts_at", "id"))
    groups: dict[str, list[Event]] = {"drafts": [], "upcoming": [], "past": [], "cancelled": []}
    for event in events:
        if event.status == Event.Status.CANCELLED:
            groups["cancelled"].append(event)
        elif event.status == Event.Status.DRAFT:
            groups["drafts"].append(event)
        elif event.ends_at > now:
            groups["upcoming"].append(event)
        else:
            groups["past"].append(event)
    groups["past"].reverse()  # most recent first
    groups["cancelled"].reverse()
    return groups


def next_event(creator, now=None) -> Event | None:
    """The soonest draft or published event of a creator that has not ended yet."""
    now = now or timezone.now()
    return (Event.objects.filter(creator=creator, ends_at__gt=now,
                                 status__in=[Event.Status.DRAFT, Event.Status.PUBLISHED])
            .order_by("starts_at", "id").first())


def tiers_with_sales(event: Event, now=None) -> list[TicketTier]:
    """Tiers with `.available`, `.is_on_sale` and `.sold` (paid units in the tier's pool)."""
    from commerce import inventory

    now = now or timezone.now()
    tiers = tiers_with_availability(event, now)
    for tier in tiers:  # the team sees the sales window, not what one buyer may do
        tier.is_on_sale = tier.on_sale(now)
    sold = inventory.sold_by_key(inventory.tier_key(t.pk) for t in tiers)
    for tier in tiers:
        tier.sold = sold.get(inventory.tier_key(tier.pk), 0)
    return tiers


def attendees(event: Event, q: str = "", *, guest_data: bool = True) -> QuerySet[Ticket]:
    """The event's tickets with holder, tier and order, matching every word of `q` (name, tier, an
    exact ticket id and — with `guest_data`, for owners and managers — email or an exact order id).
    Without `guest_data` (door staff) a search can never find or confirm someone by email or order."""
    qs = Ticket.objects.filter(event=event).select_related("tier", "holder", "order_line__order")
    for word in q.split()[:6]:
        match = (Q(holder_name__icontains=word) | Q(holder__display_name__icontains=word)
                 | Q(tier__name__icontains=word) | Q(id__iexact=word))
        if guest_data:
            match |= Q(holder_email__icontains=word) | Q(order_line__order__id__iexact=word)
        qs = qs.filter(match)
    return qs.order_by("tier__position", "holder_email", "created_at", "id")


def door_name(ticket: Ticket) -> str:
    """What the door calls a guest: the name on the ticket or the account's display name, never the email."""
    return ticket.holder_name or (ticket.holder.display_name if ticket.holder_id and ticket.holder else "") or ""


def paid_order_count(event: Event) -> int:
    """Paid ticket orders of the event: what cancelling it would refund."""
    from commerce.models import Order

    from .services import TICKET_KIND

    return (Order.objects.filter(lines__kind=TICKET_KIND, lines__item_id__in=event.tiers.values("pk"),
                                 status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED])
            .distinct().count())


# --- drops ---------------------------------------------------------------------------------------

def drops_with_availability(event: Event, now=None) -> list:
    """The event's drops, each with `available` (the tightest of its pools), `sold`, `state`
    (scheduled/live/ended), `is_on_sale`, `unit_price`, `currency` and `name` set."""
    from commerce import inventory

    from .models import Drop
    from .services import drop_on_sale, drop_pools, drop_state

    now = now or timezone.now()
    drops = list(Drop.objects.filter(event=event).select_related("event", "product", "variant")
                 .prefetch_related("product__variants").order_by("starts_at", "id"))
    pools = {}
    for d in drops:
        # drop_variant's own query per drop would be an N+1: the prefetched variants, in its order.
        prefetched = sorted(d.product.variants.all(), key=lambda v: (v.position, v.name))
        d.variant_obj = d.variant if d.variant_id else (prefetched[0] if prefetched else None)
        pools[d.pk] = drop_pools(d, d.variant_obj) if d.variant_obj else {inventory.drop_key(d.pk): d.quantity}
    found = availability_by_key([k for p in pools.values() for k in p], now)
    sold = inventory.sold_by_key(inventory.drop_key(d.pk) for d in drops)
    for d in drops:
        d.available = min(found.get(k, total) for k, total in pools[d.pk].items())
        d.sold = sold.get(inventory.drop_key(d.pk), 0)
        d.state = drop_state(d, now)
        d.is_on_sale = drop_on_sale(d, now)
        v = d.variant_obj
        d.unit_price = d.price if d.price is not None else (v.unit_price if v else d.product.price)
        d.unit_price = overrides.price("drop", d.pk, d.unit_price)  # an experiment's variant price, if any
        d.currency = d.product.currency
        d.name = variant_label(d.product.name, v.name if v else None)
        d.choices = range(1, max(1, min(d.per_person_limit, d.available, 10)) + 1)
    return drops


def tier_choices(creator_id: str) -> list[tuple[str, str]]:
    """(id, "Event — Tier") of a creator's ticket tiers, newest events first (promo code limits)."""
    tiers = TicketTier.objects.filter(event__creator_id=creator_id).select_related("event") \
        .order_by("-event__starts_at", "name")
    return [(t.pk, f"{t.event.title} — {t.name}") for t in tiers]
