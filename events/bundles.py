"""Bundles: an experience plus goods plus future credit, sold as one line (API.md "Bundles").

A bundle is a sellable kind. Its offer names every inventory pool its parts draw on — each tier's
(and venue's) pool and each product variant's pool, with how many units one bundle takes of each —
so commerce's one reserve primitive holds all of them in one locked step: all or nothing, and a
bundle never sells around the stock it shares with single tickets, the shop, drops and the till.
Paying issues the tickets, makes the goods fulfillable (the order is physical through the download
resolver) and grants the bundle's store credit (commerce/credit.py); a refund voids the tickets,
returns the units and takes the credit back.

Bundles live in events because their parts include ticket tiers; commerce knows nothing of them.
"""
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from commerce import credit
from commerce.models import OrderLine
from catalog.models import Product, ProductVariant
from commerce.sellables import Offer
from microstage.money import parse_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from . import waitlist
from .models import BUNDLE_KIND, Bundle, BundleItem, Event, Ticket, TicketTier
from .selectors import may_see_event, sale_refusal, tier_pools, waiting_counts

MAX_ITEMS = 10
MAX_ITEM_QUANTITY = 10
MAX_PRICE = Decimal("100000")
ITEM_FIELDS = ("tier", "product", "variant")


# --- creating ------------------------------------------------------------------------------------

def _money(value, field: str) -> Decimal:
    return parse_amount(value, field=field, maximum=MAX_PRICE)


def _item(creator, data, index: int) -> BundleItem:
    where = f"items[{index}]"
    if not isinstance(data, dict):
        raise Invalid(_("Each item names a tier, product or variant and a quantity."),
                      fields={where: [_("Use {tier|product|variant: id, quantity}.")]})
    named = [f for f in ITEM_FIELDS if data.get(f) not in (None, "")]
    unknown = set(data) - set(ITEM_FIELDS) - {"quantity"}
    if len(named) != 1 or unknown:
        raise Invalid(_("Name exactly one of tier, product or variant per item."),
                      fields={where: [_("Name exactly one of tier, product or variant.")]})
    field, item_id = named[0], data[named[0]]
    quantity = data.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_ITEM_QUANTITY:
        raise Invalid(
            _("Item quantities are whole numbers from 1 to 10."),
            fields={
                f"{where}.quantity": [
                    _("Use a whole number from 1 to %(max_item_quantity)s.") % {"max_item_quantity": MAX_ITEM_QUANTITY}
                ]
            },
        )
    if not isinstance(item_id, str) or len(item_id) > 40:
        raise Invalid(_("That id does not look right."), fields={f"{where}.{field}": [_("Unknown id.")]})
    if field == "tier":
        tier = TicketTier.objects.select_related("event").filter(pk=item_id, event__creator=creator).first()
        if tier is None or tier.event.status == Event.Status.CANCELLED:
            raise Invalid(_("No such ticket tier of this creator."), fields={f"{where}.tier": [_("Unknown tier.")]})
        return BundleItem(tier=tier, quantity=quantity, position=index)
    if field == "product":
        variants = list(ProductVariant.objects.select_related("product")
                        .filter(product_id=item_id, product__creator=creator)[:2])
        if not variants:
            raise Invalid(_("No such product of this creator."), fields={f"{where}.product": [_("Unknown product.")]})
        if len(variants) > 1:
            raise Invalid(_("This product has variants: name the variant."),
                          fields={f"{where}.product": [_("Name one of its variants instead.")]})
        variant = variants[0]
    else:
        variant = ProductVariant.objects.select_related("product").filter(
            pk=item_id, product__creator=creator).first()
        if variant is None:
            raise Invalid(_("No such variant of this creator."), fields={f"{where}.variant": [_("Unknown variant.")]})
    return BundleItem(variant=variant, quantity=quantity, position=index)


