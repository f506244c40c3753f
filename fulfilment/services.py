"""Fulfilment: shipping batches per settled group-buy, shipments, pickup windows with a signed pickup QR,
and what fulfilling each order cost — every write and rule about them, once.

- A settled group-buy that reached a price gets one ShippingBatch (`create_batch_for_group_buy`,
  idempotent: the batch is the group-buy's one-to-one row, made under the group-buy's lock). It is
  made on `commerce.signals.group_buy_settled`, which `groupbuys.finish_settlement` sends inside the
  transaction that marks the group-buy SETTLED, so a batch exists exactly when the settlement
  committed — no sweeper, nothing lost on a crash.
- An order is physical when one of its active lines is a physical product; only those can be
  shipped or collected. Choosing pickup removes an unshipped shipment; giving an address removes an
  uncollected pickup (and puts the order back into its group-buy's batch).
- Marking shipped happens once per shipment (the email goes out on that transition only).
- Costs are append-only rows. A batch's postage is split evenly in cents; the cents that do not
  divide go one each to the first orders (by order id), so the parts always add up to the total.
- The pickup QR is `MSPICK.<claims>.<sig>` signed with the platform key; it names the order only.
  Collecting happens once, under the pickup's row lock; a second scan reports when it happened.
"""
import logging
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from microstage.i18n import language_for
from microstage.money import parse_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES
from microstage.permissions import require_role
from microstage.selectors import role_of
from microstage.signing import read_token, sign_token

from commerce import gate, sellables
from commerce.models import Order
from catalog.models import Product
from groupbuys.models import GroupBuy, GroupBuyParticipant

from .models import FulfilmentCost, Pickup, PickupWindow, Shipment, ShippingBatch

log = logging.getLogger(__name__)
PICKUP_PREFIX = "MSPICK"
FULFILLABLE = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)
MAX_COST = Decimal("100000")
CENT = Decimal("0.01")
MAX_ADDRESS = 1000
MAX_CARRIER = 40
MAX_TRACKING = 80
MAX_PLACE = 160


# --- what an order is ----------------------------------------------------------------------------

def _line_product(line) -> Product | None:
    if line.kind == "group_buy":
        gb = GroupBuy.objects.select_related("product").filter(pk=line.item_id).first()
        return gb.product if gb else None
    return sellables.product_of_line(line)


def is_physical(order: Order) -> bool:
    """True when an active line of the order is a physical product (something to ship or collect)."""
    for line in order.lines.all():
        product = _line_product(line) if line.active_quantity > 0 else None
        if product is not None and product.kind == Product.Kind.PHYSICAL:
            return True
    return False


def _team_order(actor, order_id, roles=EDIT_ROLES, lock=False) -> Order:
    qs = Order.objects.select_for_update(of=("self",)) if lock else Order.objects
    order = qs.filter(pk=order_id).first() if isinstance(order_id, str) else None
    if order is None:
        raise NotFound(_("No such order."))
    require_role(actor, order.creator_id, roles)
    return order


def _buyer_order(user, order_id) -> Order:
    order = (Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
             if isinstance(order_id, str) else None)
    if order is None or not getattr(user, "is_authenticated", False) or order.buyer_id != user.pk:
        raise NotFound(_("No such order."))
    return order


def _require_fulfillable(order: Order) -> None:
    if order.status not in FULFILLABLE:
        raise Conflict(_("Only paid orders are shipped or collected."), code="not_paid")

    if not is_physical(order):
        raise Conflict(_("Nothing in this order is shipped or collected."), code="not_physical")


def _require_not_held(order: Order) -> None:
    """Risky orders wait for a staff decision (risk app, commerce/gate.py) before anything leaves the creator."""
    if gate.is_held(order):
        raise Conflict(_("This order is waiting for a risk review; hand it over once staff approve it."),
                       code="held_for_review")


_FIELD_NAMES = {"address": gettext_lazy("address"), "carrier": gettext_lazy("carrier"),
                "tracking_number": gettext_lazy("tracking number"), "place": gettext_lazy("place"),
                "event_id": gettext_lazy("event id")}


