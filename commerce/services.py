"""Selling: reserve stock, check out, confirm payment, cancel, expire and refund — once each.

`reserve` is the one primitive that takes stock (DESIGN.md "Never oversell"): it locks every
inventory pool a new order draws on, in key order, counts only active unexpired holds, and holds
the units in the same short transaction. Every later step locks the order row first, so a
confirmation delivered twice, or a cancel racing a payment, acts once.
"""
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from microstage import hotsql, queued, realtime
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES
from microstage.permissions import SYSTEM, require_role
from microstage.payments import services as payments
from microstage.payments.models import Payment

from . import credit, gate, holdlimits, inventory, sellables, stock_snapshot
from . import group_commit
from .models import Order, OrderLine
from .signals import order_paid, order_refunded

log = logging.getLogger(__name__)
MAX_QUANTITY = 100  # per line; anything above is a typo or an attack, not a purchase
MAX_LINES = 20
PURPOSE = "commerce.order"
EMAIL_TASK = "commerce.send_order_email"  # registered in commerce/tasks.py, queued by its name


@dataclass(frozen=True)
class LineRequest:
    kind: str
    item_id: str
    quantity: int
    # How the buyer wants to pay for this line beyond money, read by the selling app's offer
    # (e.g. {"pass": "pass_…"} or {"code": "MS_…"}); kept on the line.
    options: tuple[tuple[str, str], ...] = ()


def _validate_requests(requests: list[LineRequest]) -> None:
    if not requests:
        raise Invalid(gettext("An order needs at least one line."),
                      fields={"lines": [gettext("Add at least one line.")]})
    if len(requests) > MAX_LINES:
        raise Invalid(gettext("Too many lines in one order."),
                      fields={"lines": [gettext("At most %(count)d lines.") % {"count": MAX_LINES}]})
    for i, req in enumerate(requests):
        q = req.quantity
        if isinstance(q, bool) or not isinstance(q, int) or q < 1 or q > MAX_QUANTITY:
            raise Invalid(gettext("Quantities are whole numbers from 1 to 100."),
                          fields={f"lines[{i}].quantity": [gettext("Use a whole number from 1 to %(max)d.")
                                                           % {"max": MAX_QUANTITY}]})
        if sellables.get(req.kind) is None:
            raise Invalid(gettext("Unknown kind of item."), fields={f"lines[{i}]": [gettext("Unknown kind of item.")]})
        if len(req.options) > 4 or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 32
                                           and len(v) <= 64 for k, v in req.options):
            raise Invalid(gettext("Unknown payment options."),
                          fields={f"lines[{i}]": [gettext("Unknown payment options.")]})


def reserve(*, requests: list[LineRequest], buyer=None, email: str = "", hold_seconds: int | None = None,
            variant_prices=None) -> Order:
    """Hold the stock for a new order until `expires_at`; raises Conflict("sold_out") and friends.

    `hold_seconds` overrides MICROSTAGE_HOLD_SECONDS (a waiting-list offer is held longer).
    `variant_prices` are the buyer's experiment prices (microstage.overrides); without them, list prices.

    Offers (price, eligibility, pools) are asked for before the transaction, so no app code runs
    while pool rows are locked; the lock then only guards the arithmetic. The stock itself is taken by
    `take_stock`: together with the other reservations this process is taking at the same moment (one
    transaction, one lock wait, one commit for all of them; MICROSTAGE_RESERVE_BATCH_MAX), or alone
    inside the caller's transaction when there is one.
    """
    stock_snapshot.refuse_early(early_need(requests), timezone.now())  # a rush's refusals: before any read
    merged = _merged(requests)
    offers = [(_offer(kind, item_id, qty, buyer, dict(options), variant_prices), qty, dict(options))
              for (kind, item_id, options), qty in merged.items()]
    offers = holdlimits.with_account_limit(offers, buyer)
    creators = {o.creator_id for o, _, _ in offers}
    currencies = {o.currency for o, _, _ in offers}
    if len(creators) > 1 or len(currencies) > 1:
        raise Invalid(gettext("One order buys from one creator in one currency."),
                      fields={"lines": [gettext("Split items from different creators into separate orders.")]})
    email = (email or getattr(buyer, "email", "") or "").strip().lower()
    if not email:
        raise Invalid(gettext("We need an email address for the tickets and receipt."),
                      fields={"email": [gettext("Required.")]})
    if len(email) > 254 or not _is_email(email):  # Order.email is varchar(254): longer would be a 500
        raise Invalid(gettext("That email address does not look right."),
                      fields={"email": [gettext("Enter a valid email address.")]})

    need: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = {}
    limits = {key: sellables.as_limit(v) for o, _, _ in offers for key, v in o.limits.items()}
    for offer, qty, _ in offers:
        for key, total in offer.pools.items():
            need[key] += qty * offer.units.get(key, 1)
            totals[key] = total
        for key in offer.limits:
            need[key] = max(need[key], 1) if limits[key].per_order else need[key] + qty * offer.units.get(key, 1)
            totals[key] = limits[key].total
    stock_snapshot.refuse_if_sold_out(need, totals, timezone.now())  # out of stock: refused without the lock
    claim = Claim(offers=offers, need=dict(need), totals=totals, limits=limits, email=email,
                  buyer=buyer if buyer and buyer.is_authenticated else None, creator_id=creators.pop(),
                  currency=currencies.pop(), hold_seconds=hold_seconds)
    if settings.RESERVE_BATCH_MAX <= 1 or transaction.get_connection().in_atomic_block:
        return group_commit.unwrap(take_stock([claim])[0])  # in the caller's transaction: no batching
    return BATCHES.submit(claim)


