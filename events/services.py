"""Writes for events: tickets as a sellable kind, issuing, voiding, transfer and door check-in."""
import logging
import re
from datetime import timedelta

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from commerce import holdlimits, sellables
from commerce import inventory
from commerce.models import OrderLine, variant_label
from commerce.sellables import Offer
from microstage.money import parse_amount
from microstage import currencies, overrides, realtime
from microstage.i18n import language_for_address
from microstage.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from microstage.signing import read_token, sign_token

from . import consent, waitlist
from .models import CheckIn, Drop, Event, Ticket, TicketTier, opens_room

log = logging.getLogger(__name__)
TICKET_KIND = "ticket"
QR_PREFIX = "MST1"


# --- events and tiers ----------------------------------------------------------------------

EVENT_FIELDS = ("title", "description", "starts_at", "ends_at", "timezone", "mode", "venue_name", "venue_address",
                "venue_lat", "language", "venue_lng", "venue_capacity", "visibility", "cover", "members_only")
TIER_FIELDS = ("name", "kind", "description", "price", "currency", "quantity", "max_per_order", "sales_start",
               "sales_end", "members_only_until", "perks", "position")


def _unique_event_slug(title: str, exclude_pk: str | None = None) -> str:
    root = slugify(title)[:70].strip("-") or "event"
    slug, n = root, 2
    while Event.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug = f"{root}-{n}"
        n += 1
    return slug