def _text(value, field: str, max_length: int, required: bool = True) -> str:
    text = " ".join(str(value or "").split()) if field != "address" else str(value or "").strip()
    name = _FIELD_NAMES.get(field) or field.replace("_", " ")
    if required and not text:
        raise Invalid(_("Enter the %(field)s.") % {"field": name}, fields={field: [_("This field is required.")]})
    if len(text) > max_length:
        raise Invalid(_("The %(field)s is too long.") % {"field": name},
                      fields={field: [_("At most %(count)d characters.") % {"count": max_length}]})
    return text


def _money(value, field: str = "amount") -> Decimal:
    return parse_amount(value, field=field, maximum=MAX_COST)


# --- shipping batches ----------------------------------------------------------------------------

def on_group_buy_settled(sender=None, *, group_buy, **kwargs) -> None:
    """commerce.signals.group_buy_settled receiver, inside the transaction that marks it SETTLED."""
    create_batch_for_group_buy(group_buy.pk)


def create_batch_for_group_buy(group_buy_id: str) -> ShippingBatch | None:
    """The shipping batch of a settled group-buy that reached a price, with one shipment per captured,
    paid, physical order; None when there is nothing to ship. Safe to call any number of times."""
    with transaction.atomic():
        gb = GroupBuy.objects.select_for_update().select_related("product").filter(pk=group_buy_id).first()
        if gb is None or gb.status != GroupBuy.Status.SETTLED or gb.final_price is None \
                or gb.product.kind != Product.Kind.PHYSICAL:
            return None
        batch, _ = ShippingBatch.objects.get_or_create(group_buy=gb, defaults={"creator_id": gb.creator_id})
        order_ids = (GroupBuyParticipant.objects.filter(group_buy=gb, status=GroupBuyParticipant.Status.CAPTURED,
                                                        order__status__in=FULFILLABLE)
                     .exclude(order__pickup__isnull=False).values_list("order_id", flat=True))
        have = set(Shipment.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True))
        Shipment.objects.bulk_create([Shipment(order_id=oid, batch=batch) for oid in order_ids if oid not in have],
                                     ignore_conflicts=True)
        return batch


def batches_for(creator):
    return (ShippingBatch.objects.filter(creator=creator).select_related("group_buy")
            .order_by("-created_at"))


@dataclass(frozen=True)
class PackingRow:
    order_id: str
    buyer: str
    items: str
    address: str
    carrier: str
    tracking_number: str


def packing_rows(batch: ShippingBatch):
    """One row per order of the batch: order, buyer email, "qty × item" per active line, address."""
    shipments = (batch.shipments.select_related("order").prefetch_related("order__lines")
                 .order_by("order_id"))
    for s in shipments.iterator(chunk_size=500):
        items = "; ".join(f"{ln.active_quantity} × {ln.description}" for ln in s.order.lines.all()
                          if ln.active_quantity > 0)
        yield PackingRow(s.order_id, s.order.email, items, s.address, s.carrier, s.tracking_number)


def team_batch(actor, batch_id, roles=EDIT_ROLES) -> ShippingBatch:
    batch = ShippingBatch.objects.filter(pk=batch_id).first() if isinstance(batch_id, str) else None
    if batch is None:
        raise NotFound(_("No such shipping batch."))
    require_role(actor, batch.creator_id, roles)
    return batch


# --- addresses and shipping ----------------------------------------------------------------------

