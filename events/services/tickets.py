"""Tickets as something commerce can sell: the offer, issuing and voiding, and the signed QR payload."""
import logging
import re

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from commerce import holdlimits, inventory
from commerce.models import OrderLine
from commerce.sellables import Offer
from microstage import realtime
from microstage.errors import Conflict, Invalid, NotFound, ServiceError
from microstage.signing import read_token, sign_token

from .. import consent, waitlist
from ..models import TICKET_KIND, Event, Ticket, TicketTier
from ..selectors import event_id_of_tier, member_price, sale_refusal, tier_pools, tier_with_event

log = logging.getLogger(__name__)
QR_PREFIX = "MST1"
TICKET_OPTIONS = ("pass", "code")
OPTION_VALUE_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # pass ids and codes; odd bytes never reach a query


def _ticket_options(options: dict | None) -> dict:
    options = options or {}
    unknown = set(options) - set(TICKET_OPTIONS)
    if unknown:
        raise Invalid(_("Unknown payment options."), fields={k: [_("Unknown option.")] for k in sorted(unknown)})
    if len(options) > 1:
        raise Invalid(_("Use a pass or a code, not both."), fields={"code": [_("Use a pass or a code, not both.")]})
    for key, value in options.items():
        if not isinstance(value, str) or not OPTION_VALUE_RE.fullmatch(value.strip()):
            raise Invalid(
                _("That %(key)s does not look right.") % {"key": key},
                fields={key: [_("Enter the id shown on your account.")]},
            )
    return {k: v.strip() for k, v in options.items()}


def ticket_offer(tier_id: str, quantity: int, buyer, options: dict | None = None) -> Offer:
    """Price and eligibility of `quantity` tickets for this buyer: member perks (early access, members-only
    tiers and events, discount), a pass paying instead of money ({"pass": id}) or a reward's discount code
    ({"code": code}; the better of it and the member discount applies, never both)."""
    from memberships import promos
    from memberships import services as memberships
    from memberships.selectors import perks_for

    options = _ticket_options(options)
    tier = tier_with_event(tier_id)
    if tier is None or tier.event.status == Event.Status.DRAFT:
        raise NotFound(_("No such ticket tier."), code="not_found")
    event = tier.event
    perks = perks_for(buyer, event.creator_id)
    refusal = sale_refusal(tier, perks)  # a members-only event: `members_only` for anyone but members
    if refusal:
        raise Conflict(refusal[1], code=refusal[0])
    waitlist.guard(tier, buyer)  # while people wait, tickets that come back are theirs
    if quantity > tier.max_per_order:
        raise Conflict(
            _("At most %(max_per_order)s of these per order.") % {"max_per_order": tier.max_per_order},
            code="limit_exceeded",
            max_per_order=tier.max_per_order,
        )
    unit_price = member_price(tier.price, perks.discount_percent)
    description = f"{event.title} — {tier.name}"
    # Held with the order under reserve's locks: what one person may hold unpaid of the tier, and a
    # pass's credits or a code.
    limits = holdlimits.personal_hold_limit(inventory.tier_key(tier.pk), buyer, tier.max_per_order)
    if "pass" in options:
        memberships.pass_for_redemption(pass_id=options["pass"], user=buyer, creator_id=event.creator_id,
                                        quantity=quantity)
        unit_price, description = Decimal("0.00"), f"{description} (pass)"
        limits.update(memberships.pass_limit(options["pass"]))
    elif "code" in options and (promo := promos.find(event.creator_id, options["code"])) is not None:
        promo_price = promos.price_with_code(promo, kind=promos.TICKET, item_id=tier.pk, price=tier.price,
                                             currency=tier.currency)
        if promo_price >= unit_price:
            raise Conflict(_("Your member price is already at least as good as this code's; reserve without it."),
                           code="code_not_needed")
        unit_price, description = promo_price, f"{description} (code {promo.code})"
        limits.update(promos.promo_limit(promo))  # its uses are held with the order, under the locks
    elif "code" in options:
        percent = memberships.code_discount(code=options["code"], user=buyer, creator_id=event.creator_id)
        if percent <= perks.discount_percent:
            raise Conflict(_("Your member discount (%(percent)s%%) is already at least this code's; keep the code "
                             "for another time and reserve without it.")
                           % {"percent": f"{perks.discount_percent.normalize():f}"},
                           code="code_not_needed")
        unit_price, description = member_price(tier.price, percent), f"{description} (code)"
        limits.update(memberships.code_limit(code=options["code"], user=buyer))
    return Offer(kind=TICKET_KIND, item_id=tier.pk, creator_id=event.creator_id, description=description,
                 unit_price=unit_price, currency=tier.currency, list_price=tier.price, pools=tier_pools(tier),
                 limits=limits)