def _full_clean(obj, exclude=()) -> None:
    """Model validation as a service error: field messages for forms and the API alike."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        fields = {k if k != NON_FIELD_ERRORS else "non_field_errors": list(v) for k, v in exc.message_dict.items()}
        raise Invalid(next(iter(fields.values()))[0], fields=fields) from exc


def _cover(data: dict) -> None:
    """Re-encode an uploaded cover in `data` (the one image rule: microstage.uploads)."""
    cover = data.get("cover")
    if cover and not isinstance(cover, str):
        from django.core.exceptions import ValidationError as FormError

        from .forms import check_cover

        try:
            data["cover"] = check_cover(cover)
        except FormError as exc:
            raise Invalid(exc.messages[0], fields={"cover": exc.messages}) from exc


def _check_times(event: Event) -> None:
    if event.starts_at and event.ends_at and event.ends_at <= event.starts_at:
        raise Invalid(_("The event must end after it starts."), fields={"ends_at": [_("Must be after the start.")]})


@transaction.atomic
def create_event(*, creator, **data) -> Event:
    unknown = set(data) - set(EVENT_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in unknown})
    _cover(data)
    event = Event(creator=creator, **data)
    event.slug = _unique_event_slug(event.title or "")
    _full_clean(event, exclude=["slug"])
    _check_times(event)
    event.save()
    return event


@transaction.atomic
def update_event(event: Event, **data) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot be changed."), code="cancelled")
    _cover(data)
    for key, value in data.items():
        if key not in EVENT_FIELDS:
            raise Invalid(_("Unknown field."), fields={key: [_("Unknown field.")]})
        setattr(event, key, value)
    _full_clean(event)
    _check_times(event)
    if event.venue_capacity is not None:
        sold = inventory.sold(inventory.venue_key(event.pk))
        if event.venue_capacity < sold:
            raise Invalid(
                _("Capacity is below the tickets already sold."),
                fields={"venue_capacity": [_("At least %(sold)s tickets are sold for the room.") % {"sold": sold}]},
            )
    event.save()
    if event.status == Event.Status.PUBLISHED:
        transaction.on_commit(lambda: _render_preview_later(event.pk))
    return event


@transaction.atomic
def add_tier(event: Event, **data) -> TicketTier:
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot sell tickets."), code="cancelled")
    unknown = set(data) - set(TIER_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in unknown})
    data.setdefault("currency", settings.DEFAULT_CURRENCY)
    data["currency"] = (data["currency"] or settings.DEFAULT_CURRENCY).upper()
    tier = TicketTier(event=event, **data)
    _full_clean(tier)
    _check_tier(tier)
    tier.save()
    return tier


@transaction.atomic
def update_tier(tier: TicketTier, **data) -> TicketTier:
    tier = TicketTier.objects.select_for_update().select_related("event").get(pk=tier.pk)
    for key, value in data.items():
        if key not in TIER_FIELDS:
            raise Invalid(_("Unknown field."), fields={key: [_("Unknown field.")]})
        setattr(tier, key, value)
    tier.currency = tier.currency.upper()
    _full_clean(tier)
    _check_tier(tier)
    sold = inventory.sold(inventory.tier_key(tier.pk))
    if tier.quantity < sold:
        raise Invalid(_("Quantity is below the tickets already sold."),
                      fields={"quantity": [_("%(sold)s are already sold.") % {"sold": sold}]})
    tier.save()
    waitlist.tickets_came_back(tier.pk)  # more quantity goes to the waiting list first
    return tier


def _check_tier(tier: TicketTier) -> None:
    tier.currency = currencies.check_for_creator(tier.event.creator_id, tier.currency)
    if tier.sales_start and tier.sales_end and tier.sales_end <= tier.sales_start:
        raise Invalid(
            _("Sales must end after they start."), fields={"sales_end": [_("Must be after the sales start.")]}
        )
    if not isinstance(tier.perks, list) or not all(isinstance(p, str) and len(p) <= 120 for p in tier.perks) \
            or len(tier.perks) > 20:
        raise Invalid(_("Perks are a list of short texts."), fields={"perks": [_("Up to 20 texts of 120 characters.")]})
    if tier.price > Decimal("100000"):
        raise Invalid(_("That price is too high."), fields={"price": [_("At most 100000.")]})


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


@transaction.atomic
def publish(event: Event) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.PUBLISHED:
        return event
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot be published."), code="cancelled")
    missing = readiness(event)
    if missing:
        raise Conflict(_("The event is not ready to publish."), code="not_ready", reasons=missing)
    event.status = Event.Status.PUBLISHED
    event.published_at = timezone.now()
    event.save(update_fields=["status", "published_at", "updated_at"])
    transaction.on_commit(lambda: _render_preview_later(event.pk))
    return event


@transaction.atomic
def duplicate(event: Event) -> Event:
    """A draft copy with the same details and tiers, for the next show in a series."""
    copy = Event.objects.get(pk=event.pk)
    copy.pk = None
    copy.id = Event._meta.get_field("id").get_default()
    copy.title = f"{event.title} (copy)"[:140]
    copy.slug = _unique_event_slug(copy.title)
    copy.status = Event.Status.DRAFT
    copy.published_at = None
    copy.preview_image = ""
    copy._state.adding = True
    copy.save()
    TicketTier.objects.bulk_create([
        TicketTier(event=copy, **{f: getattr(t, f) for f in TIER_FIELDS}) for t in event.tiers.all()])
    return copy


def cancel_event(event: Event, *, reason: str = "") -> tuple[Event, int]:
    """Cancel the show: nothing more is sold, every paid order is refunded and every attendee told."""
    from commerce import services as commerce
    from commerce.models import Order

    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == Event.Status.CANCELLED:
            return event, 0
        event.status = Event.Status.CANCELLED
        event.save(update_fields=["status", "updated_at"])
    from django.db.models import Q

    from .bundles import BUNDLE_KIND
    from .models import BundleItem

    bundle_ids = list(BundleItem.objects.filter(tier__event=event).values_list("bundle_id", flat=True))
    order_ids = list(Order.objects.filter(
        Q(lines__kind=TICKET_KIND, lines__item_id__in=list(event.tiers.values_list("pk", flat=True)))
        | Q(lines__kind=BUNDLE_KIND, lines__item_id__in=bundle_ids),  # a bundle's show is part of what was bought
        status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED]).values_list("pk", flat=True).distinct())
    refunded = 0
    for order_id in order_ids:  # one transaction per order: a failure leaves the rest refunded
        try:
            note = _("%(title)s was cancelled. %(reason)s") % {"title": event.title, "reason": reason}
            commerce.refund(order_id, reason=note.strip())
            refunded += 1
        except ServiceError:
            log.exception("refund of %s for cancelled event %s failed", order_id, event.pk)
    emails = set(Ticket.objects.filter(event=event).values_list("holder_email", flat=True))
    context = {"event": event, "reason": reason}
    for email in sorted(emails):
        with translation.override(language_for_address(email, event)):
            subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + _("%(title)s is cancelled") % {"title": event.title}
            body = render_to_string("events/email/event_cancelled.txt", context)
        send_mail(subject, body, None, [email])
    return event, refunded


def _render_preview_later(event_id: str) -> None:
    from .tasks import render_preview_image

    try:
        render_preview_image.delay(event_id)
    except Exception:  # noqa: BLE001 - the preview is a nicety; the page falls back to the cover
        log.warning("could not queue preview image for %s", event_id, exc_info=True)


# --- tickets as something commerce can sell ---------------------------------------------------

def tier_pools(tier: TicketTier) -> dict[str, int]:
    """Inventory pools a ticket of this tier draws on: its own quantity, and the venue for the room."""
    pools = {inventory.tier_key(tier.pk): tier.quantity}
    event = tier.event
    if tier.in_person and event.venue_capacity is not None and event.mode != Event.Mode.ONLINE:
        pools[inventory.venue_key(event.pk)] = event.venue_capacity
    return pools


CENT = Decimal("0.01")
TICKET_OPTIONS = ("pass", "code")
OPTION_VALUE_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # pass ids and codes; odd bytes never reach a query


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
    tier = TicketTier.objects.select_related("event").filter(pk=tier_id).first()
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
    event_id = TicketTier.objects.filter(pk=tier_id).values_list("event_id", flat=True).first()
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


def register_sellables() -> None:
    sellables.register(TICKET_KIND, offer=ticket_offer, on_paid=issue_tickets, on_refunded=void_tickets,
                       on_cancelled=waitlist.on_ticket_line_cancelled, group=tier_group)


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


# Transfers (send, then the recipient claims from the emailed link) live in events/transfers.py.
from .transfers import claim_ticket, transfer_ticket  # noqa: E402, F401


# --- check-in -------------------------------------------------------------------------------

def _record(event, ticket, result, scanned_at, actor, device, offline) -> CheckIn:
    return CheckIn.objects.create(event=event, ticket=ticket, result=result, scanned_at=scanned_at,
                                  scanned_by=actor if actor and actor.is_authenticated else None,
                                  device=(device or "")[:80], offline=offline)


@transaction.atomic
def check_in(*, event: Event, payload: str, actor=None, device: str = "", scanned_at=None,
             offline: bool = False) -> tuple[str, Ticket | None, CheckIn]:
    """Admit a ticket once. Returns (result, ticket, record); the earliest scan in time wins.

    A scan that reaches us late (an offline device syncing) but happened earlier than the scan we
    admitted becomes the admission, and the other one becomes the duplicate.
    """
    now = timezone.now()
    scanned_at = scanned_at or now
    claims = read_payload(payload)
    if claims is None and isinstance(payload, str) and TICKET_ID_RE.match(payload.strip()):
        # The door typed the ticket id printed under the QR code: only the current ticket row counts.
        current = Ticket.objects.filter(pk=payload.strip(), event=event).values_list("version", flat=True).first()
        claims = {"t": payload.strip(), "e": event.pk, "v": current} if current else None
    ticket = None
    if claims and claims["e"] == event.pk:
        ticket = Ticket.objects.select_for_update().select_related("tier").filter(pk=claims["t"], event=event).first()
    if ticket is None or ticket.status != Ticket.Status.VALID or ticket.version != claims["v"]:
        return CheckIn.Result.INVALID, None, _record(event, None, CheckIn.Result.INVALID, scanned_at, actor,
                                                     device, offline)
    if not opens_room(event.mode, ticket.tier.kind):  # a genuine ticket, but for the stream: never the room
        return CheckIn.Result.STREAM_ONLY, ticket, _record(event, ticket, CheckIn.Result.STREAM_ONLY, scanned_at,
                                                           actor, device, offline)
    if ticket.checked_in_at and ticket.checked_in_at <= scanned_at:
        return CheckIn.Result.ALREADY, ticket, _record(event, ticket, CheckIn.Result.ALREADY, scanned_at, actor,
                                                       device, offline)
    if ticket.checked_in_at:  # this scan happened first: it takes the admission over
        ticket.checkins.filter(result=CheckIn.Result.OK).update(result=CheckIn.Result.ALREADY)
    ticket.checked_in_at = scanned_at
    ticket.save(update_fields=["checked_in_at"])
    record = _record(event, ticket, CheckIn.Result.OK, scanned_at, actor, device, offline)
    _award_attendance(event, ticket)
    realtime.publish(realtime.event_group(event.pk), {"type": "checkins", **checkin_counts(event)})
    return CheckIn.Result.OK, ticket, record


def _award_attendance(event: Event, ticket: Ticket) -> None:
    """Loyalty points for the holder of an admitted ticket, once per ticket (the ledger's key says so)."""
    from memberships.services import award_attendance

    if ticket.holder_id:
        award_attendance(user=ticket.holder, creator_id=event.creator_id, ticket_id=ticket.pk,
                         event_title=event.title)


SCAN_CLOCK_SKEW = timedelta(minutes=5)  # a door device's clock may be this far off
SCAN_BEFORE_BUNDLE = timedelta(minutes=15)  # ... and this far behind when it took the bundle


def issue_checkin_bundle(event: Event) -> dict:
    """The offline bundle for a door device; the first one issued dates the oldest offline scan."""
    from .selectors import checkin_bundle

    if event.checkin_bundle_issued_at is None:
        now = timezone.now()
        Event.objects.filter(pk=event.pk, checkin_bundle_issued_at__isnull=True).update(checkin_bundle_issued_at=now)
        event.checkin_bundle_issued_at = Event.objects.values_list("checkin_bundle_issued_at", flat=True).get(
            pk=event.pk)
    return checkin_bundle(event)


def sync_scans(*, event: Event, scans: list[dict], actor=None) -> list[dict]:
    """Apply scans queued by an offline device, oldest first (so the earliest scan admits), and
    report each scan's result in the order they were sent.

    A scan is dated between the first offline bundle's issue (the event's creation when none was
    taken) and now, give or take a device's clock: anything outside refuses the batch."""
    now = timezone.now()
    earliest = (event.checkin_bundle_issued_at or event.created_at) - SCAN_BEFORE_BUNDLE
    parsed = []
    for i, scan in enumerate(scans):
        scanned_at = scan["scanned_at"]
        if scanned_at > now + SCAN_CLOCK_SKEW:
            raise Invalid(_("A scan is dated in the future."), fields={f"scans[{i}].scanned_at": [_("In the future.")]})
        if scanned_at < earliest:
            raise Invalid(_("A scan is dated before the door had its offline bundle."),
                          fields={f"scans[{i}].scanned_at": [_("Before %(earliest)s: check the device's clock.")
                                                             % {"earliest": earliest.isoformat()}]})
        parsed.append((scanned_at, i, scan))
    results: list[dict | None] = [None] * len(scans)
    for scanned_at, i, scan in sorted(parsed, key=lambda p: (p[0], p[1])):
        result, ticket, _scan = check_in(event=event, payload=scan["payload"], actor=actor,
                                          device=scan.get("device", ""), scanned_at=scanned_at, offline=True)
        entry = {"payload": scan["payload"], "result": result, "ticket": ticket.pk if ticket else None}
        if result == CheckIn.Result.ALREADY:
            entry["first_scan_at"] = ticket.checked_in_at.isoformat()
        results[i] = entry
    return results


def checkin_counts(event: Event) -> dict:
    """The room at the door: tickets that open it (stream-only ones never count) and how many are in,
    against the venue's capacity (None when it has none)."""
    valid = Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
    room = valid.none() if event.mode == Event.Mode.ONLINE else valid.exclude(tier__kind=TicketTier.Kind.ONLINE)
    return {"checked_in": room.filter(checked_in_at__isnull=False).count(), "tickets": room.count(),
            "capacity": event.venue_capacity if event.mode != Event.Mode.ONLINE else None}


def require_door(user, event: Event) -> None:
    from microstage.models import DOOR_ROLES
    from microstage.selectors import role_of

    role = role_of(user, event.creator_id)
    if role is None:
        raise NotFound(_("No such event."))
    if role not in DOOR_ROLES:
        raise Forbidden(_("Only the door team can check tickets in."))


# --- drops ---------------------------------------------------------------------------------------
# A product offered in limited quantity during a window of an event. A drop line draws on two
# pools: "drop:<id>" (total = the drop's quantity) and the variant's own "variant:<id>" (total =
# its stock), so a drop never sells units the shop (or another drop) already sold. The quantity is
# checked against the variant's unsold stock when the drop is set up; the shared variant pool keeps
# that true afterwards, whatever else sells.

DROP_KIND = "drop"
DROP_FIELDS = ("product", "variant", "quantity", "price", "starts_at", "ends_at", "members_only_until",
               "per_person_limit")
DROP_MAX_PER_PERSON = 100
DROP_MAX_PRICE = Decimal("100000")


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


def _require_event_editor(actor, event: Event) -> None:
    if actor is None:
        return
    from microstage.models import EDIT_ROLES
    from microstage.selectors import creator_for_team

    creator_for_team(actor, event.creator_id, roles=EDIT_ROLES)


def _drop_product(event: Event, product, variant):
    """The product (of the event's creator: anyone else's is "not found") and the variant a drop sells."""
    from commerce.models import Product, ProductVariant

    if not isinstance(product, Product):
        product = Product.objects.filter(pk=str(product or "")[:40]).first()
    if product is None or product.creator_id != event.creator_id:
        raise NotFound(_("No such product."))
    if variant is not None and not isinstance(variant, ProductVariant):
        variant = ProductVariant.objects.filter(pk=str(variant)[:40], product=product).first() if variant else None
        if variant is None:
            raise Invalid(_("No such variant of this product."), fields={"variant": [_("Choose one of its variants.")]})
    if variant is not None and variant.product_id != product.pk:
        raise Invalid(_("No such variant of this product."), fields={"variant": [_("Choose one of its variants.")]})
    if variant is None and product.variants.count() > 1:
        raise Invalid(_("Choose which variant drops."), fields={"variant": [_("This product has several variants.")]})
    return product, variant


def _check_drop(drop: Drop, variant) -> None:
    event = drop.event
    if isinstance(drop.quantity, bool) or not isinstance(drop.quantity, int) or drop.quantity < 1:
        raise Invalid(_("A drop needs at least one item."), fields={"quantity": [_("Use a whole number from 1.")]})
    if drop.price is not None:
        drop.price = parse_amount(drop.price, field="price", maximum=DROP_MAX_PRICE)
    limit = drop.per_person_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= DROP_MAX_PER_PERSON:
        raise Invalid(_("The per-person limit runs from 1 to 100."), fields={"per_person_limit": [_("Use 1 to 100.")]})
    if not drop.starts_at or not drop.ends_at or drop.ends_at <= drop.starts_at:
        raise Invalid(_("The drop must end after it starts."), fields={"ends_at": [_("Must be after the start.")]})
    if drop.ends_at <= event.starts_at or drop.starts_at >= event.ends_at:
        raise Invalid(_("A drop happens during its event."),
                      fields={"starts_at": [_("The window must overlap the event's time.")]})
    mou = drop.members_only_until
    if mou is not None and not drop.starts_at <= mou <= drop.ends_at:
        raise Invalid(_("Members first ends inside the drop's window."),
                      fields={"members_only_until": [_("Must fall between the drop's start and end.")]})
    if variant is not None:
        key = inventory.variant_key(variant.pk)
        left = inventory.availability_by_key([key]).get(key, variant.stock)
        # Units this drop already sold or holds are taken from the variant's count too: they stay its own.
        taken = inventory.taken(inventory.drop_key(drop.pk)) if drop.pk else 0
        ceiling = left + taken
        if drop.quantity > ceiling:
            raise Invalid(
                _("More than the stock left."),
                fields={
                    "quantity": [
                        _("Only %(ceiling)s of %(variant)s are left.") % {"ceiling": ceiling, "variant": variant}
                    ]
                },
            )


def _announce_drop(drop: Drop) -> None:
    """Tell the event's watchers the drop's count once this change commits (its pools may not exist yet:
    their totals stand in)."""
    from commerce.selectors import availability

    pools = drop_pools(drop)
    group, item = realtime.event_group(drop.event_id), drop.pk
    transaction.on_commit(lambda: realtime.publish_latest(group, f"stock:{item}", lambda: {
        "type": "stock", "item": item, "available": availability(list(pools), pools)}))


@transaction.atomic
def create_drop(event: Event, *, actor=None, **data) -> Drop:
    """Offer a product of the event's creator during (part of) the event, in limited quantity."""
    _require_event_editor(actor, event)
    unknown = set(data) - set(DROP_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    if event.status == Event.Status.CANCELLED:
        raise Conflict(_("A cancelled event cannot have drops."), code="cancelled")
    product, variant = _drop_product(event, data.pop("product", None), data.pop("variant", None))
    data.setdefault("per_person_limit", 2)
    drop = Drop(event=event, product=product, variant=variant, **data)
    _check_drop(drop, variant or drop_variant(drop))
    drop.save()
    _announce_drop(drop)
    return drop


@transaction.atomic
def update_drop(drop: Drop, *, actor=None, **data) -> Drop:
    drop = (Drop.objects.select_for_update(of=("self",)).select_related("event", "product", "variant")
            .get(pk=drop.pk))
    _require_event_editor(actor, drop.event)
    unknown = set(data) - set(DROP_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    if "product" in data or "variant" in data:
        drop.product, drop.variant = _drop_product(drop.event, data.pop("product", drop.product),
                                                   data.pop("variant", drop.variant))
    for key, value in data.items():
        setattr(drop, key, value)
    _check_drop(drop, drop_variant(drop))
    inventory.resize(inventory.drop_key(drop.pk), drop.quantity, detail="Quantity is below what is already sold.",
                     sold_message="{sold} are sold.")
    drop.save()
    _announce_drop(drop)
    return drop


@transaction.atomic
def start_drop_now(drop: Drop, *, actor=None) -> Drop:
    """From the control room: open the drop at once (until its end, or the event's end if that passed)."""
    drop = Drop.objects.select_for_update(of=("self",)).select_related("event", "product").get(pk=drop.pk)
    _require_event_editor(actor, drop.event)
    if drop.event.status != Event.Status.PUBLISHED:
        raise Conflict(_("Publish the event before starting a drop."), code="not_published")
    now = timezone.now()
    drop.stopped_at = None
    if drop.starts_at > now:
        drop.starts_at = now
    if drop.ends_at <= now:
        drop.ends_at = max(drop.event.ends_at, now + timedelta(minutes=30))
    drop.save(update_fields=["stopped_at", "starts_at", "ends_at"])
    _announce_drop(drop)
    transaction.on_commit(_send_notify_me)  # those who asked hear it now, not at the next beat
    return drop


def _send_notify_me() -> None:
    from .notices import send_due

    try:
        send_due()
    except Exception:  # noqa: BLE001 - the beat task sends them within the minute anyway
        log.warning("notify-me after a drop start failed", exc_info=True)


@transaction.atomic
def stop_drop(drop: Drop, *, actor=None) -> Drop:
    """From the control room: nothing more sells from now on (orders already reserved may still pay)."""
    drop = Drop.objects.select_for_update(of=("self",)).select_related("event").get(pk=drop.pk)
    _require_event_editor(actor, drop.event)
    if drop.stopped_at is None:
        drop.stopped_at = timezone.now()
        drop.save(update_fields=["stopped_at"])
        _announce_drop(drop)
    return drop


def _drop_units_of(buyer, drop: Drop) -> int:
    """What this buyer already has of the drop: paid lines (less refunds) and open, unexpired reservations."""
    from django.db.models import F, Q, Sum

    from commerce.models import Order

    if buyer is None or not getattr(buyer, "is_authenticated", False):
        return 0
    now = timezone.now()
    lines = OrderLine.objects.filter(kind=DROP_KIND, item_id=drop.pk, order__buyer=buyer).filter(
        Q(order__status__in=Order.SETTLED) | Q(order__status__in=Order.OPEN, order__expires_at__gt=now))
    return lines.aggregate(n=Sum(F("quantity") - F("refunded_quantity")))["n"] or 0


def drop_offer(drop_id: str, quantity: int, buyer) -> Offer:
    """Price and eligibility of `quantity` items of a drop: its window (or stopped), members first,
    the per-person limit; the price is the drop's, else the variant's (or product's)."""
    from memberships.selectors import perks_for

    drop = Drop.objects.select_related("event", "product", "variant").filter(pk=drop_id).first()
    if drop is None or drop.event.status == Event.Status.DRAFT:
        raise NotFound(_("No such drop."), code="not_found")
    event = drop.event
    perks = perks_for(buyer, event.creator_id)
    if event.members_only and not perks.members_only_events:
        raise Conflict(_("This show is for members only."), code="members_only")
    now = timezone.now()
    if not drop_on_sale(drop, now):
        raise Conflict(_("This drop is not on sale right now."), code="not_on_sale")
    if drop.members_only_until is not None and drop.members_only_until > now and not perks.is_member:
        raise Conflict(_("Members get this drop first; it opens to everyone soon."), code="members_only")
    had = _drop_units_of(buyer, drop)
    if had + quantity > drop.per_person_limit:
        raise Conflict((_("At most %(limit)s per person (you already have %(had)s).") if had
                        else _("At most %(limit)s per person.")) % {"limit": drop.per_person_limit, "had": had},
                       code="limit_exceeded",
                       per_person_limit=drop.per_person_limit)
    variant = drop_variant(drop)
    if variant is None:
        raise Conflict(_("This drop is not on sale right now."), code="not_on_sale")
    price = drop.price if drop.price is not None else variant.unit_price
    price = overrides.price("drop", drop.pk, price)  # an experiment's variant price, if one runs
    name = variant_label(drop.product.name, variant.name)
    # The per-person limit is also a personal pool, so two simultaneous orders by one buyer cannot
    # get past it (the count above runs before reserve's locks).
    limits = ({f"{sellables.LIMIT_PREFIX}{inventory.drop_key(drop.pk)}:{buyer.pk}": drop.per_person_limit}
              if getattr(buyer, "is_authenticated", False) else {})
    from commerce.services import merch_price  # a ticket's show-time merch discount (events/perks.py)

    return Offer(kind=DROP_KIND, item_id=drop.pk, creator_id=event.creator_id, description=f"{name} (drop)",
                 unit_price=merch_price(price, buyer, event.creator_id), currency=drop.product.currency,
                 list_price=price,
                 pools=drop_pools(drop, variant), limits=limits)


def drop_group(drop_id: str) -> str:
    event_id = Drop.objects.filter(pk=drop_id).values_list("event_id", flat=True).first()
    return realtime.event_group(event_id) if event_id else ""


def drop_product_of_line(line: OrderLine):
    drop = Drop.objects.select_related("product").filter(pk=line.item_id).first()
    return drop.product if drop else None


def register_drop_sellable() -> None:
    # Paid physical items are fulfilled elsewhere (shipping, pickup); digital ones unlock downloads
    # through commerce; refunds and cancellations give the units back through commerce's pools.
    from commerce.services import register_download_resolver

    sellables.register(DROP_KIND, offer=drop_offer, group=drop_group)
    register_download_resolver(DROP_KIND, drop_product_of_line)
