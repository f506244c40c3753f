"""Reads for events: discovery, landing pages, who may buy at what price, live availability of tiers and
drops, readiness to publish and the door's counts."""
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import ACos, Cos, Least, Radians, Sin
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import inventory
from catalog.models import variant_label
from commerce.selectors import availability_by_key
from microstage import hotsql, overrides

from .models import TICKET_KIND, Drop, Event, Ticket, TicketTier, TierPerk, WaitlistEntry

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
    event = (
        Event.objects.filter(slug=slug, status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])
        .select_related("creator")
        .prefetch_related(Prefetch("tiers", queryset=TicketTier.objects.order_by("position", "price")))
        .first()
    )
    return event if event is not None and may_see_event(viewer, event) else None


# --- ticket sales: pools, member prices, who may buy now -------------------------------------

_tier_events: dict[str, str] = {}  # tier id -> event id, per process: a tier never moves to another event


def event_id_of_tier(tier_id: str) -> str | None:
    """The event a tier belongs to, read once per process (announcing every sale asks it)."""
    event_id = _tier_events.get(tier_id)
    if event_id is None:
        event_id = TicketTier.objects.filter(pk=tier_id).values_list("event_id", flat=True).first()
        if event_id is not None and len(_tier_events) < 10_000:
            _tier_events[tier_id] = event_id
    return event_id


def tier_with_event(tier_id: str) -> TicketTier | None:
    """The tier with its event in hand (one read of fixed SQL: every ticket reservation asks it)."""
    if not isinstance(tier_id, str):
        return None
    rows = hotsql.fetch(hotsql.statement(
        "SELECT {t}, {e} FROM {t_table} t JOIN {e_table} e ON e.id = t.event_id WHERE t.id = %s",
        t=TicketTier, e=Event), [tier_id], (TicketTier, "t"), (Event, "e"))
    if not rows:
        return None
    tier, event = rows[0]
    hotsql.attach(tier, "event", event)
    return tier


def has_waiting(tier_id: str) -> bool:
    """Whether anyone waits in the tier's line (fixed SQL: a ticket reservation asks it, mostly to hear no)."""
    return hotsql.exists(hotsql.statement("SELECT 1 FROM {w_table} w WHERE w.tier_id = %s AND w.status = %s LIMIT 1",
                                          w=WaitlistEntry), [tier_id, WaitlistEntry.Status.WAITING])


def tier_pools(tier: TicketTier) -> dict[str, int]:
    """Inventory pools a ticket of this tier draws on: its own quantity, and the venue for the room."""
    pools = {inventory.tier_key(tier.pk): tier.quantity}
    event = tier.event
    if tier.in_person and event.venue_capacity is not None and event.mode != Event.Mode.ONLINE:
        pools[inventory.venue_key(event.pk)] = event.venue_capacity
    return pools


CENT = Decimal("0.01")


def member_price(price: Decimal, percent: Decimal) -> Decimal:
    """`price` less `percent` off, to the cent (half up)."""
    if not percent or price <= 0:
        return price
    return (price * (Decimal("100") - Decimal(percent)) / Decimal("100")).quantize(CENT, rounding=ROUND_HALF_UP)


def _is_team(user, creator_id: str) -> bool:
    from microstage.selectors import role_of

    return bool(user is not None and getattr(user, "is_authenticated", False) and role_of(user, creator_id))


def may_see_event(user, event: Event, perks=None) -> bool:
    """Members-only events exist only for members whose plan includes them, and for the creator's team."""
    if not event.members_only:
        return True
    from memberships.selectors import perks_for

    perks = perks if perks is not None else perks_for(user, event.creator_id)
    return perks.members_only_events or _is_team(user, event.creator_id)


def _longest_early_access(creator_id: str) -> int:
    from django.db.models import Max

    from memberships.selectors import plans_of

    return plans_of(creator_id, active_only=False).aggregate(h=Max("early_access_hours"))["h"] or 0


def sale_refusal(tier: TicketTier, perks, now=None) -> tuple[str, str] | None:
    """Why this buyer (with these member perks) may not buy the tier now, as (code, detail); None if they may.

    Early access: before `sales_start`, members whose plan opens sales early enough buy now; others hear
    `members_only` when some plan of the creator would let a member buy now, else `not_on_sale`.
    `members_only_until` keeps a tier to members; a members-only event needs the members-only perk.
    """
    now = now or timezone.now()
    event = tier.event
    if event.members_only and not perks.members_only_events:
        return "members_only", _("This show is for members only.")
    if (event.status != Event.Status.PUBLISHED or (tier.sales_end is not None and now >= tier.sales_end)
            or now >= event.ends_at):
        return "not_on_sale", _("These tickets are not on sale right now.")
    if tier.sales_start is not None and tier.sales_start > now:
        if now < tier.sales_start - timedelta(hours=perks.early_access_hours):
            if now >= tier.sales_start - timedelta(hours=_longest_early_access(event.creator_id)):
                return "members_only", _("Members can buy these tickets early; sales open to everyone later.")
            return "not_on_sale", _("These tickets are not on sale right now.")
    if tier.members_only_until is not None and tier.members_only_until > now and not perks.is_member:
        return "members_only", _("These tickets are for members only until sales open to everyone.")
    return None


