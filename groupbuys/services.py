"""Group-buys: create, price, join, leave and settle — every write and rule about them, once.

Money: joining authorises the full (list) price now, or — when the deadline is further out than a
card hold lasts — saves the payment method and charges it off-session at the deadline. Settlement
decides the outcome once, under the group-buy's row lock (SUCCEEDED with a final price, or FAILED),
then settles participants one by one, each in its own transaction: the gateway's capture (or
off-session charge, or release) and the handler that records it (participant captured, order paid
at the final price) commit together. A crash part-way leaves finished participants finished; the
next run (the beat task every minute) picks up the rest. When none is left, the group-buy is SETTLED.

Orders are built here, not through `services.reserve`: a reservation's hold lasts minutes, a
group-buy commitment lasts until the deadline, and the cap is enforced by `committed_quantity`
under the group-buy's row lock (plus the model's check constraint).

Stock: a product that is not `made_to_order` is sold from its variant's pool ("variant:<id>"), the
same pool the shop and drops sell from. Joining holds the units there (commerce.inventory.reserve,
all or nothing: 409 `sold_out` when they are not free) until the order's expiry — past the deadline
and the settlement's retry — so nothing else can sell them; leaving, a declined card or a failed
group-buy releases them, success turns them into sales (`mark_paid`). A made-to-order product takes
no stock: only the cap limits it, as before.
The order line is of the "group_buy" sellable kind, priced at the list price until settlement
reprices it (totals through `services.recompute_totals`, the one place they are added up).

Lock order, so nothing deadlocks: group-buy → participant → order (join, decide); the buyer's
order cancel (= leave) goes order → group-buy → participant only while the group-buy is open, and
participants are settled only after it stopped being open.
"""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext

from microstage.money import parse_amount
from microstage import overrides, queued, realtime
from microstage.i18n import language_for
from microstage.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from microstage.models import EDIT_ROLES
from microstage.payments import services as payments
from microstage.payments.models import Payment
from microstage.payments.providers.base import CardDeclined, ProviderError
from microstage.permissions import require_role

from commerce import gate, inventory, sellables, signals
from commerce.models import Order, OrderLine
from catalog.models import Product, ProductVariant

from .models import GroupBuy, GroupBuyParticipant, GroupBuyPriceTier

log = logging.getLogger(__name__)
P = GroupBuyParticipant.Status
KIND = "group_buy"
PURPOSE = "commerce.group_buy"
MAX_TIERS = 10
MAX_JOIN_QUANTITY = 100
MAX_CAP = 1_000_000
MAX_AHEAD = timedelta(days=366)
# Card authorisations last about 7 days: further out, the card is saved and charged at the deadline.
SAVED_CARD_AFTER = timedelta(days=6)
# An off-session charge that is declined is retried once, this long after settlement started.
DECLINE_GRACE = timedelta(hours=24)
MAX_CHARGE_ATTEMPTS = 2
ACTIVE = (P.PENDING, P.AUTHORIZED)
DONE = (P.CAPTURED, P.RELEASED, P.DECLINED, P.CANCELLED)
LOCK_SECONDS = 300
SYNC_SETTLE_MAX = 200  # participants settled within the team's request (sandbox only); more are queued
EMAIL_TASK = "groupbuys.send_group_buy_email"  # registered in groupbuys/tasks.py, queued by its name


# --- pricing -------------------------------------------------------------------------------------

def list_price(gb: GroupBuy) -> Decimal:
    """What one unit costs without the group: the variant's price, else the product's."""
    return gb.variant.unit_price if gb.variant_id else gb.product.price


def offer_price(gb: GroupBuy, variant_prices=None) -> Decimal:
    """What joining authorises per unit: the list price, or the joiner's experiment (lower) variant price
    from `variant_prices` (microstage.overrides), which then also caps the group price charged (`charged_unit`)."""
    return min(list_price(gb), overrides.price(KIND, gb.pk, list_price(gb), variant_prices))


def charged_unit(gb: GroupBuy, participant: GroupBuyParticipant, lines=None) -> Decimal:
    """The group's final price, never above what the participant's join authorised per unit (from its
    order's `lines` when they were read already)."""
    if lines is None:
        authorised = _authorised_units(participant.order_id, gb.pk).values_list("list_price", flat=True).first()
    else:
        authorised = next((ln.list_price for ln in lines if ln.kind == KIND and ln.item_id == gb.pk), None)
    return capped_unit(gb, authorised)


def capped_unit(gb: GroupBuy, authorised: Decimal | None) -> Decimal:
    """The group's final price, never above `authorised` (what the join authorised per unit; None: no cap)."""
    return gb.final_price if authorised is None else min(gb.final_price, authorised)


def _authorised_units(order_id, group_buy_id):
    """The group-buy line of a participant's order (its `list_price` is what the join authorised per unit);
    the ids may be OuterRefs, for a subquery."""
    return OrderLine.objects.filter(order_id=order_id, kind=KIND, item_id=group_buy_id).values("list_price")


def tiers_of(gb: GroupBuy) -> list[GroupBuyPriceTier]:
    cached = getattr(gb, "_tiers", None)
    if cached is None:
        cached = sorted(gb.price_tiers.all(), key=lambda t: t.min_quantity)
        gb._tiers = cached
    return cached


