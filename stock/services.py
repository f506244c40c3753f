"""Stock across places: locations, the append-only movement ledger, transfers, overrides and pop-up sales.

The ledger (StockMovement) is the truth: a location holds the sum of its movements for a variant.
Every movement has a unique `key`, so a retried request, a form sent twice or a POS batch synced
twice moves stock once. Writes that read a location's count first lock that location's row, so two
syncs at once never both see the same last unit.

A manual override is a count taken by hand ("there are 7 on the table"): while it is unexpired the
location holds that count plus whatever moved after it was set; once it expires the ledger's sum is
back, by the clock alone.

Pop-up (POS) sales are rung up on a phone, often offline, and synced later. A sale is never refused
for lack of stock — the units already left the table — so a sale that takes a location below zero
is kept as a `conflict` and listed until a team member resolves it: back-order (the buyer is owed
the missing units), cancel (money back, units back) or transfer (units come from another place).

A QR sale makes an order for the buyer's phone, with one line of the "pos_item" kind per variant.
Its pool ("pos:<sale>:<variant>") holds exactly the units the sale took from the pop-up.

One stock per thing: the online stock of a variant (ProductVariant.stock, its pool "variant:<id>")
is the central stock the shop, drops and group-buys sell. So
- a transfer from a central location to a pop-up takes the units out of what can be sold online
  (as far as they are free there: units sold or held online are promised to their buyers) — the
  variant's pool counts them as `moved`; units coming back from a pop-up to a central location can
  be sold online again (as many as were taken);
- a paid online sale of a variant writes an ONLINE_SALE movement at the creator's central location
  (its first one, if it has one), and a refund of it a RETURN movement;
- a pop-up sale that takes a location below zero (sold offline while the units went elsewhere) is
  reconciled automatically when the online stock still has the missing units free: they are taken
  from it (a transfer from the central location, or a correction without one) and the sale completes.
  Otherwise it stays a conflict, listed for the team (stock dashboard and admin) to resolve. So one
  shirt sold online and at the till cannot both succeed quietly.
"""
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from microstage.money import parse_amount
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES
from microstage.permissions import SYSTEM, require_role

from commerce import inventory, sellables, services
from catalog import services as catalog
from commerce.models import Order
from catalog.models import ProductVariant
from commerce.signals import order_paid, order_refunded

from .models import PosSale, StockLocation, StockMovement, StockOverride

log = logging.getLogger(__name__)

MAX_UNITS = 100_000          # per movement; more is a typo
MAX_SALE_LINES = 30
MAX_SALE_QUANTITY = 100      # per line of a pop-up sale
MAX_OVERRIDE_SECONDS = 7 * 24 * 3600
MAX_SOLD_AHEAD = timedelta(minutes=10)   # a device clock running ahead of ours
MAX_SOLD_AGO = timedelta(days=60)
POS_KIND = "pos_item"
RESOLUTIONS = ("backorder", "cancel", "transfer")


# --- access ----------------------------------------------------------------------------------

def location_for(actor, location_id, *, roles=EDIT_ROLES) -> StockLocation:
    location = (StockLocation.objects.select_related("creator").filter(pk=location_id).first()
                if isinstance(location_id, str) else None)
    if location is None:
        raise NotFound(_("No such stock location."))
    require_role(actor, location.creator_id, roles)
    return location


def pos_location_for(actor, location_id) -> StockLocation:
    """The POS may be run by door staff too (they work the merch table at the show)."""
    location = location_for(actor, location_id, roles=DOOR_ROLES)
    if not location.is_active:
        raise Forbidden(_("This location is closed."), code="location_closed")
    return location


# --- checks ----------------------------------------------------------------------------------