def waiting_counts(tier_ids) -> dict[str, int]:
    """People waiting (not yet offered) per tier."""
    from django.db.models import Count

    rows = (WaitlistEntry.objects.filter(tier_id__in=list(tier_ids), status=WaitlistEntry.Status.WAITING)
            .values("tier_id").annotate(n=Count("id")))
    return {r["tier_id"]: r["n"] for r in rows}


def tier_availability(tiers: list[TicketTier], now=None) -> dict[str, int]:
    """Tickets left per tier: the tier's own pool and, for the room, the venue's — whichever is tighter."""
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

    now = now or timezone.now()
    perks = perks_for(buyer, event.creator_id)
    tiers = list(event.tiers.all())
    # The perks each tier delivers, shown with it: one query for all tiers, not one per tier.
    prefetch_related_objects(tiers, Prefetch("entitlements", queryset=TierPerk.objects.select_related("product")))
    for tier in tiers:
        tier.event = event  # avoid one query per tier
    left = tier_availability(tiers, now)
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


# --- creator dashboard ----------------------------------------------------------------------

def readiness_items(event: Event) -> list[tuple[str, str]]:
    """What still stands between this event and publishing: (key, the reason in the creator's words)."""
    missing = []
    if not event.title.strip():
        missing.append(("title", _("Give the event a title.")))
    if not event.description.strip():
        missing.append(("description", _("Write a short description so people know what they are buying.")))
    if event.ends_at <= timezone.now():
        missing.append(("past", _("The event is in the past: set a future date.")))
    if event.mode != Event.Mode.ONLINE and not event.venue_name.strip():
        missing.append(("venue", _("Add the venue (or make the event online only).")))
    tiers = list(event.tiers.all())
    if not tiers:
        missing.append(("no_tier", _("Add at least one ticket tier.")))
    elif all(t.quantity == 0 for t in tiers):
        missing.append(("no_quantity", _("Give at least one tier a quantity above zero.")))
    return missing


def readiness(event: Event) -> list[str]:
    """What still stands between this event and publishing, in the creator's words."""
    return [text for _key, text in readiness_items(event)]


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


def checkin_counts(event: Event) -> dict:
    """The room at the door: tickets that open it (stream-only ones never count) and how many are in,
    against the venue's capacity (None when it has none)."""
    valid = Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
    room = valid.none() if event.mode == Event.Mode.ONLINE else valid.exclude(tier__kind=TicketTier.Kind.ONLINE)
    return {"checked_in": room.filter(checked_in_at__isnull=False).count(), "tickets": room.count(),
            "capacity": event.venue_capacity if event.mode != Event.Mode.ONLINE else None}


def door_name(ticket: Ticket) -> str:
    """What the door calls a guest: the name on the ticket or the account's display name, never the email."""
    return ticket.holder_name or (ticket.holder.display_name if ticket.holder_id and ticket.holder else "") or ""


def paid_order_count(event: Event) -> int:
    """Paid ticket orders of the event: what cancelling it would refund."""
    from commerce.models import Order

    return (Order.objects.filter(lines__kind=TICKET_KIND, lines__item_id__in=event.tiers.values("pk"),
                                 status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED])
            .distinct().count())


# --- drops ---------------------------------------------------------------------------------------

def drop_variant(drop: Drop):
    return drop.variant if drop.variant_id else drop.product.variants.order_by("position", "name").first()


def drop_pools(drop: Drop, variant=None) -> dict[str, int]:
    variant = variant or drop_variant(drop)
    pools = {inventory.drop_key(drop.pk): drop.quantity}
    if variant is not None:
        pools[inventory.variant_key(variant.pk)] = variant.stock
    return pools


def drop_state(drop: Drop, now=None) -> str:
    """"scheduled", "live" or "ended" (stopped from the control room, or past its window)."""
    now = now or timezone.now()
    if drop.stopped_at is not None and drop.stopped_at <= now:
        return Drop.Status.ENDED
    if now < drop.starts_at:
        return Drop.Status.SCHEDULED
    if now >= drop.ends_at:
        return Drop.Status.ENDED
    return Drop.Status.LIVE


def drop_on_sale(drop: Drop, now=None) -> bool:
    return (drop_state(drop, now) == Drop.Status.LIVE and drop.event.status == Event.Status.PUBLISHED
            and drop.product.is_active)


def drops_with_availability(event: Event, now=None, *, variant_prices: Mapping | None = None) -> list:
    """The event's drops, each with `available` (the tightest of its pools), `sold`, `state`
    (scheduled/live/ended), `is_on_sale`, `unit_price`, `currency` and `name` set.

    `variant_prices` are the visitor's experiment prices ({(target, item id): price}, see
    microstage.overrides); without them every drop shows its list price."""

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
        d.unit_price = overrides.price("drop", d.pk, d.unit_price, variant_prices)  # an experiment's variant
        d.currency = d.product.currency
        d.name = variant_label(d.product.name, v.name if v else None)
        d.choices = range(1, max(1, min(d.per_person_limit, d.available, 10)) + 1)
    return drops


def tier_choices(creator_id: str) -> list[tuple[str, str]]:
    """(id, "Event — Tier") of a creator's ticket tiers, newest events first (promo code limits)."""
    tiers = TicketTier.objects.filter(event__creator_id=creator_id).select_related("event") \
        .order_by("-event__starts_at", "name")
    return [(t.pk, f"{t.event.title} — {t.name}") for t in tiers]