def set_shipping_address(*, user, order_id: str, address: str) -> Shipment:
    """The buyer says where a paid physical order goes (until it has shipped)."""
    address = _text(address, "address", MAX_ADDRESS)
    with transaction.atomic():
        order = _buyer_order(user, order_id)
        _require_fulfillable(order)
        shipment = Shipment.objects.select_for_update().filter(order=order).first()
        if shipment is not None and shipment.shipped_at:
            raise Conflict(_("This order has already shipped."), code="already_shipped")
        pickup = Pickup.objects.select_for_update().filter(order=order).first()
        if pickup is not None:
            if pickup.picked_up_at:
                raise Conflict(_("This order has already been collected."), code="already_collected")
            pickup.delete()
        if shipment is None:
            batch = ShippingBatch.objects.filter(group_buy__participants__order=order).first()
            shipment = Shipment(order=order, batch=batch)
        shipment.address = address
        shipment.save()
        return shipment


def _ship(shipment: Shipment, carrier: str, tracking: str, now) -> None:
    shipment.carrier, shipment.tracking_number, shipment.shipped_at = carrier, tracking, now
    shipment.save(update_fields=["carrier", "tracking_number", "shipped_at"])
    transaction.on_commit(lambda pk=shipment.pk: _send_shipped_email(pk))


def _close_batch_if_done(batch_id, now) -> None:
    if batch_id and not Shipment.objects.filter(batch_id=batch_id, shipped_at__isnull=True).exists():
        ShippingBatch.objects.filter(pk=batch_id, status=ShippingBatch.Status.OPEN).update(
            status=ShippingBatch.Status.SHIPPED, shipped_at=now)


def mark_shipped(*, actor, shipment_id: str, carrier: str, tracking_number: str) -> Shipment:
    """One parcel left with a carrier: recorded once, and the buyer emailed once."""
    carrier = _text(carrier, "carrier", MAX_CARRIER)
    tracking = _text(tracking_number, "tracking_number", MAX_TRACKING)
    with transaction.atomic():
        shipment = (Shipment.objects.select_for_update(of=("self",)).select_related("order")
                    .filter(pk=shipment_id).first() if isinstance(shipment_id, str) else None)
        if shipment is None:
            raise NotFound(_("No such shipment."))
        require_role(actor, shipment.order.creator_id, EDIT_ROLES)
        if shipment.shipped_at:
            raise Conflict(_("Already shipped on %(when)s.")
                           % {"when": date_format(timezone.localtime(shipment.shipped_at), "d M H:i")},
                           code="already_shipped")
        if not shipment.address:
            raise Conflict(_("The buyer has not given an address yet."), code="no_address")
        _require_not_held(shipment.order)
        now = timezone.now()
        _ship(shipment, carrier, tracking, now)
        _close_batch_if_done(shipment.batch_id, now)
    return shipment


@dataclass(frozen=True)
class BatchShipResult:
    shipped: int
    without_address: int
    already: int
    held: int = 0  # waiting for a risk review


def mark_batch_shipped(*, actor, batch_id: str, carrier: str, tracking_number: str = "") -> BatchShipResult:
    """Every unshipped parcel of the batch that has an address leaves with `carrier`; one tracking
    reference (a consolidated consignment) may be given for all. Parcels without an address wait."""
    carrier = _text(carrier, "carrier", MAX_CARRIER)
    tracking = _text(tracking_number, "tracking_number", MAX_TRACKING, required=False)
    with transaction.atomic():
        batch = team_batch(actor, batch_id)
        now = timezone.now()
        shipments = list(Shipment.objects.select_for_update().filter(batch=batch).order_by("order_id"))
        shipped = missing = already = held = 0
        for s in shipments:
            if s.shipped_at:
                already += 1
            elif not s.address:
                missing += 1
            elif gate.is_held(s.order):
                held += 1
            else:
                _ship(s, carrier, tracking, now)
                shipped += 1
        _close_batch_if_done(batch.pk, now)
    return BatchShipResult(shipped, missing, already, held)


def _send_shipped_email(shipment_id) -> None:
    try:
        s = Shipment.objects.select_related("order", "order__creator").get(pk=shipment_id)
        context = {"shipment": s, "order": s.order, "url": settings.SITE_URL + s.order.get_absolute_url()}
        with translation.override(language_for(s.order.buyer)):
            subject = " ".join(render_to_string("commerce/email/shipped_subject.txt", context).split())
            body = render_to_string("commerce/email/shipped.txt", context)
        send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [s.order.email])
    except Exception:  # an email problem must not undo the shipment; logged for staff
        log.exception("shipped email for %s failed", shipment_id)