def early_need(requests: list[LineRequest]) -> dict[str, int]:
    """What `reserve` asks of the stock snapshots before anything else: the units the lines take from
    their items' own pools, once the lines pass the checks every reservation passes first (raises
    Invalid like `reserve`). commerce/api/refusal_asgi.py answers a rush's refusals with it."""
    _validate_requests(requests)
    return _own_pools(_merged(requests))


def _merged(requests: list[LineRequest]) -> dict[tuple, int]:
    merged: dict[tuple, int] = defaultdict(int)
    for req in requests:
        merged[(req.kind, req.item_id, tuple(sorted(req.options)))] += req.quantity
    return merged


def _own_pools(merged: dict[tuple, int]) -> dict[str, int]:
    """Units the lines ask of their items' own pools, for the kinds that name that pool from the id."""
    own: dict[str, int] = defaultdict(int)
    for (kind, item_id, _options), qty in merged.items():
        key_of = sellables.get(kind).stock_key
        key = key_of(item_id) if key_of is not None and isinstance(item_id, str) and 0 < len(item_id) <= 64 else None
        if key:
            own[key] += qty
    return own


@dataclass
class Claim:
    """One reservation, priced and checked outside the lock, waiting to take its stock."""
    offers: list  # [(Offer, quantity, options)]
    need: dict[str, int]  # units per pool key
    totals: dict  # pool key -> total (or a function read under the lock)
    limits: dict  # pool key -> sellables.Limit (personal caps)
    email: str
    buyer: object
    creator_id: str
    currency: str
    hold_seconds: int | None


def take_stock(claims: list[Claim]) -> list:
    """Hold the stock of these claims in one transaction under their pools' locks (in key order), each
    all or nothing: one outcome per claim, its new Order or the Conflict that refused it.

    The one place stock is taken for a new order (DESIGN.md "Never oversell"): what is left is counted
    under the lock from the pools and their active unexpired holds, and every claim's holds are written
    before the lock is let go. Everything else (pricing, eligibility, the answer) happens outside."""
    totals: dict = {}
    for claim in claims:
        totals.update(claim.totals)
    outcomes: list = []
    new_orders, new_lines, new_holds, expiries = [], [], [], []
    with transaction.atomic():
        now = timezone.now()
        pools, held = _lock_and_count(totals, now)  # Conflict("busy") when the lock wait runs out
        soonest = getattr(held, "soonest", {})
        held = dict(held)  # grows with each claim of the batch that takes units
        left = inventory.left_in(pools, held)
        refused = False
        for claim in claims:
            refusal = _refusal(claim, left)
            if refusal is not None:
                outcomes.append(refusal)
                refused = True
                continue
            expires_at = now + timedelta(seconds=claim.hold_seconds
                                         or holdlimits.hold_seconds(pools, held, claim.need))
            order, lines, holds = _order_rows(claim, pools, expires_at)
            for key, qty in claim.need.items():
                left[key] -= qty
                held[pools[key].pk] = held.get(pools[key].pk, 0) + qty
            new_orders.append(order)
            new_lines += lines
            new_holds += holds
            expiries.append(expires_at)
            outcomes.append(order)
        if new_orders:
            announce(list({(o.kind, o.item_id): (o.kind, o.item_id, list(o.pools))
                           for claim, outcome in zip(claims, outcomes, strict=True)
                           if isinstance(outcome, Order) for o, _, _ in claim.offers}.values()), taken=True)
            stock_snapshot.remember_on_commit(pools, left, soonest, now, new_holds_expire=min(expiries))
            # Last: one statement, with the COMMIT that lets the pools go when the transaction is this one's.
            hotsql.insert(new_orders, new_lines, new_holds, commit=True)
        elif refused:
            stock_snapshot.remember_now(pools, left, soonest, now)  # nothing changed: what the lock saw
    return outcomes