def _units(value, field: str = "quantity", minimum: int = 1, maximum: int = MAX_UNITS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > maximum:
        bounds = {"low": minimum, "high": maximum}
        raise Invalid(_("Use a whole number from %(low)d to %(high)d.") % bounds,
                      fields={field: [_("A whole number from %(low)d to %(high)d.") % bounds]})
    return value


def _variant_of(location: StockLocation, variant) -> ProductVariant:
    variant_id = getattr(variant, "pk", variant)
    found = (ProductVariant.objects.select_related("product").filter(pk=variant_id,
                                                                      product__creator_id=location.creator_id).first()
             if isinstance(variant_id, str) else None)
    if found is None:
        raise NotFound(_("No such product variant."))
    return found


def _key(key, prefix: str) -> str:
    if key is None or key == "":
        return f"{prefix}:{uuid.uuid4().hex}"
    if not isinstance(key, str) or len(key) > 80 or not key.isprintable():
        raise Invalid(_("Bad idempotency key."), fields={"key": [_("At most 80 printable characters.")]})
    return f"{prefix}:{key}"


def _lock(*locations: StockLocation) -> None:
    """Serialise every count-then-move on these locations (always in id order: no deadlocks)."""
    ids = sorted({loc.pk for loc in locations})
    list(StockLocation.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _move(location, variant_id, quantity, reason, key, *, note="", actor) -> tuple[StockMovement, bool]:
    """One ledger row, once per key; (movement, created). Callers run inside a transaction."""
    existing = StockMovement.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            movement = StockMovement.objects.create(
                location=location, variant_id=variant_id, quantity=quantity, reason=reason, key=key,
                note=note[:200], created_by=actor if getattr(actor, "is_authenticated", False) else None)
    except IntegrityError:  # the same key written at the same moment by someone else
        return StockMovement.objects.get(key=key), False
    return movement, True


# --- reads -----------------------------------------------------------------------------------

def ledger_on_hand(location: StockLocation) -> dict[str, int]:
    """{variant id: sum of movements} for a location."""
    rows = location.movements.values("variant_id").annotate(n=Sum("quantity"))
    return {r["variant_id"]: r["n"] or 0 for r in rows}


def active_overrides(location: StockLocation, now=None) -> dict[str, StockOverride]:
    """The newest unexpired override per variant."""
    now = now or timezone.now()
    out: dict[str, StockOverride] = {}
    for o in location.overrides.filter(expires_at__gt=now).order_by("-created_at", "-id"):
        out.setdefault(o.variant_id, o)
    return out


def on_hand(location: StockLocation, now=None) -> dict[str, int]:
    """{variant id: units} — the ledger's sum, unless an unexpired override exists: then its count
    plus what moved after it was set."""
    counts = defaultdict(int, ledger_on_hand(location))
    for variant_id, override in active_overrides(location, now).items():
        since = (location.movements.filter(variant_id=variant_id, created_at__gt=override.created_at)
                 .aggregate(n=Sum("quantity"))["n"] or 0)
        counts[variant_id] = override.quantity + since
    return dict(counts)


def on_hand_of(location: StockLocation, variant_id: str, now=None) -> int:
    return on_hand(location, now).get(variant_id, 0)


def catalogue(location: StockLocation) -> list[dict]:
    """Every active variant of the creator's physical products with its price and on-hand here."""
    counts = on_hand(location)
    variants = (ProductVariant.objects.select_related("product")
                .filter(product__creator_id=location.creator_id, product__is_active=True,
                        product__kind="physical").order_by("product__name", "position", "name"))
    return [{"variant": v.pk, "product": v.product.name, "name": v.name,
             "label": v.label,
             "price": str(v.unit_price), "currency": v.product.currency, "on_hand": counts.get(v.pk, 0)}
            for v in variants]


def conflicts(creator_id: str, location: StockLocation | None = None):
    qs = PosSale.objects.filter(location__creator_id=creator_id, status=PosSale.Status.CONFLICT)
    if location is not None:
        qs = qs.filter(location=location)
    return qs.select_related("location").order_by("sold_at")


def missing_units(sale: PosSale) -> dict[str, int]:
    """{variant id: units the location lacks} for a conflicting sale (at most what the sale took)."""
    counts = on_hand(sale.location)
    out = {}
    for item in sale.items:
        short = min(item["quantity"], max(0, -counts.get(item["variant"], 0)))
        if short:
            out[item["variant"]] = out.get(item["variant"], 0) + short
    return out


def sale_json(sale: PosSale) -> dict:
    return {"id": sale.pk, "client_id": sale.client_id, "status": sale.status,
            "status_display": sale.get_status_display(), "items": sale.items, "total": str(sale.total),
            "currency": sale.currency, "payment": sale.payment_method, "sold_at": sale.sold_at.isoformat(),
            "order": sale.order_id, "resolution": sale.resolution}


# --- locations and movements -----------------------------------------------------------------

def create_location(*, creator, name: str, kind: str = StockLocation.Kind.POPUP, event_id: str = "",
                    actor) -> StockLocation:
    require_role(actor, creator, EDIT_ROLES)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 80:
        raise Invalid(_("Name the location."), fields={"name": [_("Use 1 to 80 characters.")]})
    if kind not in StockLocation.Kind.values:
        raise Invalid(_("A location is central or a pop-up."), fields={"kind": [_("Use central or popup.")]})
    event_id = (event_id or "").strip() if isinstance(event_id, str) else ""
    if len(event_id) > 40:
        raise Invalid(_("That event id is too long."), fields={"event_id": [_("At most 40 characters.")]})
    return StockLocation.objects.create(creator=creator, name=name, kind=kind, event_id=event_id)


@transaction.atomic
def receive(*, location: StockLocation, variant, quantity: int, key: str | None = None, note: str = "",
            actor) -> StockMovement:
    """Units arrive at a location (a delivery, a count found more). Once per key."""
    require_role(actor, location.creator_id, EDIT_ROLES)
    variant = _variant_of(location, variant)
    quantity = _units(quantity)
    _lock(location)
    movement, _ = _move(location, variant.pk, quantity, StockMovement.Reason.RECEIVED, _key(key, "recv"),
                        note=note or "", actor=actor)
    return movement


@transaction.atomic
def transfer(*, source: StockLocation, target: StockLocation, variant, quantity: int, key: str | None = None,
             note: str = "", actor, allow_short: bool = False) -> tuple[StockMovement, StockMovement]:
    """Move units between two locations of one creator: two movements under one key (":out", ":in").

    The source must hold the units (its on-hand, overrides included), unless `allow_short`.
    """
    require_role(actor, source.creator_id, EDIT_ROLES)
    if source.creator_id != target.creator_id:
        raise NotFound(gettext("No such stock location."))
    if source.pk == target.pk:
        raise Invalid(gettext("Pick two different locations."),
                      fields={"target": [gettext("Choose another location.")]})
    variant = _variant_of(source, variant)
    quantity = _units(quantity)
    key = _key(key, "xfer")
    _lock(source, target)
    done = StockMovement.objects.filter(key__in=[f"{key}:out", f"{key}:in"]).order_by("quantity")
    if len(done) == 2:
        return done[0], done[1]
    held = on_hand_of(source, variant.pk)
    if not allow_short and held < quantity:
        raise Conflict(gettext("%(place)s holds only %(count)d of these.") % {"place": source.name, "count": held},
                       code="not_enough_stock", available=held)
    out, created = _move(source, variant.pk, -quantity, StockMovement.Reason.TRANSFER_OUT, f"{key}:out",
                         note=note or f"To {target.name}", actor=actor)
    into, _ = _move(target, variant.pk, quantity, StockMovement.Reason.TRANSFER_IN, f"{key}:in",
                    note=note or f"From {source.name}", actor=actor)
    if created:
        _follow_online(source, target, variant.pk, quantity)
    return out, into


# --- one stock: the online pool follows the central stock -----------------------------------------

POPUP, CENTRAL = StockLocation.Kind.POPUP, StockLocation.Kind.CENTRAL


def _follow_online(source: StockLocation, target: StockLocation, variant_id: str, quantity: int) -> int:
    """Units moved between the central stock and a pop-up leave (or rejoin) what is sold online."""
    if source.kind == CENTRAL and target.kind == POPUP:
        return -take_online(variant_id, quantity)
    if source.kind == POPUP and target.kind == CENTRAL:
        return give_online(variant_id, quantity)
    return 0


def take_online(variant_id: str, quantity: int, *, all_or_nothing: bool = False) -> int:
    """Take up to `quantity` free units out of a variant's online stock (variant row, then pool, locked);
    returns how many were taken."""
    variant = ProductVariant.objects.get(pk=variant_id)
    return inventory.take_free(inventory.variant_key(variant.pk), quantity, base_total=variant.stock,
                               all_or_nothing=all_or_nothing)


def give_online(variant_id: str, quantity: int) -> int:
    """Units back from a pop-up rejoin the online stock, at most as many as were taken from it."""
    variant = ProductVariant.objects.get(pk=variant_id)
    return inventory.give(inventory.variant_key(variant.pk), quantity, base_total=variant.stock)


def central_of(creator_id: str) -> StockLocation | None:
    return (StockLocation.objects.filter(creator_id=creator_id, kind=CENTRAL, is_active=True)
            .order_by("created_at", "pk").first())


def _online_units(order) -> dict[str, int]:
    """{variant id: units} an order still has sold from variants' online pools (refunds taken off)."""
    out: dict[str, int] = defaultdict(int)
    prefix = inventory.variant_key("")
    for line in order.lines.all():
        if not line.quantity:
            continue
        for h in inventory.sold_holds(line).select_related("inventory"):
            if h.inventory.key.startswith(prefix):
                out[h.inventory.key[len(prefix):]] += h.quantity * line.active_quantity // line.quantity
    return dict(out)


def record_online(order) -> None:
    """Bring the central location's ledger in line with what a paid (or refunded) online order sold:
    ONLINE_SALE movements for the units sold, RETURN movements for units refunded. Once per change."""
    central = central_of(order.creator_id)
    if central is None:
        return
    now_sold = _online_units(order)
    booked = defaultdict(int)
    for variant_id, qty in (StockMovement.objects.filter(location=central, key__startswith=f"online:{order.pk}:")
                            .values_list("variant_id", "quantity")):
        booked[variant_id] -= qty
    for variant_id, qty in (StockMovement.objects.filter(location=central, key__startswith=f"online-back:{order.pk}:")
                            .values_list("variant_id", "quantity")):
        booked[variant_id] -= qty
    for variant_id in sorted(set(now_sold) | set(booked)):
        want, have = now_sold.get(variant_id, 0), booked.get(variant_id, 0)
        if want > have and not have:
            _move(central, variant_id, -(want - have), StockMovement.Reason.ONLINE_SALE,
                  f"online:{order.pk}:{variant_id}", note=f"Order {order.pk}", actor=SYSTEM)
        elif want < have:
            _move(central, variant_id, have - want, StockMovement.Reason.RETURN,
                  f"online-back:{order.pk}:{variant_id}:{have - want}:{want}", note=f"Refund of order {order.pk}",
                  actor=SYSTEM)


def set_override(*, location: StockLocation, variant, quantity: int, ttl, actor) -> StockOverride:
    """A counted value for a location that wins for `ttl` (seconds or timedelta), then hands back."""
    require_role(actor, location.creator_id, EDIT_ROLES)
    variant = _variant_of(location, variant)
    quantity = _units(quantity, minimum=0)
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 60 <= seconds <= MAX_OVERRIDE_SECONDS:
        raise Invalid(_("An override lasts from a minute to a week."), fields={"ttl": [_("From 60 s to 7 days.")]})
    return StockOverride.objects.create(location=location, variant=variant, quantity=quantity,
                                        expires_at=timezone.now() + timedelta(seconds=seconds),
                                        created_by=actor if getattr(actor, "is_authenticated", False) else None)


def clear_override(*, location: StockLocation, variant, actor) -> int:
    """End every override of a variant at a location now (the ledger's value is back)."""
    require_role(actor, location.creator_id, EDIT_ROLES)
    variant = _variant_of(location, variant)
    return location.overrides.filter(variant=variant, expires_at__gt=timezone.now()).update(expires_at=timezone.now())


# --- pop-up sales ----------------------------------------------------------------------------

def _client_id(value, field: str) -> str:
    if not isinstance(value, str) or not 6 <= len(value) <= 64 or not all(c.isalnum() or c in "-_." for c in value):
        raise Invalid(_("Each sale needs its device-made id."), fields={field: [_("6 to 64 letters, digits, - _ .")]})
    return value


def _sold_at(value, field: str) -> datetime:
    from django.utils.dateparse import parse_datetime

    try:
        parsed = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, datetime) or timezone.is_naive(parsed):
        raise Invalid(_("Each sale needs its time with an offset."),
                      fields={field: [_("An ISO 8601 time with offset.")]})
    now = timezone.now()
    if parsed > now + MAX_SOLD_AHEAD or parsed < now - MAX_SOLD_AGO:
        raise Invalid(_("That sale time is not plausible: check the device's clock."),
                      fields={field: [_("Not within the last 60 days.")]})
    return parsed


def _price(value, fallback: Decimal, field: str) -> Decimal:
    return fallback if value is None else parse_amount(value, field=field, maximum=catalog.PRODUCT_MAX_PRICE)


def parse_items(location: StockLocation, raw, field: str = "items") -> tuple[list[dict], Decimal, str]:
    """Validated sale lines [{variant, quantity, unit_price, label}], their total and currency.

    The unit price is the one the device showed (what the buyer paid), else the current price.
    """
    if not isinstance(raw, list) or not raw:
        raise Invalid(_("A sale needs at least one item."), fields={field: [_("A non-empty list.")]})
    if len(raw) > MAX_SALE_LINES:
        raise Invalid(_("Too many lines in one sale."),
                      fields={field: [_("At most %(max)d.") % {"max": MAX_SALE_LINES}]})
    merged: dict[str, dict] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Invalid(_("Each item is an object."), fields={f"{field}[{i}]": [_("Not an object.")]})
        variant_id = item.get("variant")
        variant = (ProductVariant.objects.select_related("product")
                   .filter(pk=variant_id, product__creator_id=location.creator_id).first()
                   if isinstance(variant_id, str) else None)
        if variant is None:
            raise Invalid(_("Unknown item."), fields={f"{field}[{i}].variant": [_("Not one of this creator's items.")]})
        qty = _units(item.get("quantity"), f"{field}[{i}].quantity", maximum=MAX_SALE_QUANTITY)
        price = _price(item.get("unit_price"), variant.unit_price, f"{field}[{i}].unit_price")
        line = merged.setdefault(f"{variant.pk}@{price}", {
            "variant": variant.pk, "quantity": 0, "unit_price": str(price), "currency": variant.product.currency,
            "label": variant.label})
        line["quantity"] += qty
        if line["quantity"] > MAX_SALE_QUANTITY:
            raise Invalid(_("Too many of one item."),
                          fields={f"{field}[{i}].quantity": [_("At most 100 in one sale.")]})
    currencies = {line.pop("currency") for line in merged.values()}
    if len(currencies) != 1:
        raise Invalid(_("One sale is in one currency."), fields={field: [_("Ring up each currency separately.")]})
    items = list(merged.values())
    total = sum((Decimal(i["unit_price"]) * i["quantity"] for i in items), Decimal("0"))
    return items, total, currencies.pop()


def _take(sale: PosSale, actor) -> bool:
    """Move the sale's units out of its (locked) location; True when that leaves any variant below zero."""
    counts = on_hand(sale.location)
    need: dict[str, int] = defaultdict(int)
    for item in sale.items:
        need[item["variant"]] += item["quantity"]
    short = any(counts.get(v, 0) < q for v, q in need.items())
    for variant_id, qty in need.items():
        _move(sale.location, variant_id, -qty, StockMovement.Reason.POS_SALE, f"pos:{sale.client_id}:{variant_id}",
              note=f"Sale {sale.pk}", actor=actor)
    return short


def _give_back(sale: PosSale, why: str, actor) -> None:
    """Return a sale's units to its location (a void or an unpaid QR sale), once."""
    need: dict[str, int] = defaultdict(int)
    for item in sale.items:
        need[item["variant"]] += item["quantity"] - item.get("owed", 0)
    for variant_id, qty in need.items():
        if qty > 0:
            _move(sale.location, variant_id, qty, StockMovement.Reason.RETURN, f"pos-back:{sale.pk}:{variant_id}",
                  note=why, actor=actor)


def record_sale(*, location: StockLocation, client_id: str, items, sold_at, payment: str = PosSale.Payment.CASH,
                device: str = "", actor, status: str | None = None) -> tuple[PosSale, bool]:
    """Record one pop-up sale once per client_id: (sale, created). Never refused for lack of stock:
    a sale that takes the location below zero is kept as a conflict."""
    require_role(actor, location.creator_id, DOOR_ROLES)
    client_id = _client_id(client_id, "client_id")
    existing = PosSale.objects.select_related("location").filter(client_id=client_id).first()
    if existing is not None:
        if existing.location_id != location.pk:
            raise Conflict(_("That sale id belongs to another location."), code="client_id_taken")
        return existing, False
    sold_at = _sold_at(sold_at, "sold_at")
    if payment not in PosSale.Payment.values:
        raise Invalid(_("Paid by cash or QR."), fields={"payment": [_("Use cash or qr.")]})
    lines, total, currency = parse_items(location, items)
    device = device[:80] if isinstance(device, str) else ""
    try:
        with transaction.atomic():
            _lock(location)
            if PosSale.objects.filter(client_id=client_id).exists():  # synced by another request meanwhile
                raise IntegrityError
            sale = PosSale.objects.create(
                location=location, client_id=client_id, items=lines, total=total, currency=currency,
                payment_method=payment, sold_at=sold_at, device=device, status=status or PosSale.Status.COMPLETED,
                sold_by=actor if getattr(actor, "is_authenticated", False) else None)
            short = _take(sale, actor)
            if short and sale.status == PosSale.Status.PENDING_PAYMENT:
                # Rung up online, so the seller hears it now (count the table, or take cash and sync).
                raise Conflict(_("Not enough on hand here for a QR sale."), code="not_enough_stock")
            if short and _reconcile(sale, actor):
                sale.save(update_fields=["resolution"])
            elif short:
                sale.status = PosSale.Status.CONFLICT
                sale.save(update_fields=["status"])
    except IntegrityError:
        existing = PosSale.objects.get(client_id=client_id)
        if existing.location_id != location.pk:
            raise Conflict(_("That sale id belongs to another location."), code="client_id_taken") from None
        return existing, False
    return sale, True


class _NotFree(Exception):
    pass


def _reconcile(sale: PosSale, actor) -> bool:
    """A sale that took its (locked) location below zero: the missing units come out of the online stock
    when all of them are free there — moved from the central location (or a correction without one) —
    and the sale stands. False, with nothing changed, when the online stock cannot cover it."""
    missing = missing_units(sale)
    if not missing:
        return False
    central = central_of(sale.location.creator_id)
    try:
        with transaction.atomic():
            for variant_id, qty in sorted(missing.items()):
                if take_online(variant_id, qty, all_or_nothing=True) < qty:
                    raise _NotFree
                note = f"Sale {sale.pk}: taken from the online stock"
                if central is not None and central.pk != sale.location_id:
                    _move(central, variant_id, -qty, StockMovement.Reason.TRANSFER_OUT,
                          f"auto:{sale.pk}:{variant_id}:out", note=note, actor=actor)
                    _move(sale.location, variant_id, qty, StockMovement.Reason.TRANSFER_IN,
                          f"auto:{sale.pk}:{variant_id}:in", note=note, actor=actor)
                else:
                    _move(sale.location, variant_id, qty, StockMovement.Reason.CORRECTION,
                          f"auto:{sale.pk}:{variant_id}", note=note, actor=actor)
    except (_NotFree, Conflict):  # not free online, or the pool busy: the team decides
        return False
    units = sum(missing.values())
    sale.resolution = f"Reconciled automatically: {units} unit(s) taken from the online stock."[:200]
    return True


def sync_sales(*, location: StockLocation, sales, actor, device: str = "") -> list[dict]:
    """A device's queued sales, each recorded once; one answer per sale in the same order.

    A sale the server will never take (bad data) is answered `refused` with its reason rather than
    blocking the rest of the queue; nothing accepted is ever dropped.
    """
    require_role(actor, location.creator_id, DOOR_ROLES)
    if not isinstance(sales, list) or not sales:
        raise Invalid(_("Send the queued sales."), fields={"sales": [_("A non-empty list.")]})
    if len(sales) > 200:
        raise Invalid(_("At most 200 sales at a time."), fields={"sales": [_("Too many.")]})
    results = []
    for raw in sales:
        if not isinstance(raw, dict):
            results.append({"client_id": None, "result": "refused", "detail": _("Not an object.")})
            continue
        try:
            sale, created = record_sale(
                location=location, client_id=raw.get("client_id"), items=raw.get("items"),
                sold_at=raw.get("sold_at"), payment=PosSale.Payment.CASH, actor=actor,
                device=raw.get("device") if isinstance(raw.get("device"), str) else device)
        except (Invalid, Conflict) as exc:
            cid = raw.get("client_id") if isinstance(raw.get("client_id"), str) else None
            results.append({"client_id": cid, "result": "refused", "code": exc.code, "detail": exc.detail,
                            "fields": getattr(exc, "fields", {})})
            continue
        results.append({"client_id": sale.client_id, "result": "recorded" if created else "duplicate",
                        "sale": sale_json(sale)})
    return results


# --- QR sales: the buyer pays on their own phone ----------------------------------------------

def _pos_offer(item_id, quantity, buyer, options=None) -> sellables.Offer:
    sale = PosSale.objects.select_related("location").filter(pk=(options or {}).get("sale")).first()
    item = next((i for i in (sale.items if sale else []) if i["variant"] == item_id), None)
    if sale is None or item is None:
        raise NotFound(_("No such pop-up sale."))
    return sellables.Offer(kind=POS_KIND, item_id=item_id, creator_id=sale.location.creator_id,
                           description=f"{item['label']} (at {sale.location.name})"[:255],
                           unit_price=Decimal(item["unit_price"]), currency=sale.currency,
                           pools={f"pos:{sale.pk}:{item_id}": item["quantity"]})


def register_pos_sellable() -> None:
    if sellables.get(POS_KIND) is None:
        sellables.register(POS_KIND, offer=_pos_offer)


def start_qr_sale(*, location: StockLocation, client_id: str, items, device: str = "", actor,
                  email: str = "") -> tuple[PosSale, str]:
    """Ring up a sale the buyer pays on their phone: (sale, checkout URL to show as a QR). Needs the
    network (the order is made now); the units leave the pop-up at once, and come back if the order
    is never paid. Calling again with the same client_id gives the same sale and payment link."""
    sale, _ = record_sale(location=location, client_id=client_id, items=items, sold_at=timezone.now(),
                          payment=PosSale.Payment.QR, device=device, actor=actor,
                          status=PosSale.Status.PENDING_PAYMENT)
    if sale.payment_method != PosSale.Payment.QR:
        raise Conflict(gettext("That sale was rung up as cash."), code="client_id_taken")
    if sale.status != PosSale.Status.PENDING_PAYMENT:
        return sale, ""
    if sale.order_id is None:
        register_pos_sellable()
        email = email or getattr(actor, "email", "") or ""
        try:
            order = services.reserve(requests=[services.LineRequest(POS_KIND, i["variant"], i["quantity"],
                                                                    (("sale", sale.pk),)) for i in sale.items],
                                     email=email)
        except Exception:
            _void_unpaid(sale.pk, "The order for the buyer's phone could not be made.", actor)
            raise
        with transaction.atomic():
            locked = PosSale.objects.select_for_update().get(pk=sale.pk)
            if locked.order_id is None:
                locked.order = order
                locked.save(update_fields=["order"])
            elif locked.order_id != order.pk:
                services.cancel(order.pk, actor=actor)  # made twice at once: keep the first
            sale = locked
    done_url = settings.SITE_URL + "/"
    result = services.checkout(sale.order_id, success_url=done_url, cancel_url=done_url)
    url = result.checkout_url
    if url.startswith("/"):  # a phone scanning the QR needs the whole address
        url = settings.SITE_URL + url
    return refresh_qr_sale(sale.pk), url


def _void_unpaid(sale_id: str, why: str, actor) -> PosSale:
    with transaction.atomic():
        sale = PosSale.objects.select_for_update().select_related("location").get(pk=sale_id)
        if sale.status == PosSale.Status.PENDING_PAYMENT:
            _lock(sale.location)
            _give_back(sale, why, actor)
            sale.status = PosSale.Status.CANCELLED
            sale.resolution = why[:200]
            sale.save(update_fields=["status", "resolution"])
    return sale


def refresh_qr_sale(sale_id: str) -> PosSale:
    """Bring a QR sale up to date with its order: paid → completed; expired/cancelled → units back."""
    sale = PosSale.objects.select_related("order", "location").get(pk=sale_id)
    if sale.status != PosSale.Status.PENDING_PAYMENT or sale.order is None:
        return sale
    order = sale.order
    if order.status in Order.SETTLED:
        return _complete_paid(sale.pk)
    lapsed = order.status in Order.OPEN and order.expires_at <= timezone.now()
    if order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED) or lapsed:
        return _void_unpaid(sale.pk, "The buyer did not pay in time; the items went back on the table.", SYSTEM)
    return sale