def unbatched_shipments(creator):
    """Single purchases (no group-buy batch) waiting to ship."""
    return (Shipment.objects.filter(order__creator=creator, batch__isnull=True, shipped_at__isnull=True)
            .select_related("order").order_by("order_id"))


# --- costs ---------------------------------------------------------------------------------------

def record_cost(*, actor, order_id: str, kind: str, amount) -> FulfilmentCost:
    """What fulfilling one order cost (in the order's currency); rows are appended, never edited."""
    if kind not in FulfilmentCost.Kind.values:
        raise Invalid(_("Choose postage, packaging or handling."), fields={"kind": [_("Choose a kind.")]})
    amount = _money(amount)
    order = _team_order(actor, order_id)
    return FulfilmentCost.objects.create(order=order, kind=kind, amount=amount, currency=order.currency)


def split_evenly(total: Decimal, n: int) -> list[Decimal]:
    """`total` in n parts that differ by at most a cent and add up exactly: everyone gets the total
    divided by n rounded down to the cent; the cents left over go one each to the first parts."""
    cents = int((total / CENT).to_integral_value())
    base, rest = divmod(cents, n)
    return [(Decimal(base + (1 if i < rest else 0)) * CENT).quantize(CENT, rounding=ROUND_DOWN) for i in range(n)]


def split_batch_postage(*, actor, batch_id: str, amount) -> list[FulfilmentCost]:
    """A batch's postage recorded as one postage cost per order of the batch (ordered by order id)."""
    amount = _money(amount)
    with transaction.atomic():
        batch = team_batch(actor, batch_id)
        orders = list(Order.objects.filter(shipment__batch=batch).order_by("pk").only("pk", "currency"))
        if not orders:
            raise Conflict(_("This batch has no orders to split postage across."), code="empty_batch")
        return FulfilmentCost.objects.bulk_create([
            FulfilmentCost(order=o, kind=FulfilmentCost.Kind.POSTAGE, amount=part, currency=o.currency)
            for o, part in zip(orders, split_evenly(amount, len(orders)), strict=True)])


def costs_for(creator, limit: int = 200):
    return (FulfilmentCost.objects.filter(order__creator=creator).select_related("order")
            .order_by("-created_at", "-id")[:limit])


# --- pickup --------------------------------------------------------------------------------------

def create_pickup_window(*, actor, creator_id: str, place: str, starts_at, ends_at, event_id: str = "") -> PickupWindow:
    require_role(actor, creator_id, EDIT_ROLES)
    place = _text(place, "place", MAX_PLACE)
    event_id = _text(event_id, "event_id", 40, required=False)
    if starts_at is None or ends_at is None or timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise Invalid(_("Give a start and an end."), fields={"starts_at": [_("Required.")]})
    if ends_at <= starts_at:
        raise Invalid(_("The window must end after it starts."), fields={"ends_at": [_("End after the start.")]})
    return PickupWindow.objects.create(creator_id=creator_id, place=place, starts_at=starts_at, ends_at=ends_at,
                                       event_id=event_id)


def open_windows(creator_id, now=None):
    return PickupWindow.objects.filter(creator_id=creator_id, ends_at__gt=now or timezone.now()).order_by("starts_at")


def _assign(order: Order, window_id) -> Pickup:
    _require_fulfillable(order)
    window = (PickupWindow.objects.filter(pk=window_id, creator_id=order.creator_id).first()
              if isinstance(window_id, str) else None)
    if window is None:
        raise Invalid(_("Choose one of the pickup windows."), fields={"window": [_("Choose a pickup window.")]})
    if window.ends_at <= timezone.now():
        raise Conflict(_("That pickup window is over; choose another."), code="window_over")
    shipment = Shipment.objects.select_for_update().filter(order=order).first()
    if shipment is not None:
        if shipment.shipped_at:
            raise Conflict(_("This order has already shipped."), code="already_shipped")
        shipment.delete()
    pickup = Pickup.objects.select_for_update().filter(order=order).first()
    if pickup is not None and pickup.picked_up_at:
        raise Conflict(_("This order has already been collected."), code="already_collected")
    if pickup is None:
        return Pickup.objects.create(order=order, window=window)
    pickup.window = window
    pickup.save(update_fields=["window"])
    return pickup