def _refusal(claim: Claim, left: dict[str, int]) -> Conflict | None:
    for key, qty in sorted(claim.need.items()):
        if left[key] < qty and key in claim.limits:
            limit = claim.limits[key]
            detail = limit.detail or gettext("That is over the limit per person ({left} more allowed).")
            return Conflict(detail.format(left=left[key]), code=limit.code, available=left[key])
        if left[key] < qty:
            return Conflict(gettext("Sold out: not enough left for this quantity."), code="sold_out",
                            available=left[key])
    return None


def _order_rows(claim: Claim, pools: dict, expires_at) -> tuple[Order, list[OrderLine], list]:
    """The unsaved order, lines and holds of an accepted claim."""
    order = Order(creator_id=claim.creator_id, buyer=claim.buyer, email=claim.email, currency=claim.currency,
                  expires_at=expires_at)
    lines, holds, once = [], [], set()  # once: per-order limits already held by an earlier line
    limits = claim.limits
    for position, (offer, qty, options) in enumerate(claim.offers):
        line = OrderLine(order=order, kind=offer.kind, item_id=offer.item_id, description=offer.description[:255],
                         options=options, unit_price=offer.unit_price,
                         list_price=offer.list_price if offer.list_price is not None else offer.unit_price,
                         quantity=qty, total=offer.unit_price * qty, position=position)
        lines.append(line)
        holds += [inventory.hold(order=order, line=line, pool=pools[key], quantity=qty * offer.units.get(key, 1),
                                 expires_at=expires_at)
                  for key in {**offer.pools, **offer.limits} if not (key in limits and limits[key].per_order)]
        holds += [inventory.hold(order=order, line=line, pool=pools[key], quantity=1, expires_at=expires_at)
                  for key in offer.limits if limits[key].per_order and key not in once and not once.add(key)]
    add_up(order, lines)
    return order, lines, holds


def _release_connection() -> None:
    """A claim waiting for another thread's batch gives its database connection back to the pool."""
    transaction.get_connection().close()


# Reservations of this process that arrive together are written together (commerce/group_commit.py).
BATCHES = group_commit.GroupCommit(take_stock, max_batch=lambda: settings.RESERVE_BATCH_MAX,
                                   on_wait=_release_connection)


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def priced_offer(kind: str, item_id: str, quantity: int, buyer, options: dict):
    """The offer reserve would make for this line with these options (e.g. {"code": ...})."""
    return _offer(kind, item_id, quantity, buyer, options)


def _offer(kind: str, item_id: str, quantity: int, buyer, options: dict, variant_prices=None):
    sellable = sellables.get(kind)
    if options and kind == "product":  # goods (catalog) take a promo code, priced by its owner
        return sellables.with_code(sellable.offer(item_id, quantity, buyer), options)
    extra = {"options": options} if options else {}
    if (variant_prices or {}).get((kind, str(item_id))) is not None:  # an experiment prices this item (a drop)
        extra["variant_prices"] = variant_prices
    return sellable.offer(item_id, quantity, buyer, **extra)