def tier_group(tier_id: str) -> str:
    event_id = event_id_of_tier(tier_id)
    return realtime.event_group(event_id) if event_id else ""


def issue_tickets(line: OrderLine) -> list[Ticket]:
    """Called by commerce when a ticket line is paid; issuing twice for the same line does nothing."""
    existing = list(Ticket.objects.filter(order_line=line))
    if existing:
        return existing
    tier = TicketTier.objects.select_related("event").get(pk=line.item_id)
    order = line.order
    _spend_pass_or_code(line, order)
    tickets = Ticket.objects.bulk_create([
        Ticket(event=tier.event, tier=tier, order_line=line, holder_id=order.buyer_id, holder_email=order.email)
        for _ in range(line.quantity)])
    if consent.questions_of(tier.event):  # each holder gets the link to answer before the show
        consent.send_onboarding_later(tickets)
    return tickets


def _spend_pass_or_code(line: OrderLine, order) -> None:
    """A line paid with a pass takes its credits now; a discount code is marked used. When they are gone
    by now (spent on another order meanwhile) this raises Conflict: a zero-total checkout then fails
    and nothing is issued. An order the provider already took money for cannot fail here (a webhook
    would retry forever), so there the tickets are issued and the shortfall is logged for staff."""
    from memberships import services as memberships

    options = line.options or {}
    if not (options.get("pass") or options.get("code")):
        return
    try:
        with transaction.atomic():
            if options.get("pass"):
                memberships.use_pass_credits(pass_id=options["pass"], user=order.buyer, order_line_id=line.pk,
                                             credits=line.quantity)
            else:
                memberships.use_reward_code(code=options["code"], user=order.buyer, order=order)
    except ServiceError as exc:
        if order.payment_id is None:
            raise Conflict(
                _("%(detail)s Nothing was charged or issued; reserve again.") % {"detail": exc.detail}, code=exc.code
            ) from exc
        log.error("order %s line %s was paid but its %s could not be used: %s", order.pk, line.pk,
                  "pass" if options.get("pass") else "code", exc.detail)


def void_tickets(line: OrderLine, quantity: int) -> int:
    """Called by commerce on refund: void `quantity` of the line's valid tickets (unused ones first); a
    line paid with a pass gives its credits back."""
    ids = list(Ticket.objects.filter(order_line=line, status=Ticket.Status.VALID)
               .order_by("checked_in_at", "-created_at").values_list("pk", flat=True)[:quantity])
    holders = set(Ticket.objects.filter(pk__in=ids).values_list("holder_id", "event_id"))
    voided = Ticket.objects.filter(pk__in=ids).update(status=Ticket.Status.VOID)
    for holder_id, event_id in holders:  # their open chat sockets re-check (and close without a ticket)
        realtime.access_changed(holder_id, event_id)
    if (line.options or {}).get("pass"):
        from memberships.services import return_pass_credits

        return_pass_credits(order_line_id=line.pk, credits=quantity)
    return voided


def attach_guest_tickets(sender, order, user, **kwargs) -> None:
    """guest_order_claimed receiver: a guest's tickets follow the order into their new account."""
    Ticket.objects.filter(order_line__order=order, holder__isnull=True,
                          holder_email__iexact=order.email).update(holder=user)


# --- QR payloads ----------------------------------------------------------------------------

def qr_payload(ticket: Ticket) -> str:
    """Signed, compact and verifiable offline with the platform's public key."""
    return sign_token(QR_PREFIX, {"t": ticket.pk, "e": ticket.event_id, "v": ticket.version})


TICKET_ID_RE = re.compile(r"^tkt_[0-9a-z]{16}$")


def read_payload(payload: str) -> dict | None:
    claims = read_token(QR_PREFIX, payload)
    if not claims or not all(isinstance(claims.get(k), t) for k, t in (("t", str), ("e", str), ("v", int))):
        return None
    return claims