def choose_pickup(*, user, order_id: str, window_id: str) -> Pickup:
    """The buyer collects a paid physical order in one of the creator's windows instead of shipping."""
    with transaction.atomic():
        return _assign(_buyer_order(user, order_id), window_id)


def assign_pickup(*, actor, order_id: str, window_id: str) -> Pickup:
    """The creator's team puts an order into a pickup window."""
    with transaction.atomic():
        return _assign(_team_order(actor, order_id, lock=True), window_id)


def pickup_qr_payload(order: Order) -> str:
    return sign_token(PICKUP_PREFIX, {"o": order.pk})


def pickup_qr_svg(order: Order) -> str:
    import segno

    return segno.make(pickup_qr_payload(order), error="m").svg_inline(scale=5, border=2)


def read_pickup_payload(payload: str) -> str | None:
    """The order id a pickup QR names, or None when it is not one this platform signed."""
    claims = read_token(PICKUP_PREFIX, payload)
    order_id = claims.get("o") if claims else None
    return order_id if isinstance(order_id, str) else None


@dataclass(frozen=True)
class PickupResult:
    pickup: Pickup
    already: bool


def confirm_pickup(*, actor, creator_id: str, payload: str) -> PickupResult:
    """Scan at the pickup point (owner, manager or door): collected once; a second scan says when."""
    require_role(actor, creator_id, DOOR_ROLES)
    order_id = read_pickup_payload(payload)
    if order_id is None:
        raise Invalid(_("This is not a valid pickup code."), code="invalid_code",
                      fields={"payload": [_("Not a pickup code.")]})
    with transaction.atomic():
        pickup = (Pickup.objects.select_for_update(of=("self",)).select_related("order", "window")
                  .filter(order_id=order_id).first())
        if pickup is None or pickup.order.creator_id != creator_id:
            raise NotFound(_("No pickup for this code here."))
        if pickup.order.status not in FULFILLABLE:
            raise Conflict(_("This order is not paid (or was refunded): do not hand it over."), code="not_paid")
        _require_not_held(pickup.order)
        if pickup.picked_up_at:
            return PickupResult(pickup, True)
        pickup.picked_up_at, pickup.picked_up_by = timezone.now(), actor
        pickup.save(update_fields=["picked_up_at", "picked_up_by"])
        return PickupResult(pickup, False)


def windows_with_pickups(creator):
    return (PickupWindow.objects.filter(creator=creator).prefetch_related("pickups__order")
            .order_by("-starts_at")[:50])


# --- the buyer's view ----------------------------------------------------------------------------

def buyer_view(order: Order, user) -> dict | None:
    """What the order page shows about delivery, or None when nothing is shipped or collected."""
    if order.status not in FULFILLABLE or not is_physical(order):
        return None
    is_buyer = order.buyer_id == getattr(user, "pk", None)
    if not is_buyer and role_of(user, order.creator_id) not in EDIT_ROLES:
        return None
    shipment = Shipment.objects.filter(order=order).first()
    pickup = Pickup.objects.select_related("window").filter(order=order).first()
    return {"order": order, "shipment": shipment, "pickup": pickup, "is_buyer": is_buyer,
            "windows": list(open_windows(order.creator_id)[:20]) if is_buyer else [],
            "qr_svg": pickup_qr_svg(order) if (pickup and is_buyer and not pickup.picked_up_at) else "",
            "qr_payload": pickup_qr_payload(order) if (pickup and is_buyer and not pickup.picked_up_at) else ""}
