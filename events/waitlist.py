"""Waiting lists for sold-out tiers: join, leave, offers to the first in line, and what they became.

Rules (API.md "Waiting list"):
- People join only while a tier cannot be bought (409 `not_sold_out` otherwise); one active entry
  per person and tier — joining again returns the entry already there (200, same id and place).
- Places are numbers handed out under the tier's row lock, so simultaneous joins get 1, 2, 3…
- When tickets come back (a hold expires, an order is cancelled or refunded, the creator adds
  quantity) `promote(tier)` gives the first waiting entry an offer: an order reserved for them
  through commerce's one reserve primitive, held for MICROSTAGE_WAITLIST_OFFER_SECONDS. Offers
  are made under the tier's row lock, one person at a time and strictly in line: when the first
  person wants more than has come back, nobody behind them jumps ahead.
- While anyone is waiting, nobody else can buy the tier (`guard`, called by the ticket offer): the
  tickets that come back belong to the line. An offer's tickets are held by its order, so nobody
  else can take them either.
- An offer not paid in time expires and the next person gets one (`promote` first expires due
  offers; a beat task runs it for every tier with a line, which is also how a plain hold
  expiring by the clock is noticed).
"""
import logging
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce.models import Order
from microstage.errors import Conflict, Invalid, NotFound, ServiceError
from microstage.notifications.services import notify

from .models import BUNDLE_KIND, TICKET_KIND, BundleItem, Event, TicketTier, WaitlistEntry
from .selectors import has_waiting, may_see_event, sale_refusal, tier_availability

log = logging.getLogger(__name__)
Status = WaitlistEntry.Status

# Set while `promote` reserves an offer, so the ticket offer lets that one reservation past `guard`.
_offering: ContextVar[str] = ContextVar("waitlist_offering", default="")
ON_DEMAND_SECONDS = 1  # how often a refused buyer may trigger a promotion of a tier (`guard`)


# --- reads ----------------------------------------------------------------------------------------
# (how many wait per tier: events.selectors.waiting_counts)

def position_of(entry: WaitlistEntry) -> int | None:
    """1 for the first person waiting; None once the entry is no longer waiting."""
    if entry.status != Status.WAITING:
        return None
    return WaitlistEntry.objects.filter(tier_id=entry.tier_id, status=Status.WAITING,
                                        number__lt=entry.number).count() + 1


def display_status(entry: WaitlistEntry, now=None) -> str:
    """The entry's status as its owner sees it now: an offer past its time is expired by the clock,
    even before the beat task has written it down."""
    now = now or timezone.now()
    if entry.status == Status.OFFERED and entry.offer_expires_at and entry.offer_expires_at <= now:
        order_status = entry.order.status if entry.order_id else None
        if order_status not in Order.SETTLED:
            return Status.EXPIRED
    return entry.status


def entries_of(user):
    return (WaitlistEntry.objects.filter(user=user).select_related("tier", "tier__event", "order")
            .order_by("-created_at"))


def entry_for(user, tier_id: str) -> WaitlistEntry | None:
    """The person's active entry for a tier (waiting or offered), if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (WaitlistEntry.objects.filter(user=user, tier_id=tier_id, status__in=WaitlistEntry.ACTIVE)
            .select_related("order").first())


def list_for_event(event: Event):
    """The event's waiting lists for its team: every entry, in line order per tier."""
    return (WaitlistEntry.objects.filter(tier__event=event).select_related("tier", "user", "order")
            .order_by("tier__position", "tier_id", "number"))


# --- the guard the ticket offer calls ---------------------------------------------------------------