def reached_tier(gb: GroupBuy, quantity: int | None = None) -> GroupBuyPriceTier | None:
    quantity = gb.committed_quantity if quantity is None else quantity
    reached = None
    for tier in tiers_of(gb):
        if tier.min_quantity <= quantity:
            reached = tier
    return reached


@dataclass(frozen=True)
class Progress:
    committed_quantity: int
    current_price: Decimal
    next_tier: GroupBuyPriceTier | None
    needed: int
    tier_reached: bool
    left: int | None  # units left under the cap, None without a cap

    def as_payload(self, gb: GroupBuy) -> dict:
        return {"type": "group_buy", "id": gb.pk, "status": gb.status, "outcome": gb.outcome,
                "committed_quantity": self.committed_quantity, "current_price": str(self.current_price),
                "currency": gb.currency,
                "next_tier": ({"min_quantity": self.next_tier.min_quantity, "price": str(self.next_tier.price)}
                              if self.next_tier else None),
                "needed": self.needed}


def progress(gb: GroupBuy) -> Progress:
    """Current price (the tier reached, or the list price before the first), next tier, how many more."""
    if gb.final_price is not None:
        current = gb.final_price
    else:
        tier = reached_tier(gb)
        current = tier.price if tier else list_price(gb)
    nxt = next((t for t in tiers_of(gb) if t.min_quantity > gb.committed_quantity), None)
    needed = nxt.min_quantity - gb.committed_quantity if nxt else 0
    left = None if gb.max_quantity is None else max(0, gb.max_quantity - gb.committed_quantity)
    return Progress(gb.committed_quantity, current, nxt, needed, reached_tier(gb) is not None, left)


def _publish(gb: GroupBuy) -> None:
    """Tell watchers (the event's page and the group-buy's own group) once the change commits."""
    payload = progress(gb).as_payload(gb)
    if gb.event_id:
        try:
            realtime.publish(realtime.event_group(gb.event_id), payload)
        except ValueError:  # an odd event id must not break the write
            log.warning("group-buy %s has an unusable event id %r", gb.pk, gb.event_id)
    realtime.publish(f"group_buy.{gb.pk}", payload)


# --- create --------------------------------------------------------------------------------------

def _decimal(value, field: str) -> Decimal:
    return parse_amount(value, field=field, maximum=Decimal("99999999.99"))