def _complete_paid(sale_id: str) -> PosSale:
    with transaction.atomic():
        sale = PosSale.objects.select_for_update().get(pk=sale_id)
        if sale.status == PosSale.Status.PENDING_PAYMENT:
            sale.status = PosSale.Status.COMPLETED
            sale.save(update_fields=["status"])
    return sale


def cancel_unpaid_qr(sale_id: str, *, actor) -> PosSale:
    """The buyer walked away before paying: cancel the order, the units go back on the table."""
    sale = refresh_qr_sale(sale_id)
    if sale.status != PosSale.Status.PENDING_PAYMENT:
        raise Conflict(_("This sale is no longer waiting for payment."), code="not_pending")
    if sale.order_id:
        try:
            services.cancel(sale.order_id, actor=actor)
        except Conflict:  # paid meanwhile
            return refresh_qr_sale(sale_id)
    return _void_unpaid(sale_id, "Buyer did not pay; the items went back on the table.", actor)


def _on_order_paid(sender, order, **kwargs) -> None:
    sale_id = PosSale.objects.filter(order=order, status=PosSale.Status.PENDING_PAYMENT).values_list("pk", flat=True)
    for pk in sale_id:
        PosSale.objects.filter(pk=pk).update(status=PosSale.Status.COMPLETED)