def guard(tier: TicketTier, buyer) -> None:
    """Raise sold_out for anyone but the line while people wait for this tier.

    Called by events.services.tickets.ticket_offer (and the bundle offer) before commerce reserves. First it
    gives the line any tickets that have come back (on demand, so nobody waits for the beat task).
    """
    if _offering.get():
        return
    if not has_waiting(tier.pk):
        return
    if _promotion_due(tier.pk):
        try:
            promote(tier.pk)
        except ServiceError:  # promotion is a courtesy here; the beat task retries it
            log.warning("on-demand waiting-list promotion of %s failed", tier.pk, exc_info=True)
    if has_waiting(tier.pk):
        raise Conflict(_("Sold out — tickets that come back go to the waiting list first. Join it to get a place "
                       "in line."), code="sold_out", available=0, waitlist=True)


def _promotion_due(tier_id: str) -> bool:
    """At most one on-demand promotion per tier every ON_DEMAND_SECONDS: in a rush with people waiting,
    every refused buyer used to promote, each taking the tier's row lock in turn. Tickets that come back
    by a write (cancel, refund, more quantity) are promoted by that write; a hold lapsing by the clock
    reaches the line within a second of the next buyer asking (or by the beat task)."""
    try:
        return bool(cache.add(f"waitlist:promoted:{tier_id}", 1, timeout=ON_DEMAND_SECONDS))
    except Exception:  # Redis trouble: promote, as before
        log.warning("waiting-list promotion throttle unreadable", exc_info=True)
        return True


# --- join and leave -------------------------------------------------------------------------------

def _check_quantity(quantity, tier: TicketTier) -> int:
    if quantity is None:
        return 1
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= tier.max_per_order:
        raise Invalid(
            _("Ask for 1 to %(max_per_order)s tickets.") % {"max_per_order": tier.max_per_order},
            fields={
                "quantity": [
                    _("Use a whole number from 1 to %(max_per_order)s.") % {"max_per_order": tier.max_per_order}
                ]
            },
        )
    return quantity


def _visible_tier(tier_id: str, user) -> TicketTier:
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id).first() if isinstance(tier_id, str) else None
    if tier is None or tier.event.status == Event.Status.DRAFT or not may_see_event(user, tier.event):
        raise NotFound(_("No such ticket tier."))
    return tier


def join(*, tier_id: str, user, quantity=None) -> tuple[WaitlistEntry, bool]:
    """Put `user` in line for `quantity` tickets of a sold-out tier. Returns (entry, created).

    Joining twice returns the active entry already there (created False): a retried request must not
    cost anyone their place or give them two.
    """
    from memberships.selectors import perks_for

    tier = _visible_tier(tier_id, user)
    quantity = _check_quantity(quantity, tier)
    with transaction.atomic():
        tier = TicketTier.objects.select_for_update().select_related("event").get(pk=tier.pk)
        existing = WaitlistEntry.objects.filter(tier=tier, user=user, status__in=WaitlistEntry.ACTIVE).first()
        if existing is not None:
            return existing, False
        now = timezone.now()
        if tier.event.status == Event.Status.CANCELLED or tier.event.ends_at <= now or \
                (tier.sales_end is not None and tier.sales_end <= now):
            raise Conflict(_("These tickets are no longer on sale."), code="not_on_sale")
        refusal = sale_refusal(tier, perks_for(user, tier.event.creator_id), now)
        if refusal and refusal[0] == "members_only":
            raise Conflict(refusal[1], code="members_only")
        waiting = WaitlistEntry.objects.filter(tier=tier, status=Status.WAITING).exists()
        if not waiting and refusal is None and tier_availability([tier], now)[tier.pk] > 0:
            raise Conflict(_("This tier is not sold out: you can buy tickets now."), code="not_sold_out")
        if not waiting and refusal is not None:  # sales have not started: nothing to wait for yet
            raise Conflict(refusal[1], code=refusal[0])
        number = (WaitlistEntry.objects.filter(tier=tier).aggregate(n=Max("number"))["n"] or 0) + 1
        entry = WaitlistEntry.objects.create(tier=tier, user=user, quantity=quantity, number=number)
    # Tickets may have come back meanwhile (a hold lapsed with nobody waiting yet): offer them now.
    transaction.on_commit(lambda: promote_quietly(tier.pk))
    return entry, True