@transaction.atomic
def create_bundle(*, creator, name, price, items, currency: str = "", credit_amount="0", description: str = "",
                  max_per_order: int = 4, actor) -> Bundle:
    """A new bundle of `creator` (its owners and managers, or SYSTEM)."""
    require_role(actor, creator, EDIT_ROLES)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise Invalid(_("Give the bundle a name."), fields={"name": [_("Use 1 to 120 characters.")]})
    if not isinstance(description, str) or len(description) > 500:
        raise Invalid(_("The description is too long."), fields={"description": [_("At most 500 characters.")]})
    price = _money(price, "price")
    credit_value = _money(credit_amount if credit_amount not in (None, "") else "0", "credit")
    currency = (currency or settings.DEFAULT_CURRENCY)
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise Invalid(
            _("Use a three-letter currency code."), fields={"currency": [_("Use an ISO 4217 code like EUR.")]}
        )
    currency = currency.upper()
    if isinstance(max_per_order, bool) or not isinstance(max_per_order, int) or not 1 <= max_per_order <= 20:
        raise Invalid(
            _("At most 1 to 20 per order."), fields={"max_per_order": [_("Use a whole number from 1 to 20.")]}
        )
    if not isinstance(items, list | tuple) or not items:
        raise Invalid(_("A bundle needs at least one item."), fields={"items": [_("Add at least one item.")]})
    if len(items) > MAX_ITEMS:
        raise Invalid(
            _("Too many items."), fields={"items": [_("At most %(max_items)s items.") % {"max_items": MAX_ITEMS}]}
        )
    rows = [_item(creator, data, i) for i, data in enumerate(items)]
    if not any(r.tier_id for r in rows) and not credit_value and len(rows) < 2:
        raise Invalid(_("A bundle is more than one thing: add a ticket, goods or credit."),
                      fields={"items": [_("Add a second item or some credit.")]})
    for i, row in enumerate(rows):
        item_currency = row.tier.currency if row.tier_id else row.variant.product.currency
        if item_currency != currency:
            raise Invalid(
                _("Every part of a bundle is priced in the bundle's currency."),
                fields={
                    f"items[{i}]": [
                        _("This item is sold in %(item_currency)s, the bundle in %(currency)s.")
                        % {"item_currency": item_currency, "currency": currency}
                    ]
                },
            )
    keys = [(r.tier_id, r.variant_id) for r in rows]
    if len(set(keys)) != len(keys):
        raise Invalid(_("An item repeats: raise its quantity instead."), fields={"items": [_("Each item once.")]})
    bundle = Bundle.objects.create(creator=creator, name=name, description=description, price=price,
                                   currency=currency, credit=credit_value, max_per_order=max_per_order)
    for row in rows:
        row.bundle = bundle
        row.save()
    return bundle


@transaction.atomic
def set_active(bundle: Bundle, active: bool, *, actor) -> Bundle:
    require_role(actor, bundle.creator_id, EDIT_ROLES)
    Bundle.objects.filter(pk=bundle.pk).update(is_active=bool(active))
    bundle.refresh_from_db()
    return bundle


# --- selling -------------------------------------------------------------------------------------

def parts(bundle: Bundle) -> list[BundleItem]:
    return list(bundle.items.select_related("tier", "tier__event", "variant", "variant__product").order_by("position"))