def _on_online_change(sender, order, **kwargs) -> None:
    record_online(order)


def register() -> None:
    """Called from StockConfig.ready(): the pop-up QR sellable and the paid-order listener, and the
    online sales' movements in the central ledger."""
    order_paid.connect(_on_order_paid, dispatch_uid="stock.services.pos_paid")
    order_paid.connect(_on_online_change, dispatch_uid="stock.services.online_sale")
    order_refunded.connect(_on_online_change, dispatch_uid="stock.services.online_refund")
    register_pos_sellable()


# --- resolving conflicts ----------------------------------------------------------------------

def resolve_conflict(*, sale_id: str, action: str, source_id: str | None = None, actor) -> PosSale:
    """Settle a sale that took a location below zero — once; a second call on a resolved sale is refused.

    - "backorder": the sale stands; the missing units are recorded on it as owed to the buyer and the
      location's count goes back to zero (a correction), so its stock is not negative any more.
    - "cancel": the sale is voided — cash marked refunded, a QR order refunded through commerce (or
      cancelled when unpaid) — and its units go back to the location.
    - "transfer": the missing units come from another location (`source_id`), then the sale completes.
    """
    if action not in RESOLUTIONS:
        raise Invalid(_("Resolve by back-order, cancel or transfer."), fields={"action": [_("Unknown action.")]})
    sale = PosSale.objects.select_related("location").filter(pk=sale_id).first() if isinstance(sale_id, str) else None
    if sale is None:
        raise NotFound(_("No such sale."))
    require_role(actor, sale.location.creator_id, EDIT_ROLES)
    source = None
    if action == "transfer":
        source = location_for(actor, source_id) if source_id else None
        if source is None or source.creator_id != sale.location.creator_id or source.pk == sale.location_id:
            raise Invalid(_("Pick the location the units come from."),
                          fields={"source": [_("Choose another location.")]})
    refund_order = None
    with transaction.atomic():
        _lock(*(loc for loc in (sale.location, source) if loc is not None))
        sale = PosSale.objects.select_for_update(of=("self",)).select_related("location", "order").get(pk=sale.pk)
        if sale.status != PosSale.Status.CONFLICT:
            raise Conflict(_("This sale is not waiting to be resolved."), code="not_a_conflict")
        missing = missing_units(sale)
        who = getattr(actor, "email", "") or "staff"
        if action == "backorder":
            items = [dict(i) for i in sale.items]
            left = dict(missing)
            for item in items:
                owed = min(item["quantity"], left.get(item["variant"], 0))
                if owed:
                    item["owed"] = owed
                    left[item["variant"]] -= owed
            for variant_id, qty in missing.items():
                _move(sale.location, variant_id, qty, StockMovement.Reason.CORRECTION,
                      f"backorder:{sale.pk}:{variant_id}", note=f"Owed to the buyer of sale {sale.pk}", actor=actor)
            owed_text = ", ".join(f"{i['owed']} × {i['label']}" for i in items if i.get("owed")) or "nothing"
            sale.items = items
            sale.status = PosSale.Status.BACK_ORDERED
            sale.resolution = f"Back-ordered by {who}: owed {owed_text}."[:200]
        elif action == "cancel":
            _give_back(sale, f"Sale {sale.pk} cancelled", actor)
            sale.status = PosSale.Status.CANCELLED
            if sale.payment_method == PosSale.Payment.CASH:
                sale.resolution = f"Cancelled by {who}: {sale.total} {sale.currency} cash refunded."[:200]
            elif sale.order is not None and sale.order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
                refund_order = sale.order_id
                sale.resolution = f"Cancelled by {who}: order {sale.order_id} refunded."[:200]
            else:
                sale.resolution = f"Cancelled by {who}: order {sale.order_id or '-'} voided."[:200]
        else:
            for variant_id, qty in missing.items():
                transfer(source=source, target=sale.location, variant=variant_id, quantity=qty,
                         key=f"resolve:{sale.pk}:{variant_id}", note=f"For sale {sale.pk}", actor=actor)
            moved = ", ".join(f"{q} units" for q in missing.values()) or "nothing"
            sale.status = PosSale.Status.COMPLETED
            sale.resolution = f"Completed by {who}: {moved} moved from {source.name}."[:200]
        sale.save(update_fields=["items", "status", "resolution"])
        if refund_order:
            services.refund(refund_order, actor=actor, reason=f"Pop-up sale {sale.pk} cancelled")
    if action == "cancel" and sale.order_id and not refund_order:
        order = Order.objects.get(pk=sale.order_id)
        if order.status in Order.OPEN:
            services.cancel(order.pk, actor=actor)
    return sale


def recent_movements(location: StockLocation, limit: int = 200):
    return location.movements.select_related("variant", "variant__product", "created_by")[:limit]


def sales_of(location: StockLocation, limit: int = 100):
    return location.pos_sales.order_by("-sold_at")[:limit]


def locations_of(creator_id: str):
    return StockLocation.objects.filter(creator_id=creator_id).order_by("kind", "name")


def owed_sales(creator_id: str):
    return PosSale.objects.filter(location__creator_id=creator_id, status=PosSale.Status.BACK_ORDERED)

