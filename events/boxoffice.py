"""The box office: walk-up ticket sales at the door, paid in cash or on the buyer's phone by QR.

A walk-up sale is an ordinary order through commerce's reserve primitive (same tier stock, same rules as
online, a promo code if given), so the room is never oversold. Cash is settled at once; a QR sale is paid
on the buyer's phone through the provider's hosted page. Either way, once paid the walk-up's tickets are
checked in at once: they are standing at the door.
"""
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from commerce import services as commerce
from commerce.models import Order
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import DOOR_ROLES

from .models import CheckIn, Event, Ticket, TicketTier
from .permissions import door_only, require_event_role
from .models import TICKET_KIND
from .services.checkin import check_in
from .services.tickets import qr_payload

CASH = "cash"
QR = "qr"
PAYMENTS = (CASH, QR)
DEVICE = "box office"
MAX_WALKUP = 10


@dataclass
class WalkUp:
    order: Order
    tickets: list[Ticket]
    pay_url: str = ""

    @property
    def admitted(self) -> bool:
        return bool(self.tickets) and all(t.checked_in_at for t in self.tickets)


def till_tiers(creator_id: str, now=None) -> list[TicketTier]:
    """Room tiers of the creator's published shows not over yet, soonest first (what the till can sell)."""
    from django.utils import timezone

    now = now or timezone.now()
    tiers = TicketTier.objects.filter(event__creator_id=creator_id, event__status=Event.Status.PUBLISHED,
                                      event__ends_at__gt=now).select_related("event") \
        .order_by("event__starts_at", "position", "price")
    return [t for t in tiers if t.in_person]


def event_of_tier(creator_id: str, tier_id) -> Event | None:
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id, event__creator_id=creator_id).first() \
        if isinstance(tier_id, str) else None
    return tier.event if tier else None


def door_tiers(event: Event) -> list[TicketTier]:
    """Tiers a walk-up can buy at the door: the room's tiers (a stream-only ticket never opens the room)."""
    return [t for t in event.tiers.order_by("position", "price") if t.in_person]


def sell(*, event: Event, actor, tier_id, quantity, payment: str, email: str = "", code: str = "",
         admit: bool = True) -> WalkUp:
    """Ring up a walk-up sale (the door team, or SYSTEM). Cash: paid (and at the door, admitted)
    now. QR: the order and its payment link for the buyer's phone; `refresh` admits once it is paid.
    The pop-up till sells with admit=False: its buyers are not at the door yet."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    errors = {}
    tier = event.tiers.filter(pk=tier_id).first() if isinstance(tier_id, str) else None
    if tier is None or not tier.in_person:
        errors["tier"] = [_("Choose a ticket for the room.")]
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        quantity = 0
    if isinstance(quantity, bool) or not 1 <= quantity <= MAX_WALKUP:
        errors["quantity"] = [f"Sell 1 to {MAX_WALKUP} tickets at a time."]
    if payment not in PAYMENTS:
        errors["payment"] = [_("Choose cash or the buyer's phone.")]
    email = (email or "").strip()
    code = (code or "").strip()
    if errors:
        raise Invalid(_("Please fix the sale."), fields=errors)
    options = (("code", code),) if code else ()
    # A walk-up who gives no email gets the tickets on the seller's receipt copy (as at the till).
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, quantity, options)],
                             email=email or getattr(actor, "email", ""))
    if payment == CASH or order.total == 0:
        try:
            commerce.pay_in_person(order.pk, actor=actor)
        except Exception:
            commerce.cancel(order.pk, actor=actor)
            raise
        return _admit(event, order.pk, actor) if admit else _issued(event, order.pk)
    done = settings.SITE_URL + "/"
    url = commerce.checkout(order.pk, success_url=done, cancel_url=done).checkout_url
    if url.startswith("/"):  # a phone scanning the QR needs the whole address
        url = settings.SITE_URL + url
    return WalkUp(order=Order.objects.get(pk=order.pk), tickets=[], pay_url=url)


def _admit(event: Event, order_id: str, actor) -> WalkUp:
    tickets = list(Ticket.objects.filter(order_line__order_id=order_id, event=event).order_by("created_at"))
    for ticket in tickets:
        if ticket.checked_in_at is None and ticket.status == Ticket.Status.VALID:
            with transaction.atomic():
                result, _ticket, _scan = check_in(event=event, payload=qr_payload(ticket), actor=actor, device=DEVICE)
            if result != CheckIn.Result.OK:
                raise Conflict(_("A ticket of this sale could not be admitted."), code="not_admitted")
    tickets = list(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).select_related("tier"))
    return WalkUp(order=Order.objects.get(pk=order_id), tickets=tickets)


def _issued(event: Event, order_id: str) -> WalkUp:
    tickets = list(Ticket.objects.filter(order_line__order_id=order_id, event=event).select_related("tier"))
    return WalkUp(order=Order.objects.get(pk=order_id), tickets=tickets)


def refresh(*, event: Event, actor, order_id: str, admit: bool = True) -> WalkUp:
    """Where a QR walk-up sale stands: paid → its tickets are admitted now; else still waiting (or lapsed)."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    order = Order.objects.filter(pk=order_id, creator_id=event.creator_id,
                                 lines__kind=TICKET_KIND, lines__item_id__in=event.tiers.values("pk")).first()
    if order is None:
        raise NotFound(_("No such sale."))
    if order.status in Order.SETTLED:
        return _admit(event, order.pk, actor) if admit else _issued(event, order.pk)
    return WalkUp(order=order, tickets=[])


def cancel(*, event: Event, actor, order_id: str) -> Order:
    """The walk-up left before paying by QR: the tickets go back on sale."""
    require_event_role(actor, event, DOOR_ROLES, forbidden=door_only())
    order = Order.objects.filter(pk=order_id, creator_id=event.creator_id,
                                 lines__item_id__in=event.tiers.values("pk")).first()
    if order is None:
        raise NotFound(_("No such sale."))
    if order.status not in Order.OPEN:
        raise Conflict(_("This sale is no longer open."), code="not_open")
    return commerce.cancel(order.pk, actor=actor)
