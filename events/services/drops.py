"""Drops: a product offered in limited quantity during a window of an event.

A drop line draws on two pools: "drop:<id>" (total = the drop's quantity) and the variant's own
"variant:<id>" (total = its stock), so a drop never sells units the shop (or another drop) already sold.
The quantity is checked against the variant's unsold stock when the drop is set up; the shared variant
pool keeps that true afterwards, whatever else sells.
"""
import logging

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import inventory, sellables
from commerce.models import OrderLine
from catalog.models import variant_label
from commerce.sellables import Offer
from microstage import overrides, realtime
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.money import parse_amount
from microstage.permissions import require_role

from ..models import DROP_KIND, Drop, Event
from ..selectors import drop_on_sale, drop_pools, drop_variant

log = logging.getLogger(__name__)

DROP_FIELDS = ("product", "variant", "quantity", "price", "starts_at", "ends_at", "members_only_until",
               "per_person_limit")
DROP_MAX_PER_PERSON = 100
DROP_MAX_PRICE = Decimal("100000")


def _drop_product(event: Event, product, variant):
    """The product (of the event's creator: anyone else's is "not found") and the variant a drop sells."""
    from catalog.models import Product, ProductVariant

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
def create_drop(event: Event, *, actor, **data) -> Drop:
    """Offer a product of the event's creator during (part of) the event, in limited quantity."""
    require_role(actor, event.creator_id, EDIT_ROLES)
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
def update_drop(drop: Drop, *, actor, **data) -> Drop:
    drop = (Drop.objects.select_for_update(of=("self",)).select_related("event", "product", "variant")
            .get(pk=drop.pk))
    require_role(actor, drop.event.creator_id, EDIT_ROLES)
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
def start_drop_now(drop: Drop, *, actor) -> Drop:
    """From the control room: open the drop at once (until its end, or the event's end if that passed)."""
    drop = Drop.objects.select_for_update(of=("self",)).select_related("event", "product").get(pk=drop.pk)
    require_role(actor, drop.event.creator_id, EDIT_ROLES)
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
    from ..notices import send_due

    try:
        send_due()
    except Exception:  # noqa: BLE001 - the beat task sends them within the minute anyway
        log.warning("notify-me after a drop start failed", exc_info=True)


@transaction.atomic
def stop_drop(drop: Drop, *, actor) -> Drop:
    """From the control room: nothing more sells from now on (orders already reserved may still pay)."""
    drop = Drop.objects.select_for_update(of=("self",)).select_related("event").get(pk=drop.pk)
    require_role(actor, drop.event.creator_id, EDIT_ROLES)
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


def drop_offer(drop_id: str, quantity: int, buyer, *, variant_prices: Mapping | None = None) -> Offer:
    """Price and eligibility of `quantity` items of a drop: its window (or stopped), members first,
    the per-person limit; the price is the drop's, else the variant's (or product's), unless
    `variant_prices` (the buyer's experiment prices, {(target, item id): price}) name one for this drop.
    The same call prices the same from a view, a task or a test: nothing is read from a request."""
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
    price = overrides.price(DROP_KIND, drop.pk, price, variant_prices)  # an experiment's variant price
    name = variant_label(drop.product.name, variant.name)
    # The per-person limit is also a personal pool, so two simultaneous orders by one buyer cannot
    # get past it (the count above runs before reserve's locks).
    limits = ({f"{sellables.LIMIT_PREFIX}{inventory.drop_key(drop.pk)}:{buyer.pk}": drop.per_person_limit}
              if getattr(buyer, "is_authenticated", False) else {})
    from catalog.services import merch_price  # a ticket's show-time merch discount (events/perks.py)

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