def _lock_and_count(totals: dict, now):
    """The pools, locked, and the units held of each (with `.soonest`); a seam the concurrency tests widen."""
    return inventory.lock_and_count(totals, now)


def add_up(order: Order, lines) -> None:
    """The one place an order's money is added up (from its lines; not saved)."""
    order.subtotal = sum((ln.list_price * ln.quantity for ln in lines), Decimal("0"))
    order.total = sum((ln.total for ln in lines), Decimal("0"))
    order.discount = order.subtotal - order.total


def recompute_totals(order: Order) -> None:
    add_up(order, list(order.lines.all()))
    order.save(update_fields=["subtotal", "total", "discount"])


def announce(items: list[tuple[str, str, list[str]]], *, taken: bool = False) -> None:
    """Tell watchers the new availability of (kind, item, pool keys) once the transaction commits.

    Counted after the commit, so the pools' locks are not held for these reads (and the count is
    the committed one). Stock may have come back, so the pools' sold-out snapshots are dropped, unless
    the transaction only `taken` stock (a sale): a snapshot from before it can then only say more is
    left than is, which the lock corrects, and the sale writes its own at commit."""
    if not taken:
        stock_snapshot.forget_on_commit(k for _, _, keys in items for k in keys)
    transaction.on_commit(lambda: _announce_now(items))


def _announce_now(items: list[tuple[str, str, list[str]]]) -> None:
    for kind, item_id, keys in items:
        try:
            sellable = sellables.get(kind)
            group = sellable.group(item_id) if sellable and sellable.group else ""
            if group:
                realtime.publish_latest(group, f"stock:{item_id}", lambda item_id=item_id, keys=keys: {
                    "type": "stock", "item": item_id, "available": inventory.availability(keys)})
        except Exception:  # a live count must never fail the write that committed
            log.exception("stock of %s %s not announced", kind, item_id)


def _announce_order(order: Order) -> None:
    keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    for kind, item_id, key in inventory.order_pool_keys(order):
        if not key.startswith(sellables.LIMIT_PREFIX):  # personal caps are not availability
            keys[(kind, item_id)].append(key)
    announce([(kind, item_id, k) for (kind, item_id), k in keys.items()])


# --- checkout and payment ----------------------------------------------------------------------

@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    checkout_url: str = ""
    provider: str = ""


def lock_order(order_id: str) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(gettext("No such order."))
    return order


def _expire_if_due(order: Order, now=None) -> bool:
    """Mark an open order whose hold ran out as expired (its stock is already free by the clock).

    Also an order awaiting payment: a payment that still arrives goes through on_payment_paid,
    which takes the stock again if it is free and refunds otherwise.
    """
    now = now or timezone.now()
    if order.status in Order.OPEN and order.expires_at <= now:
        order.status = Order.Status.EXPIRED
        order.save(update_fields=["status"])
        inventory.release(order)
        credit.give_back(order)
        return True
    return False


def checkout(order_id: str, *, success_url: str = "", cancel_url: str = "", ip: str = "") -> CheckoutResult:
    """Zero totals are paid at once; otherwise a hosted checkout is started with the provider.

    Every attempt is recorded and scored first (risk/services.py, through commerce/gate.py; `ip` is the
    client's, hashed there): an extreme score is refused with Conflict("risk_refused")."""
    gate.check_checkout(order_id, ip=ip)
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status in Order.SETTLED:
            return CheckoutResult(order)
        if order.lines.filter(kind="group_buy").exists():  # paid at the group-buy's settlement, never here
            raise Conflict(gettext("This order is paid when its group-buy settles."), code="group_buy")
        # Raised after the block: inside it, the Conflict would roll back the EXPIRED status just saved.
        expired = order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED) or _expire_if_due(order)
        if not expired and order.status == Order.Status.RESERVED and order.payment_id is None:
            credit.apply_to(order)  # the buyer's store credit with this creator pays first
        if not expired and order.total == 0:
            mark_paid(order, payment=None)
            return CheckoutResult(order)
        if not expired and order.status == Order.Status.AWAITING_PAYMENT and order.payment_id:
            payment = order.payment
            if payment.status == Payment.Status.PENDING:
                return CheckoutResult(order, _checkout_url(payment), payment.provider)
        if not expired:
            # Started while the order row is locked: checkouts racing for one order wait here and then
            # reuse this payment above, so the money is taken once (never captured and refunded again).
            base = settings.SITE_URL + order.get_absolute_url()
            started = payments.start_checkout(
                amount=order.total, currency=order.currency, description=_describe(order), purpose=PURPOSE,
                reference=order.id, success_url=success_url or f"{base}?paid=1", cancel_url=cancel_url or base,
                customer_email=order.email, **gate.charge_params(order))
            order.status = Order.Status.AWAITING_PAYMENT
            order.payment = started.payment
            order.save(update_fields=["status", "payment"])
            return CheckoutResult(order, started.checkout_url, started.provider)
    raise Conflict(gettext("This reservation has expired. Start again to get new tickets."), code="expired")