def _whole(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(_("Use a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
                      fields={field: [_("From %(low)d to %(high)d.") % {"low": low, "high": high}]})
    return value


def create_group_buy(*, actor, creator_id: str, product_id: str, deadline, price_tiers: list, variant_id: str = "",
                     event_id: str = "", max_quantity: int | None = None, title: str = "") -> GroupBuy:
    """A new open group-buy of one of the creator's products (team owners and managers only)."""
    creator = require_role(actor, creator_id, EDIT_ROLES)
    product = Product.objects.filter(pk=product_id, creator=creator).first() if isinstance(product_id, str) else None
    if product is None:
        raise NotFound(_("No such product."))
    variant = None
    if variant_id:
        variant = ProductVariant.objects.filter(pk=variant_id, product=product).first()
        if variant is None:
            raise NotFound(_("No such variant of this product."))
    elif not product.made_to_order and product.variants.count() > 1:
        raise Invalid(gettext("Choose which variant this group-buy sells (its stock is held), or make the "
                              "product made to order."), fields={"variant": [gettext("Choose a variant.")]})
    now = timezone.now()
    if deadline is None or timezone.is_naive(deadline):
        raise Invalid(_("The deadline needs a date, a time and a timezone."), fields={"deadline": [_("Invalid.")]})
    if deadline <= now:
        raise Invalid(_("The deadline must be in the future."), fields={"deadline": [_("Must be in the future.")]})
    if deadline > now + MAX_AHEAD:
        raise Invalid(_("The deadline is at most a year away."), fields={"deadline": [_("At most a year away.")]})
    if not isinstance(price_tiers, list | tuple) or not 1 <= len(price_tiers) <= MAX_TIERS:
        raise Invalid(_("Give from 1 to %(max)d price tiers.") % {"max": MAX_TIERS},
                      fields={"price_tiers": [_("1 to %(max)d tiers.") % {"max": MAX_TIERS}]})
    base = variant.unit_price if variant else product.price
    tiers: list[tuple[int, Decimal]] = []
    for i, raw in enumerate(price_tiers):
        if not isinstance(raw, dict):
            raise Invalid(_("Each tier is {min_quantity, price}."), fields={f"price_tiers[{i}]": [_("Invalid.")]})
        qty = _whole(raw.get("min_quantity"), f"price_tiers[{i}].min_quantity", 1, MAX_CAP)
        price = _decimal(raw.get("price"), f"price_tiers[{i}].price")
        if tiers and qty <= tiers[-1][0]:
            raise Invalid(_("Tier thresholds must strictly increase."),
                          fields={f"price_tiers[{i}].min_quantity": [_("Must be more than the tier before.")]})
        if tiers and price > tiers[-1][1]:
            raise Invalid(_("A larger group never pays more: prices must not increase."),
                          fields={f"price_tiers[{i}].price": [_("Must not be more than the tier before.")]})
        if price > base:
            # Joining authorises the list price; a capture can never take more than was authorised.
            raise Invalid(_("A tier price cannot be above the product's price."),
                          fields={f"price_tiers[{i}].price": [_("At most %(price)s.") % {"price": base}]})
        tiers.append((qty, price))
    if max_quantity is not None:
        max_quantity = _whole(max_quantity, "max_quantity", 1, MAX_CAP)
        if max_quantity < tiers[-1][0]:
            raise Invalid(_("The cap must allow the top tier to be reached."),
                          fields={"max_quantity": [_("At least %(count)d.") % {"count": tiers[-1][0]}]})
    event_id = (event_id or "").strip()
    if event_id and not _creator_has_event(creator.pk, event_id):
        raise NotFound(_("No such event."))
    title = (title or "").strip()[:120]
    with transaction.atomic():
        gb = GroupBuy.objects.create(creator=creator, product=product, variant=variant, event_id=event_id,
                                     title=title, deadline=deadline, max_quantity=max_quantity,
                                     currency=product.currency)
        GroupBuyPriceTier.objects.bulk_create([GroupBuyPriceTier(group_buy=gb, min_quantity=q, price=p)
                                               for q, p in tiers])
        _publish(gb)
    return gb


def _creator_has_event(creator_id: str, event_id: str) -> bool:
    """Commerce may not import events (layering); the model is looked up by name at run time."""
    if len(event_id) > 40 or not apps.is_installed("events"):
        return False
    return apps.get_model("events", "Event").objects.filter(pk=event_id, creator_id=creator_id).exists()


# --- join and leave ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JoinResult:
    participant: GroupBuyParticipant
    order: Order
    status: str  # "authorized" | "awaiting_payment"
    payment: Payment | None = None
    client_secret: str = ""
    checkout_url: str = ""  # the provider's hosted page where the payer authorises (Stripe Checkout)


def get_group_buy(gb_id) -> GroupBuy:
    gb = (GroupBuy.objects.select_related("product", "variant", "variant__product").filter(pk=gb_id).first()
          if isinstance(gb_id, str) else None)
    if gb is None:
        raise NotFound(_("No such group-buy."))
    return gb


def _lock(gb_id: str) -> GroupBuy:
    gb = GroupBuy.objects.select_for_update().filter(pk=gb_id).first()
    if gb is None:
        raise NotFound(_("No such group-buy."))
    return gb


def join(*, group_buy_id: str, user, quantity: int, payment_method: str = "", variant_prices=None) -> JoinResult:
    """Commit `quantity` units: a seat under the cap (row lock), an order at list price, money authorised.

    Raises Conflict "closed" after the deadline, "sold_out" over the cap (nothing created then).
    """
    if not getattr(user, "is_authenticated", False):
        raise Forbidden(_("Log in to join a group-buy."))
    quantity = _whole(quantity, "quantity", 1, MAX_JOIN_QUANTITY)
    gb = get_group_buy(group_buy_id)
    gate.require_charges(gb.creator_id)  # with Connect on, not before the creator's account takes charges
    unit = offer_price(gb, variant_prices)
    email = (user.email or "").strip().lower()
    with transaction.atomic():
        gb = _lock(gb.pk)
        if gb.status != GroupBuy.Status.OPEN or gb.deadline <= timezone.now():
            raise Conflict(_("This group-buy has closed."), code="closed")
        if gb.max_quantity is not None and gb.committed_quantity + quantity > gb.max_quantity:
            left = gb.max_quantity - gb.committed_quantity
            raise Conflict(ngettext("Only %(count)d left in this group-buy.", "Only %(count)d left in this group-buy.",
                                    left) % {"count": left} if left else _("This group-buy is full."),
                           code="sold_out", available=left)
        GroupBuy.objects.filter(pk=gb.pk).update(committed_quantity=F("committed_quantity") + quantity)
        gb.committed_quantity += quantity
        order = Order.objects.create(creator_id=gb.creator_id, buyer=user, email=email, currency=gb.currency,
                                     status=Order.Status.AWAITING_PAYMENT,
                                     expires_at=gb.deadline + DECLINE_GRACE * MAX_CHARGE_ATTEMPTS)
        line = OrderLine.objects.create(order=order, kind=KIND, item_id=gb.pk, description=f"Group-buy: {gb}"[:255],
                                        unit_price=unit, list_price=unit, quantity=quantity, total=unit * quantity)
        stocked = stock_variant(gb)
        if stocked is not None:  # the units are held in the pool the shop and drops sell from
            key = inventory.variant_key(stocked.pk)
            inventory.reserve(order=order, line=line, need={key: quantity}, totals={key: stocked.stock},
                              expires_at=order.expires_at)
        _recompute(order)
        participant = GroupBuyParticipant.objects.create(group_buy=gb, user=user, quantity=quantity, order=order)
        gb = get_group_buy(gb.pk)
        _publish(gb)
    saved_card = gb.deadline - timezone.now() > SAVED_CARD_AFTER
    try:
        if order.total <= 0:  # a free product: nothing to authorise
            _set_participant(participant.pk, status=P.AUTHORIZED, outcome="Nothing to pay.")
        elif saved_card and not payment_method and settings.PAYMENTS_PROVIDER != "sandbox":
            # The card is saved on the provider's page (Checkout in setup mode); on_card_saved follows.
            customer = payments.create_customer(email=email, name=getattr(user, "display_name", "") or "")
            _set_participant(participant.pk, customer=customer)
            page = f"{settings.SITE_URL}/g/{gb.pk}/"
            url = payments.start_setup_checkout(customer=customer, purpose=PURPOSE, reference=participant.pk,
                                                success_url=f"{page}?joined=1", cancel_url=page)
            participant.refresh_from_db()
            return JoinResult(participant, Order.objects.get(pk=order.pk), "awaiting_payment", None,
                              checkout_url=url)
        elif saved_card:
            customer = payments.create_customer(email=email, name=getattr(user, "display_name", "") or "")
            setup = payments.save_payment_method(customer=customer, payment_method=payment_method)
            fields = {"customer": customer, "payment_method": setup.payment_method}
            if setup.status == "succeeded":
                fields["status"] = P.AUTHORIZED
            _set_participant(participant.pk, **fields)
            participant.refresh_from_db()
            return JoinResult(participant, Order.objects.get(pk=order.pk),
                              "authorized" if participant.status == P.AUTHORIZED else "awaiting_payment",
                              None, setup.client_secret)
        elif not payment_method and settings.PAYMENTS_PROVIDER != "sandbox":
            # No card yet: the payer authorises on the provider's hosted page (Checkout, manual capture);
            # its webhook reaches on_payment_authorized like any other confirmation.
            page = f"{settings.SITE_URL}/g/{gb.pk}/"
            started = payments.start_checkout(
                amount=order.total, currency=order.currency, description=f"Group-buy {gb}"[:255], purpose=PURPOSE,
                reference=participant.pk, success_url=f"{page}?joined=1", cancel_url=page,
                capture=Payment.Capture.MANUAL, customer_email=email, metadata={"order": order.pk, "group_buy": gb.pk})
            with transaction.atomic():
                GroupBuyParticipant.objects.filter(pk=participant.pk, payment__isnull=True).update(
                    payment=started.payment)
            participant.refresh_from_db()
            return JoinResult(participant, Order.objects.get(pk=order.pk), "awaiting_payment", started.payment,
                              checkout_url=started.checkout_url)
        else:
            payment = payments.authorize(amount=order.total, currency=order.currency,
                                         description=f"Group-buy {gb}"[:255], purpose=PURPOSE,
                                         reference=participant.pk, payment_method=payment_method,
                                         metadata={"order": order.pk, "group_buy": gb.pk})
            participant.refresh_from_db()
            if payment.status == Payment.Status.FAILED:
                raise CardDeclined(payment.failure_message or "The card was declined.")
            with transaction.atomic():
                GroupBuyParticipant.objects.filter(pk=participant.pk, payment__isnull=True).update(payment=payment)
            participant.refresh_from_db()
            return JoinResult(participant, Order.objects.get(pk=order.pk),
                              "authorized" if participant.status == P.AUTHORIZED else "awaiting_payment",
                              payment, getattr(payment, "client_secret", ""))
    except ServiceError:
        _abandon(participant.pk, "The card was not accepted when joining.")
        raise
    participant.refresh_from_db()
    return JoinResult(participant, Order.objects.get(pk=order.pk), "authorized", None)


def stock_variant(gb: GroupBuy) -> ProductVariant | None:
    """The variant whose stock a group-buy holds: None for a made-to-order product (and for a product
    with no single variant to take from, as group-buys made before products said so)."""
    product = gb.product
    if product.made_to_order:
        return None
    if gb.variant_id:
        return gb.variant
    variants = list(product.variants.all()[:2])
    return variants[0] if len(variants) == 1 else None


def _recompute(order: Order) -> None:
    from commerce.services import recompute_totals  # the one place totals are added up

    recompute_totals(order)


def _set_participant(participant_id: str, **fields) -> None:
    with transaction.atomic():
        GroupBuyParticipant.objects.filter(pk=participant_id).update(**fields)


def leave(*, participant_id: str, user) -> GroupBuyParticipant:
    """Give up a seat before the deadline: the order is cancelled, the authorisation released."""
    from commerce.services import cancel

    participant = GroupBuyParticipant.objects.filter(pk=participant_id).first() \
        if isinstance(participant_id, str) else None
    if participant is None or participant.user_id != getattr(user, "pk", None):
        raise NotFound(_("No such participation."))
    cancel(participant.order_id, actor=user)  # → on_order_cancelled below, inside cancel's transaction
    participant.refresh_from_db()
    return participant


def on_order_cancelled(line: OrderLine) -> None:
    """Sellable callback (order locked by services.cancel): the buyer leaves; refused after the deadline."""
    gb = _lock(line.item_id)
    # Checked before the participant is locked: settlement locks participant then order, the other way round,
    # but only once the group-buy is no longer open — so a cancel that gets past this check cannot meet it.
    if gb.status != GroupBuy.Status.OPEN or gb.deadline <= timezone.now():
        raise Conflict(_("The deadline has passed: this group-buy is being settled."), code="closed")
    participant = GroupBuyParticipant.objects.select_for_update().filter(order_id=line.order_id).first()
    if participant is None or participant.status not in ACTIVE:
        return
    _free_seat(gb, participant, P.CANCELLED, "Left before the deadline.")


def _free_seat(gb: GroupBuy, participant: GroupBuyParticipant, status: str, outcome: str) -> None:
    """Locked group-buy and participant: give the units back under the cap and tell watchers."""
    GroupBuy.objects.filter(pk=gb.pk).update(committed_quantity=F("committed_quantity") - participant.quantity)
    participant.status, participant.outcome, participant.settled_at = status, outcome[:255], timezone.now()
    participant.save(update_fields=["status", "outcome", "settled_at"])
    _publish(get_group_buy(gb.pk))


def _abandon(participant_id: str, outcome: str) -> None:
    """Joining failed after the seat was taken (declined card, provider down): undo seat and order."""
    with transaction.atomic():
        participant = GroupBuyParticipant.objects.select_related("group_buy").get(pk=participant_id)
        gb = _lock(participant.group_buy_id)
        participant = GroupBuyParticipant.objects.select_for_update().get(pk=participant_id)
        if participant.status not in ACTIVE:
            return
        order = Order.objects.select_for_update().get(pk=participant.order_id)
        if gb.status == GroupBuy.Status.OPEN:
            _free_seat(gb, participant, P.CANCELLED, outcome)
        else:
            participant.status, participant.outcome = P.CANCELLED, outcome[:255]
            participant.settled_at = timezone.now()
            participant.save(update_fields=["status", "outcome", "settled_at"])
        _cancel_order(order, outcome)


def _cancel_order(order: Order, note: str) -> None:
    if order.status in Order.OPEN:
        order.status, order.cancelled_at, order.note = Order.Status.CANCELLED, timezone.now(), note[:255]
        order.save(update_fields=["status", "cancelled_at", "note"])
        inventory.release(order)  # the held stock is free again at once


def sellable_offer(item_id, quantity, buyer):
    raise Conflict(_("Join the group-buy on its page to buy at the group price."), code="not_on_sale")


# --- gateway callbacks (inside the gateway's transaction, Payment locked) ------------------------

def _participant_for(payment: Payment) -> GroupBuyParticipant | None:
    return (GroupBuyParticipant.objects.select_for_update().select_related("group_buy")
            .filter(pk=payment.reference).first())


def on_payment_authorized(payment: Payment) -> None:
    participant = _participant_for(payment)
    if participant and participant.status == P.PENDING:
        participant.status, participant.payment = P.AUTHORIZED, payment
        participant.save(update_fields=["status", "payment"])
        Order.objects.filter(pk=participant.order_id, payment__isnull=True).update(payment=payment)


def on_payment_paid(payment: Payment) -> None:
    """A capture (or off-session charge) went through: the participant is charged, the order paid."""
    from commerce.services import lock_order, mark_paid

    # Only the participant's row is locked (FOR UPDATE OF): its group-buy was decided before any capture
    # and is only read here, so participants settled at once never wait on the group-buy's row.
    participant = (GroupBuyParticipant.objects.select_for_update(of=("self",)).select_related("group_buy")
                   .filter(pk=payment.reference).first())
    if participant is None:
        return
    if participant.status == P.CAPTURED:
        if participant.payment_id != payment.pk:  # a second charge for one seat: give it back
            log.warning("second charge %s for group-buy participant %s: refunding", payment.pk, participant.pk)
            transaction.on_commit(lambda: _refund_quietly(payment.pk))
        return
    gb = participant.group_buy
    order = lock_order(participant.order_id)  # after the participant: the lock order holds
    prefetch_related_objects([order], "lines")  # read once: priced, repriced, added up, delivered
    amount = payment.captured_amount
    unit = (charged_unit(gb, participant, order.lines.all()) if gb.final_price is not None
            else (amount / participant.quantity).quantize(Decimal("0.01")))
    participant.status, participant.payment, participant.charged_amount = P.CAPTURED, payment, amount
    participant.outcome = f"Charged {amount} {payment.currency} ({participant.quantity} × {unit})."[:255]
    participant.settled_at = timezone.now()
    participant.save(update_fields=["status", "payment", "charged_amount", "outcome", "settled_at"])
    _reprice(order, unit)
    if order.status in Order.OPEN or order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED):
        order.payment = payment
        mark_paid(order, payment)
    _email_on_commit(participant.pk, "charged")


def on_payment_failed(payment: Payment) -> None:
    """An authorisation the browser was confirming failed, or an off-session charge was declined."""
    participant = _participant_for(payment)
    if participant is None or participant.status not in ACTIVE:
        return
    if participant.group_buy.status == GroupBuy.Status.OPEN and not participant.payment_method:
        transaction.on_commit(lambda: _abandon(participant.pk, "The card was declined when joining."))
        return
    _record_decline(participant, payment.failure_message or "The card was declined.")


def on_payment_cancelled(payment: Payment) -> None:
    """An authorisation was released: at settlement of a failed group-buy, or by the buyer leaving."""
    participant = _participant_for(payment)
    if participant is None or participant.status not in ACTIVE or participant.payment_id not in (None, payment.pk):
        return
    gb = participant.group_buy
    if gb.status == GroupBuy.Status.OPEN:  # released at the provider while open: the seat goes
        transaction.on_commit(lambda: _abandon(participant.pk, "The card authorisation was cancelled."))
        return
    failed = gb.status == GroupBuy.Status.FAILED or (gb.status == GroupBuy.Status.SETTLED and gb.final_price is None)
    outcome = ("The group did not reach its first tier: nothing was charged, the authorisation is released."
               if failed else "The card authorisation was released; nothing was charged.")
    participant.status, participant.outcome, participant.settled_at = P.RELEASED, outcome[:255], timezone.now()
    participant.save(update_fields=["status", "outcome", "settled_at"])
    _cancel_order(Order.objects.select_for_update().get(pk=participant.order_id), outcome)
    _email_on_commit(participant.pk, "released")


def _record_decline(participant: GroupBuyParticipant, message: str) -> None:
    """Participant locked. One retry after DECLINE_GRACE; the second decline releases the seat."""
    participant.attempts += 1
    if participant.attempts >= MAX_CHARGE_ATTEMPTS:
        participant.status = P.DECLINED
        participant.outcome = f"Declined twice at settlement ({message}); the seat is released."[:255]
        participant.settled_at = timezone.now()
        participant.save(update_fields=["attempts", "status", "outcome", "settled_at"])
        _cancel_order(Order.objects.select_for_update().get(pk=participant.order_id), participant.outcome)
        _email_on_commit(participant.pk, "declined")
    else:
        participant.outcome = (f"Declined at settlement ({message}); we try once more in "
                               f"{int(DECLINE_GRACE.total_seconds() // 3600)} hours.")[:255]
        participant.save(update_fields=["attempts", "outcome"])
        _email_on_commit(participant.pk, "retry")


def _refund_quietly(payment_id: str) -> None:
    try:
        payments.refund(payment_id)
    except Exception:  # the gateway records the failure; staff see it on the payment
        log.exception("refund of duplicate group-buy charge %s failed", payment_id)


def _reprice(order: Order, unit: Decimal) -> None:
    """The order's group-buy line at the final unit price; totals recomputed in the one place. The
    lines are read once (order locked): repriced, added up and then delivered from that one read."""
    prefetch_related_objects([order], "lines")
    for line in order.lines.all():
        if line.kind == KIND and line.unit_price != unit:
            line.unit_price, line.total = unit, unit * line.quantity
            line.save(update_fields=["unit_price", "total"])
    _recompute(order)


def _email_on_commit(participant_id: str, what: str) -> None:
    """Queued to the workers once the settlement commits (by the task's name: groupbuys/tasks.py), so
    rendering and sending never take a settling thread's time or its database round trips."""
    queued.after_commit(EMAIL_TASK, participant_id, what)


def send_group_buy_email(participant_id: str, what: str, token: str = "") -> None:
    """Tell a participant the outcome: charged, released, declined (seat gone) or retry (card declined once);
    once per queued delivery (`token`)."""
    queued.once(token, lambda: _send_group_buy_email(participant_id, what))


def _send_group_buy_email(participant_id: str, what: str) -> None:
    p = GroupBuyParticipant.objects.select_related("group_buy", "group_buy__creator", "order").get(pk=participant_id)
    context = {"participant": p, "group_buy": p.group_buy, "order": p.order,
               "url": f"{settings.SITE_URL}/g/{p.group_buy_id}/",
               "order_url": settings.SITE_URL + p.order.get_absolute_url(),
               "grace_hours": int(DECLINE_GRACE.total_seconds() // 3600),
               "test_mode": settings.PAYMENTS_PROVIDER == "sandbox"}
    if what == "charged":  # a message that matters: through notifications (email and/or SMS, recorded, once)
        from microstage.notifications.services import notify

        notify(p.order.buyer if p.order.buyer_id else p.order.email, "group_buy_succeeded",
               p.group_buy.event_id or None, context, key=f"group_buy_succeeded:{p.pk}")
        return
    with translation.override(language_for(p.order.buyer)):
        subject = " ".join(render_to_string(f"commerce/email/group_buy_{what}_subject.txt", context).split())
        body = render_to_string(f"commerce/email/group_buy_{what}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [p.order.email])


# --- settlement ----------------------------------------------------------------------------------

def begin_settlement(group_buy_id: str, *, now=None) -> GroupBuy:
    """Decide the outcome once, under the lock: SUCCEEDED at the reached tier's price, or FAILED.

    Idempotent: a decided group-buy is returned as it is. Raises Conflict "too_early" before the deadline.
    """
    now = now or timezone.now()
    with transaction.atomic():
        gb = _lock(group_buy_id)
        if gb.status != GroupBuy.Status.OPEN:
            return get_group_buy(gb.pk)
        if gb.deadline > now:
            raise Conflict(_("The group-buy is still open until its deadline."), code="too_early")
        tier = reached_tier(gb)
        gb.status = GroupBuy.Status.SUCCEEDED if tier else GroupBuy.Status.FAILED
        gb.final_price = tier.price if tier else None
        gb.settle_started_at = now
        gb.save(update_fields=["status", "final_price", "settle_started_at"])
        gb = get_group_buy(gb.pk)
        _publish(gb)
    return gb


def unsettled_participants(group_buy_id: str) -> list[str]:
    return list(GroupBuyParticipant.objects.filter(group_buy_id=group_buy_id, status__in=ACTIVE)
                .order_by("created_at", "pk").values_list("pk", flat=True))


def settle_participant(participant_id: str, *, now=None) -> str:
    """Charge, capture or release one participant; returns its status afterwards.

    Safe to run twice or concurrently: a short cache lock keeps two workers off one participant, the
    gateway's Payment lock and status checks keep one capture from happening twice, and an off-session
    charge is made only when no charge for this participant succeeded. Provider errors propagate
    (rate limits are the caller's to retry); the participant then stays as it was for the next run.
    """
    now = now or timezone.now()
    key = f"groupbuy:settle:{participant_id}"
    if not cache.add(key, 1, LOCK_SECONDS):
        return "busy"
    try:
        return _settle_participant(participant_id, now)
    finally:
        cache.delete(key)


def _settle_participant(participant_id: str, now) -> str:
    # One read: the participant, its group-buy and payment, whether a charge for it was captured already,
    # and what its join authorised per unit (the group's price never goes above it).
    p = (GroupBuyParticipant.objects.select_related("group_buy", "payment")
         .annotate(captured_payment_id=Subquery(
                       Payment.objects.filter(purpose=PURPOSE, reference=OuterRef("pk"), status=Payment.Status.CAPTURED)
                       .order_by("created_at").values("pk")[:1]),
                   authorised_unit=Subquery(_authorised_units(OuterRef("order_id"), OuterRef("group_buy_id"))[:1]))
         .get(pk=participant_id))
    gb = p.group_buy
    if p.status in DONE or gb.status == GroupBuy.Status.OPEN:
        return p.status
    if p.captured_payment_id is not None:  # charged already (a run that crashed after the provider said yes)
        with transaction.atomic():
            on_payment_paid(Payment.objects.select_for_update().get(pk=p.captured_payment_id))
        return _status(p)
    succeeded = gb.status == GroupBuy.Status.SUCCEEDED or (gb.status == GroupBuy.Status.SETTLED and
                                                           gb.final_price is not None)
    if not succeeded or p.status == P.PENDING:
        return _release(p, "The authorisation was never completed." if succeeded else "")
    amount = capped_unit(gb, p.authorised_unit) * p.quantity  # charged_unit, from the one read above
    payment = p.payment
    if payment is not None and payment.status == Payment.Status.AUTHORIZED:
        if amount <= 0:
            payments.release(payment.pk)
            return _paid_free(p)
        try:
            captured = payments.capture(payment.pk, amount)  # → on_payment_paid in the gateway's transaction
        except Conflict:  # someone else settled it meanwhile: look again
            return _status(p)
        if captured.status == Payment.Status.CAPTURED:
            # on_payment_paid committed with the capture: the participant is captured (by it, or before).
            return P.CAPTURED
        return _status(p)
    if amount <= 0:
        return _paid_free(p)
    if p.payment_method:
        if p.attempts >= 1 and now < (gb.settle_started_at or now) + DECLINE_GRACE:
            return "waiting"  # declined once: the retry waits for the grace period
        try:
            payments.charge_off_session(customer=p.customer, payment_method=p.payment_method, amount=amount,
                                        currency=gb.currency, description=f"Group-buy {gb}"[:255], purpose=PURPOSE,
                                        reference=p.pk, metadata={"order": p.order_id, "group_buy": gb.pk})
        except CardDeclined as exc:  # a provider that raises instead of answering "failed"
            with transaction.atomic():
                locked = GroupBuyParticipant.objects.select_for_update().get(pk=p.pk)
                if locked.status in ACTIVE:
                    _record_decline(locked, exc.detail)
        return _status(p)
    # Authorised with nothing to capture (its authorisation lapsed or failed): nothing can be charged.
    return _release(p, "The card authorisation had lapsed; nothing was charged.")


def _status(p: GroupBuyParticipant) -> str:
    return GroupBuyParticipant.objects.filter(pk=p.pk).values_list("status", flat=True).get()


def _release(p: GroupBuyParticipant, outcome: str) -> str:
    if p.payment_id and p.payment.status in (Payment.Status.AUTHORIZED, Payment.Status.PENDING):
        payments.release(p.payment_id)  # → on_payment_cancelled records it, in the gateway's transaction
        if _status(p) not in ACTIVE:
            return _status(p)
    failed = p.group_buy.final_price is None
    outcome = outcome or ("The group did not reach its first tier: nothing was charged."
                          if failed else "Nothing was charged.")
    with transaction.atomic():
        locked = GroupBuyParticipant.objects.select_for_update().get(pk=p.pk)
        if locked.status in ACTIVE:
            locked.status, locked.outcome, locked.settled_at = P.RELEASED, outcome[:255], timezone.now()
            locked.save(update_fields=["status", "outcome", "settled_at"])
            _cancel_order(Order.objects.select_for_update().get(pk=locked.order_id), outcome)
            _email_on_commit(locked.pk, "released")
    return _status(p)


def _paid_free(p: GroupBuyParticipant) -> str:
    from commerce.services import lock_order, mark_paid

    with transaction.atomic():
        locked = GroupBuyParticipant.objects.select_for_update().get(pk=p.pk)
        if locked.status in ACTIVE:
            locked.status, locked.charged_amount, locked.settled_at = P.CAPTURED, Decimal("0"), timezone.now()
            locked.outcome = "The final price is free: nothing was charged."
            locked.save(update_fields=["status", "charged_amount", "outcome", "settled_at"])
            order = lock_order(locked.order_id)
            _reprice(order, Decimal("0"))
            if order.status in Order.OPEN:
                mark_paid(order, None)
            _email_on_commit(locked.pk, "charged")
    return _status(p)


def finish_settlement(group_buy_id: str) -> GroupBuy:
    """SETTLED once no participant is left to settle; otherwise unchanged."""
    with transaction.atomic():
        gb = _lock(group_buy_id)
        if gb.status in (GroupBuy.Status.SUCCEEDED, GroupBuy.Status.FAILED) and \
                not GroupBuyParticipant.objects.filter(group_buy_id=gb.pk, status__in=ACTIVE).exists():
            gb.status, gb.settled_at = GroupBuy.Status.SETTLED, timezone.now()
            gb.save(update_fields=["status", "settled_at"])
            signals.group_buy_settled.send(sender=GroupBuy, group_buy=gb)  # its shipping batch commits with it
            _publish(get_group_buy(gb.pk))
    return get_group_buy(group_buy_id)


def is_rate_limited(exc: Exception) -> bool:
    """The gateway raises ProviderError; a 429 or a "rate_limited" code means: slow down and retry."""
    return isinstance(exc, ProviderError) and (exc.status == 429 or exc.code in ("rate_limited", "rate_limit"))


def settle(group_buy_id: str, *, now=None) -> GroupBuy:
    """Settle synchronously (tests, the management path): decide, settle every participant, finish.

    Provider errors stop the run; what was done stays done, the next run resumes.
    """
    from .settle_runner import settle_all

    begin_settlement(group_buy_id, now=now)
    _, error = settle_all(unsettled_participants(group_buy_id), lambda pid: settle_participant(pid, now=now),
                          stop_on=lambda exc: True)
    if error is not None:
        raise error
    return finish_settlement(group_buy_id)


def due_group_buys(now=None) -> list[str]:
    """Open group-buys past their deadline and decided ones not yet settled (for the beat task)."""
    now = now or timezone.now()
    open_due = GroupBuy.objects.filter(status=GroupBuy.Status.OPEN, deadline__lte=now)
    unsettled = GroupBuy.objects.filter(status__in=[GroupBuy.Status.SUCCEEDED, GroupBuy.Status.FAILED])
    return list(open_due.values_list("pk", flat=True)) + list(unsettled.values_list("pk", flat=True))


def drop_stale_pending(now=None) -> int:
    """Seats whose authorisation the buyer never completed (a provider page abandoned) are freed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HOLD_SECONDS)
    ids = list(GroupBuyParticipant.objects.filter(status=P.PENDING, created_at__lte=cutoff,
                                                  group_buy__status=GroupBuy.Status.OPEN)
               .values_list("pk", flat=True))
    for pid in ids:
        p = GroupBuyParticipant.objects.select_related("payment").get(pk=pid)
        if p.payment_id and p.payment.status == Payment.Status.PENDING:
            try:
                payments.release(p.payment_id)
            except ServiceError:
                log.info("could not release pending payment %s", p.payment_id, exc_info=True)
        _abandon(pid, "The payment was not completed in time.")
    return len(ids)


def event_of_line(line) -> str:
    """The show a group-buy share belongs to (money settles after it), or ""."""
    return GroupBuy.objects.filter(pk=line.item_id).values_list("event_id", flat=True).first() or ""


# --- wiring --------------------------------------------------------------------------------------

def register() -> None:
    """Called from CommerceConfig.ready(): the sellable kind and the gateway's handlers."""
    from microstage.payments.registry import register_handler

    sellables.register(KIND, offer=sellable_offer, on_cancelled=on_order_cancelled, event_of=event_of_line)
    register_handler(PURPOSE, on_authorized=on_payment_authorized, on_paid=on_payment_paid,
                     on_failed=on_payment_failed, on_cancelled=on_payment_cancelled, on_setup_succeeded=on_card_saved)


def on_card_saved(participant_id: str, payment_method: str, customer: str) -> None:
    """Gateway callback: the payer saved a card on the provider's page; the seat is held (charged at the
    deadline, off-session). Repeated confirmations change nothing."""
    participant = GroupBuyParticipant.objects.select_for_update().filter(pk=participant_id).first()
    if participant is None or participant.status != P.PENDING:
        return
    participant.payment_method = payment_method
    participant.customer = participant.customer or customer
    participant.status = P.AUTHORIZED
    participant.outcome = "Card saved; charged at the deadline."
    participant.save(update_fields=["payment_method", "customer", "status", "outcome"])


@dataclass(frozen=True)
class BatchResult:
    settled: int
    rate_limited: bool


def settle_batch(group_buy_id: str, participant_ids: list[str], *, pause: float = 0.0) -> BatchResult:
    """Settle these participants in turn; stop at a rate limit (the caller retries the batch later).

    Other provider errors leave that participant for the next run and go on with the rest.
    """
    from .settle_runner import settle_all

    def one(pid: str) -> str:
        status = settle_participant(pid)
        if pause:
            time.sleep(pause)
        return status

    def skipped(pid: str, exc: Exception) -> None:
        log.warning("settling group-buy participant %s failed; next run retries", pid, exc_info=exc)

    statuses, error = settle_all(participant_ids, one, on_error=skipped,
                                 stop_on=lambda exc: not isinstance(exc, ProviderError) or is_rate_limited(exc))
    settled = sum(status in DONE for status in statuses)
    if error is not None:
        if is_rate_limited(error):
            return BatchResult(settled, True)
        raise error
    finish_settlement(group_buy_id)
    return BatchResult(settled, False)