def pools_of(bundle: Bundle, items: list[BundleItem] | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """(pool key -> total, pool key -> units one bundle takes) over all of the bundle's parts."""
    from commerce.inventory import variant_key

    totals: dict[str, int] = {}
    units: dict[str, int] = {}
    for item in items if items is not None else parts(bundle):
        pools = tier_pools(item.tier) if item.tier_id else {variant_key(item.variant_id): item.variant.stock}
        for key, total in pools.items():
            totals[key] = total
            units[key] = units.get(key, 0) + item.quantity
    return totals, units


def _live_bundle(bundle_id: str) -> Bundle:
    bundle = Bundle.objects.select_related("creator").filter(pk=bundle_id).first() \
        if isinstance(bundle_id, str) else None
    if bundle is None or not bundle.is_active:
        raise NotFound(_("No such bundle."))
    return bundle


def bundle_offer(bundle_id: str, quantity: int, buyer) -> Offer:
    """Every part must be on sale for this buyer; the pools of all parts are held together."""
    from memberships.selectors import perks_for

    bundle = _live_bundle(bundle_id)
    if quantity > bundle.max_per_order:
        raise Conflict(
            _("At most %(max_per_order)s of these per order.") % {"max_per_order": bundle.max_per_order},
            code="limit_exceeded",
            max_per_order=bundle.max_per_order,
        )
    items = parts(bundle)
    perks = None
    for item in items:
        if item.tier_id:
            tier = item.tier
            perks = perks or perks_for(buyer, bundle.creator_id)
            if tier.event.status == Event.Status.DRAFT or not may_see_event(buyer, tier.event, perks):
                raise Conflict(_("This bundle is not on sale right now."), code="not_on_sale")
            refusal = sale_refusal(tier, perks)
            if refusal:
                raise Conflict(
                    _("%(bundle)s: %(reason)s") % {"bundle": bundle.name, "reason": refusal[1]}, code=refusal[0]
                )
            waitlist.guard(tier, buyer)  # a bundle does not jump a tier's waiting list either
        else:
            product = item.variant.product
            if not product.is_active or (product.kind == Product.Kind.DIGITAL and not product.digital_file):
                raise Conflict(_("This bundle is not on sale right now."), code="not_on_sale")
    totals, units = pools_of(bundle, items)
    return Offer(kind=BUNDLE_KIND, item_id=bundle.pk, creator_id=bundle.creator_id, description=bundle.name,
                 unit_price=bundle.price, currency=bundle.currency, list_price=bundle.price, pools=totals,
                 units={k: u for k, u in units.items() if u != 1})


def issue(line: OrderLine) -> None:
    """on_paid: the tickets of every tier part, and the bundle's credit; each once per line."""
    bundle = Bundle.objects.get(pk=line.item_id)
    order = line.order
    if not Ticket.objects.filter(order_line=line).exists():
        tickets = []
        for item in parts(bundle):
            if item.tier_id:
                tickets += [Ticket(event=item.tier.event, tier=item.tier, order_line=line, holder_id=order.buyer_id,
                                   holder_email=order.email) for _ in range(item.quantity * line.quantity)]
        Ticket.objects.bulk_create(tickets)
    credit.grant(line, bundle.credit * line.quantity, note=f"Credit from “{bundle.name}”.")


def void(line: OrderLine, quantity: int) -> int:
    """on_refunded: the line's tickets are void (the credit is taken back by commerce's refund)."""
    bundle = Bundle.objects.get(pk=line.item_id)
    voided = 0
    for item in parts(bundle):
        if item.tier_id:
            ids = list(Ticket.objects.filter(order_line=line, tier=item.tier, status=Ticket.Status.VALID)
                       .order_by("checked_in_at", "-created_at")
                       .values_list("pk", flat=True)[:item.quantity * quantity])
            voided += Ticket.objects.filter(pk__in=ids).update(status=Ticket.Status.VOID)
    return voided


def on_cancelled(line: OrderLine) -> None:
    for tier_id in BundleItem.objects.filter(bundle_id=line.item_id, tier__isnull=False).values_list("tier_id",
                                                                                                      flat=True):
        waitlist.tickets_came_back(tier_id)


def product_of_line(line: OrderLine):
    """What commerce's fulfilment and downloads see of a bundle line: its physical goods first."""
    items = [i for i in BundleItem.objects.filter(bundle_id=line.item_id, variant__isnull=False)
             .select_related("variant__product")]
    products = [i.variant.product for i in items]
    physical = [p for p in products if p.kind == Product.Kind.PHYSICAL]
    return (physical or products or [None])[0]


# --- reading -------------------------------------------------------------------------------------

def available(bundle: Bundle, now=None) -> int:
    """How many bundles can still be bought: the least the parts allow (and 0 while a tier's
    waiting list has people in it, whose tickets come first)."""
    from commerce.selectors import availability_by_key

    items = parts(bundle)
    totals, units = pools_of(bundle, items)
    found = availability_by_key(list(totals), now or timezone.now())
    left = min((found.get(k, total) // units[k] for k, total in totals.items()), default=0)
    tier_ids = [i.tier_id for i in items if i.tier_id]
    if tier_ids and waiting_counts(tier_ids):
        return 0
    return max(0, left)


def describe_items(bundle: Bundle) -> list[dict]:
    out = []
    for item in parts(bundle):
        if item.tier_id:
            out.append({"tier": item.tier_id, "quantity": item.quantity,
                        "name": f"{item.tier.event.title} — {item.tier.name}"})
        else:
            v = item.variant
            name = v.label
            out.append({"variant": v.pk, "product": v.product_id, "quantity": item.quantity, "name": name})
    return out


def for_event(event) -> list[Bundle]:
    """Active bundles with a ticket of this event, each with `.available` and `.item_list` set."""
    out = list(Bundle.objects.filter(creator_id=event.creator_id, is_active=True, items__tier__event=event)
               .distinct().order_by("price", "name"))
    for b in out:
        b.available = available(b)
        b.item_list = describe_items(b)
        b.choices = range(1, min(b.max_per_order, b.available) + 1)
    return out


def bundles_of(creator, active_only: bool = True):
    qs = Bundle.objects.filter(creator=creator)
    return qs.filter(is_active=True) if active_only else qs