def _checkout_url(payment: Payment) -> str:
    if payment.provider == "sandbox":
        return f"{settings.SITE_URL}/payments/sandbox/checkout/{payment.checkout_session}/"
    return payment.metadata.get("checkout_url", "")


def _describe(order: Order) -> str:
    return "; ".join(str(line) for line in order.lines.all())[:255]


def pay_in_person(order_id: str, *, actor) -> Order:
    """Cash taken at the door or the till: the reserved order is paid now, through the same delivery as a
    provider's confirmation (tickets issued, codes spent, points…), without a payment row. Twice is once.
    The creator's door team (or SYSTEM) takes the cash."""
    with transaction.atomic():
        order = lock_order(order_id)
        require_role(actor, order.creator_id, DOOR_ROLES)
        if order.status in Order.SETTLED:
            return order
        if _expire_if_due(order):
            raise Conflict(gettext("This sale's hold ran out; ring it up again."), code="expired")
        if order.status not in Order.OPEN:
            raise Conflict(gettext("This order can no longer be paid."), code="not_payable")
        mark_paid(order, None)
        log.info("order %s paid in person (cash) by %s", order.pk, getattr(actor, "pk", None))
    return order


def sandbox_pay(order_id: str) -> Order:
    """Sandbox only: pay an order through the same confirmation path a provider webhook takes."""
    if settings.PAYMENTS_PROVIDER != "sandbox":
        raise NotFound(gettext("Sandbox payments are not available."))
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(gettext("No such order."))
    if order.status in Order.SETTLED:
        return order
    result = checkout(order_id)
    if result.order.status == Order.Status.PAID:
        return result.order
    payment = Order.objects.get(pk=order_id).payment
    payments.sandbox_complete(payment, "pay")
    return Order.objects.get(pk=order_id)


def on_payment_paid(payment: Payment) -> None:
    """Gateway callback (inside its transaction): the money for an order is in."""
    order = lock_order(payment.reference)
    if order.status in Order.SETTLED:
        if order.payment_id != payment.pk:
            # A second payment for an order already settled (two checkouts started at once, both paid):
            # the order keeps the first; this money goes back.
            log.warning("payment %s for settled order %s (paid by %s): refunding it", payment.pk, order.pk,
                        order.payment_id)
            transaction.on_commit(lambda: _refund_late_payment(payment.pk))
        return  # a second confirmation of the same order: nothing more to do
    if order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED) or order.expires_at <= timezone.now():
        if not _rehold(order):
            # Paid too late and the stock went to someone else: give the money back, never oversell.
            order.status = Order.Status.REFUNDED
            order.note = "Paid after the reservation expired and the items were sold out; refunded in full."
            order.payment = payment
            order.refunded_total = order.total
            order.save(update_fields=["status", "note", "payment", "refunded_total"])
            transaction.on_commit(lambda: _refund_late_payment(payment.pk))
            return
        credit.spend_again(order)
    order.payment = payment
    mark_paid(order, payment)


def _refund_late_payment(payment_id: str) -> None:
    try:
        payments.refund(payment_id)
    except Exception:  # the gateway records failures; staff see the order note and the payment
        log.exception("automatic refund of late payment %s failed", payment_id)


def _rehold(order: Order) -> bool:
    """Take the stock again for an order whose hold lapsed (a late payment); False if it is gone.

    The order's own holds are expired or released here, so they are not in the active count.
    """
    return inventory.rehold(order, timezone.now())