def leave(*, entry_id: str, user) -> WaitlistEntry:
    """The owner leaves the line; a standing offer is given up (its order cancelled, passed on)."""
    from commerce import services as commerce

    with transaction.atomic():
        entry = (WaitlistEntry.objects.select_for_update().filter(pk=entry_id, user=user).first()
                 if isinstance(entry_id, str) and getattr(user, "is_authenticated", False) else None)
        if entry is None:
            raise NotFound(_("No such waiting-list entry."))
        if entry.status not in WaitlistEntry.ACTIVE:
            return entry
        order_id = entry.order_id if entry.status == Status.OFFERED else None
        _end(entry, Status.LEFT, "Left the waiting list.")
    if order_id:
        order = Order.objects.filter(pk=order_id).first()
        if order is not None and order.status in Order.OPEN:
            try:
                commerce.cancel(order_id, actor=user)
            except ServiceError:  # paid meanwhile: the tickets are theirs
                log.info("offer %s could not be cancelled on leaving", order_id, exc_info=True)
    transaction.on_commit(lambda: promote_quietly(entry.tier_id))
    return entry


def _end(entry: WaitlistEntry, status: str, note: str = "") -> None:
    entry.status = status
    entry.ended_at = timezone.now()
    if note:
        entry.note = note[:200]
    entry.save(update_fields=["status", "ended_at", "note"])


# --- offers -------------------------------------------------------------------------------------

def expire_offers(tier_id: str, now=None) -> int:
    """Offers past their time (or whose order was cancelled or expired) end; their places pass on."""
    now = now or timezone.now()
    n = 0
    due = (WaitlistEntry.objects.filter(tier_id=tier_id, status=Status.OFFERED)
           .filter(Q(offer_expires_at__lte=now) | Q(order__status__in=[Order.Status.CANCELLED, Order.Status.EXPIRED])
                   | Q(order__isnull=True)).values_list("pk", flat=True))
    for entry_id in list(due):
        with transaction.atomic():
            entry = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("order").get(pk=entry_id)
            if entry.status != Status.OFFERED:
                continue
            if entry.order_id and entry.order.status in Order.SETTLED:
                _end(entry, Status.BOUGHT)
                continue
            if entry.order_id and entry.order.status == Order.Status.AWAITING_PAYMENT \
                    and entry.order.expires_at > now:
                continue
            _end(entry, Status.EXPIRED, "The offer was not taken in time.")
            n += 1
    return n


def promote(tier_id: str) -> list[WaitlistEntry]:
    """Give tickets that have come back to the line, first come first served. Returns the new offers.

    Each offer is one reserve() under the tier's row lock, so two returns processed at the same
    time never offer the same tickets twice or skip anyone.
    """
    from commerce import services as commerce

    expire_offers(tier_id)
    offers = []
    while True:
        with transaction.atomic():
            tier = TicketTier.objects.select_for_update().filter(pk=tier_id).first()
            if tier is None:
                return offers
            entry = (WaitlistEntry.objects.select_for_update(of=("self",)).select_related("user")
                     .filter(tier=tier, status=Status.WAITING).order_by("number").first())
            if entry is None:
                return offers
            token = _offering.set(entry.pk)
            try:
                with transaction.atomic():
                    order = commerce.reserve(
                        requests=[commerce.LineRequest(TICKET_KIND, tier.pk, entry.quantity)], buyer=entry.user,
                        email=entry.user.email, hold_seconds=settings.WAITLIST_OFFER_SECONDS)
            except Conflict as exc:
                if exc.code == "sold_out":
                    return offers  # not enough back for the first in line yet: nobody jumps ahead
                # The tier can no longer be sold to them (sales ended, the show was cancelled…).
                _end(entry, Status.EXPIRED, f"No offer possible: {exc.detail}")
                continue
            except NotFound:
                _end(entry, Status.EXPIRED, "The tier is gone.")
                continue
            finally:
                _offering.reset(token)
            entry.status = Status.OFFERED
            entry.order = order
            entry.offered_at = timezone.now()
            entry.offer_expires_at = order.expires_at
            entry.save(update_fields=["status", "order", "offered_at", "offer_expires_at"])
            transaction.on_commit(lambda pk=entry.pk: _send_offer_email(pk))
            offers.append(entry)