def mark_paid(order: Order, payment: Payment | None) -> None:
    """Turn holds into sales and let each line's app deliver (tickets, downloads…). Order is locked."""
    # Caps on unpaid holds only (OPEN_LIMIT_PREFIX) sell nothing, but stay locked with the rest: what
    # they count (a pass's credits) changes in this transaction.
    inventory.sell(order, skip_prefix=sellables.OPEN_LIMIT_PREFIX)
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at", "payment"])
    if gate.on_paid(order, payment) is not None:
        # Held for a staff review: nothing is delivered and no ledger sees the sale until it is
        # approved (risk.approve calls deliver_paid_order); a rejection refunds it.
        _email_on_commit(order.pk, "held")
    else:
        deliver_paid_order(order)
    _announce_order(order)


def deliver_paid_order(order: Order) -> None:
    """Once per paid order (order locked): each line's app delivers (tickets, downloads, passes…) and
    the order_paid receivers book it (ledger, loyalty points, analytics); then the confirmation.

    The lines are read once here for the apps and every receiver (`order.lines.all()`), and
    forgotten afterwards so a later change to them is read afresh."""
    from django.db.models import prefetch_related_objects  # here: the imports above are reserve()'s side

    prefetch_related_objects([order], "lines")
    try:
        for line in order.lines.all():
            sellable = sellables.get(line.kind)
            if sellable and sellable.on_paid:
                sellable.on_paid(line)
        order_paid.send(sender=Order, order=order)
    finally:
        order._prefetched_objects_cache.pop("lines", None)
    _email_on_commit(order.pk, "paid")


def on_payment_failed(payment: Payment) -> None:
    """The payer gave up or the card was declined: the order stays open until its hold expires."""
    order = lock_order(payment.reference)
    if order.status == Order.Status.AWAITING_PAYMENT:
        order.status = Order.Status.RESERVED
        order.save(update_fields=["status"])


# --- cancel, expire, refund --------------------------------------------------------------------