def promote_quietly(tier_id: str) -> None:
    """promote() for hooks that run after a commit: a failure is logged, and the beat task retries."""
    try:
        promote(tier_id)
    except Exception:  # noqa: BLE001 - never undo what triggered it; the beat task tries again
        log.exception("waiting-list promotion of %s failed", tier_id)


def promote_due() -> int:
    """Beat task body: every tier with a line or a standing offer gets its offers expired and made."""
    tier_ids = set(WaitlistEntry.objects.filter(status__in=WaitlistEntry.ACTIVE).values_list("tier_id", flat=True))
    made = 0
    for tier_id in sorted(tier_ids):
        try:
            made += len(promote(tier_id))
        except Exception:  # noqa: BLE001 - one bad tier must not stop the others
            log.exception("waiting-list promotion of %s failed", tier_id)
    return made


def _send_offer_email(entry_id: str) -> None:
    entry = WaitlistEntry.objects.select_related("tier", "tier__event", "user", "order").filter(pk=entry_id).first()
    if entry is None or entry.status != Status.OFFERED:
        return
    event = entry.tier.event
    expires = timezone.localtime(entry.offer_expires_at, event.tz)
    context = {"tier_name": f"{entry.quantity} × {entry.tier.name}",
               "expires_at": f"{expires:%d %b, %H:%M} ({event.timezone})",
               "url": settings.SITE_URL + entry.order.get_absolute_url()}
    # Through notifications: email and/or SMS as the person chose (an email that fails goes by SMS to
    # a confirmed phone), recorded, once per offer.
    notify(entry.user, "waitlist_offer", event, context, key=f"waitlist_offer:{entry.order_id}")


# --- hooks from commerce -----------------------------------------------------------------------------

def on_order_paid(sender, order, **kwargs) -> None:
    """order_paid receiver: an offer that was paid is bought."""
    WaitlistEntry.objects.filter(order=order, status__in=[Status.OFFERED, Status.EXPIRED]).update(
        status=Status.BOUGHT, ended_at=timezone.now())


def on_ticket_line_cancelled(line) -> None:
    """Ticket lines' on_cancelled: a declined offer leaves the line; the tickets go to the next person."""
    WaitlistEntry.objects.filter(order_id=line.order_id, status=Status.OFFERED).update(
        status=Status.LEFT, ended_at=timezone.now(), note="Declined the offer.")
    tickets_came_back(line.item_id)


def on_order_refunded(sender, order, **kwargs) -> None:
    """order_refunded receiver: refunded tickets go back to the waiting lines of their tiers."""
    tier_ids = set(order.lines.filter(kind=TICKET_KIND).values_list("item_id", flat=True))
    tier_ids |= set(_bundle_tiers(order))
    for tier_id in tier_ids:
        tickets_came_back(tier_id)


def _bundle_tiers(order) -> list[str]:
    bundle_ids = list(order.lines.filter(kind=BUNDLE_KIND).values_list("item_id", flat=True))
    if not bundle_ids:
        return []
    return list(BundleItem.objects.filter(bundle_id__in=bundle_ids, tier__isnull=False)
                .values_list("tier_id", flat=True))


def tickets_came_back(tier_id: str) -> None:
    """After the surrounding transaction commits, offer the tier's returned tickets to its line."""
    if WaitlistEntry.objects.filter(tier_id=tier_id, status=Status.WAITING).exists():
        transaction.on_commit(lambda: promote_quietly(tier_id))


def offer_seconds_left(entry: WaitlistEntry, now=None) -> int:
    if entry.offer_expires_at is None:
        return 0
    return max(0, int((entry.offer_expires_at - (now or timezone.now())) / timedelta(seconds=1)))