def cancel(order_id: str, *, actor) -> Order:
    """The buyer (or staff) gives up an unpaid order: its held stock is free again at once."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status in Order.SETTLED:
            raise Conflict(gettext("This order is paid; ask the creator for a refund instead."), code="already_paid")
        if order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED):
            return order
        order.status = Order.Status.CANCELLED
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
        inventory.release(order)
        credit.give_back(order)
        for line in order.lines.all():
            sellable = sellables.get(line.kind)
            if sellable and sellable.on_cancelled:
                sellable.on_cancelled(line)
        _announce_order(order)
    if order.payment_id:
        transaction.on_commit(lambda: _release_quietly(order.payment_id))
    return order


def _release_quietly(payment_id: str) -> None:
    try:
        payments.release(payment_id)
    except Exception:  # noqa: BLE001 - an unpaid checkout that cannot be cancelled simply lapses
        log.info("could not release payment %s", payment_id, exc_info=True)


def expire_due_orders(now=None) -> int:
    """Housekeeping only (statuses and emails): stock is already free by the clock."""
    now = now or timezone.now()
    n = 0
    for order_id in Order.objects.filter(status=Order.Status.RESERVED, expires_at__lte=now).values_list("pk",
                                                                                                         flat=True):
        with transaction.atomic():
            n += _expire_if_due(lock_order(order_id), now)
    return n


def refund(order_id: str, *, actor, line_ids: list[str] | None = None, reason: str = "",
           provider_done: bool = False) -> Order:
    """Refund a paid order, whole or some lines: money back, stock back, tickets voided. The creator's
    owners and managers refund, or SYSTEM (staff in the admin, a risk rejection, the provider's webhook).

    `provider_done`: the money already went back at the provider (a refund made in its dashboard);
    only our side is brought in line."""
    with transaction.atomic():
        order = lock_order(order_id)
        require_role(actor, order.creator_id, EDIT_ROLES)
        if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
            raise Conflict(gettext("Only paid orders can be refunded."), code="not_refundable")
        lines = list(order.lines.all())
        by_id = {ln.id: ln for ln in lines}
        if line_ids:
            unknown = [i for i in line_ids if i not in by_id]
            if unknown:
                raise Invalid(gettext("Unknown order lines."),
                              fields={"lines": [gettext("Not in this order: %(lines)s")
                                                % {"lines": ", ".join(unknown)}]})
            chosen = [by_id[i] for i in dict.fromkeys(line_ids)]
        else:
            chosen = lines
        chosen = [ln for ln in chosen if ln.active_quantity > 0]
        if not chosen:
            raise Conflict(gettext("Those lines are already refunded."), code="already_refunded")
        delivered = gate.is_delivered(order)  # a held or rejected order issued nothing to take back
        if not delivered and len(chosen) < len([ln for ln in lines if ln.active_quantity > 0]):
            # Approval delivers whole orders; a held order is refunded whole or not at all.
            raise Conflict(gettext("This order is waiting for a risk review: refund all of it, "
                                   "or wait for the decision."),
                           code="held_for_review")
        amount = sum((ln.unit_price * ln.active_quantity for ln in chosen), Decimal("0"))
        # Store credit: what the order spent comes back as credit, what the lines granted goes; a part
        # of that already spent is kept out of the money (commerce/credit.py).
        amount, credit_note = credit.settle_refund(order, chosen, amount)
        per_pool: dict[int, int] = defaultdict(int)
        for ln in chosen:
            qty = ln.active_quantity
            for h in inventory.sold_holds(ln):
                per_pool[h.inventory_id] += h.quantity * qty // ln.quantity  # a bundle holds several per unit
            ln.refunded_quantity = ln.quantity
            ln.save(update_fields=["refunded_quantity"])
            sellable = sellables.get(ln.kind)
            if sellable and sellable.on_refunded and delivered:
                sellable.on_refunded(ln, qty)
        inventory.unsell(per_pool)
        order.refunded_total += amount
        fully = all(ln.active_quantity == 0 for ln in lines)
        order.status = Order.Status.REFUNDED if fully else Order.Status.PARTIALLY_REFUNDED
        if reason or credit_note:
            order.note = " ".join(x for x in (reason, credit_note) if x)[:255]
        order.save(update_fields=["refunded_total", "status", "note"])
        order_refunded.send(sender=Order, order=order, amount=amount)  # the creator's ledger (payouts/money.py)
        if order.payment_id and amount > 0 and not provider_done:
            payments.refund(order.payment_id, amount)
        _email_on_commit(order.pk, "refunded")
        _announce_order(order)
    return order


def on_payment_refunded(payment: Payment, *args) -> None:
    """Gateway callback (inside its transaction) when the provider reports refunded money.

    Refunds made here already counted themselves on the order first, so nothing more happens. A
    refund made at the provider (e.g. in Stripe's dashboard) is brought in: all of it → the order is
    refunded here too (stock back, tickets voided, ledger); part of it → recorded as a partial refund
    for the creator's team to match to lines.
    """
    order = Order.objects.select_for_update().filter(pk=payment.reference).first()
    if order is None or order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
        return
    if order.payment_id != payment.pk:
        return  # a second payment for the same order, refunded by on_payment_paid: the order keeps the first
    outside = payment.refunded_amount - order.refunded_total
    if outside <= 0:
        return
    if payment.refunded_amount >= order.total:
        refund(order.pk, actor=SYSTEM, reason="Refunded at the payment provider.", provider_done=True)
        return
    order.refunded_total += outside
    order.status = Order.Status.PARTIALLY_REFUNDED
    order.note = f"{outside} {order.currency} refunded at the payment provider; match it to lines."[:255]
    order.save(update_fields=["refunded_total", "status", "note"])
    order_refunded.send(sender=Order, order=order, amount=outside)


def _email_on_commit(order_id: str, what: str) -> None:
    """The order's email (paid, held or refunded receipt) is queued to the workers once the transaction
    commits (by the task's name, EMAIL_TASK: commerce/tasks.py), so rendering and sending it never take
    the paying (or settling) thread's time."""
    queued.after_commit(EMAIL_TASK, order_id, what)


def send_order_email(order_id: str, what: str, token: str = "") -> None:
    """Render and send an order's email (what: paid, held, refunded); run by the workers (EMAIL_TASK),
    once per queued delivery (`token`)."""
    from .emails import send_order_email as send

    queued.once(token, lambda: send(order_id, what))
