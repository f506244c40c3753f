"""Creator promo and partner codes: making them, pricing a line with one, and spending a use when paid.

A buyer types a promo code where a reward's discount code goes (an order line's `{"code": ...}`): the
ticket offer (events) and the product offer (commerce, through its code pricer) ask `price_with_code`
before commerce reserves, and the paid order spends one use through `use_reward_code`'s path
(`consume`), under a row lock on the code, so a code limited to N orders is never used N+1 times.
Open reservations holding the code count against the limit too, like held reward codes.
"""
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.money import parse_optional_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from .models import PromoCode, PromoCodeUse

CODE_RE = re.compile(r"[A-Z0-9_-]{3,32}")
CENT = Decimal("0.01")
FIELDS = ("code", "kind", "partner", "percent_off", "amount_off", "currency", "max_uses", "valid_from",
          "valid_until", "tier_ids", "product_ids", "is_active")
TICKET = "ticket"
PRODUCT = "product"

# Items a code may be limited to, by kind: function(creator_id) -> [(id, label)]. Tiers live in events
# (above this app), so events registers its lookup at start-up; products are commerce's.
_item_choices: dict[str, object] = {}


def register_item_choices(kind: str, choices) -> None:
    _item_choices[kind] = choices


def item_choices(kind: str, creator_id: str) -> list[tuple[str, str]]:
    if kind == PRODUCT and PRODUCT not in _item_choices:
        from catalog.models import Product

        return [(p.pk, p.name) for p in Product.objects.filter(creator_id=creator_id).order_by("name")]
    fn = _item_choices.get(kind)
    return list(fn(creator_id)) if fn else []


# --- making codes ------------------------------------------------------------------------------

def _decimal(value, field: str, *, high: Decimal | None = None) -> Decimal | None:
    return parse_optional_amount(value, field=field, minimum=CENT,
                                 maximum=high if high is not None else Decimal("99999999.99"))


def _when(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise Invalid(_("That date does not look right."), fields={field: [_("Use a date and time.")]}) from exc
    if not isinstance(value, datetime):
        raise Invalid(_("That date does not look right."), fields={field: [_("Use a date and time.")]})
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _ids(value, field: str, kind: str, creator_id: str) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or len(value) > 100:
        raise Invalid(_("Send a list of ids."), fields={field: [_("Send a list of ids.")]})
    known = {pk for pk, _ in item_choices(kind, creator_id)}
    unknown = [v for v in value if v not in known]
    if unknown:
        ids = ", ".join(unknown[:3])
        if kind == TICKET:
            raise Invalid(_("Not your ticket tier: %(ids)s.") % {"ids": ids},
                          fields={field: [_("Choose your own ticket tiers.")]})
        raise Invalid(_("Not your product: %(ids)s.") % {"ids": ids}, fields={field: [_("Choose your own products.")]})
    return sorted(set(value))


def _clean(creator, values: dict, current: PromoCode | None = None) -> dict:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    data = {f: getattr(current, f) for f in FIELDS} if current else {}
    data.update(values)
    errors: dict[str, list[str]] = {}
    code = data.get("code")
    if not isinstance(code, str) or not CODE_RE.fullmatch(code.strip().upper()):
        errors["code"] = [_("Use 3 to 32 letters, digits, - or _.")]
    else:
        data["code"] = code.strip().upper()
    if data.get("kind") in (None, ""):
        data["kind"] = PromoCode.Kind.PROMO
    if data["kind"] not in PromoCode.Kind.values:
        errors["kind"] = [_("Choose promo or partner.")]
    partner = data.get("partner") or ""
    if not isinstance(partner, str) or len(partner) > 80:
        errors["partner"] = [_("At most 80 characters.")]
    elif data.get("kind") == PromoCode.Kind.PARTNER and not partner.strip():
        errors["partner"] = [_("Name the partner this code belongs to.")]
    data["partner"] = partner.strip() if isinstance(partner, str) else ""
    if errors:
        raise Invalid(_("Please fix the code."), fields=errors)
    data["percent_off"] = _decimal(data.get("percent_off"), "percent_off", high=Decimal("100"))
    data["amount_off"] = _decimal(data.get("amount_off"), "amount_off")
    if (data["percent_off"] is None) == (data["amount_off"] is None):
        raise Invalid(_("Give either a percent off or an amount off."),
                      fields={"percent_off": [_("Give either a percent off or an amount off, not both.")]})
    currency = data.get("currency") or ""
    if data["amount_off"] is not None:
        from django.conf import settings

        currency = (currency or settings.DEFAULT_CURRENCY)
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise Invalid(_("Use a three-letter currency code like EUR."),
                          fields={"currency": [_("Use a three-letter ISO 4217 code like EUR.")]})
        data["currency"] = currency.upper()
    else:
        data["currency"] = ""
    max_uses = data.get("max_uses")
    if max_uses in ("", None):
        data["max_uses"] = None
    else:
        try:
            data["max_uses"] = int(str(max_uses))
        except ValueError as exc:
            raise Invalid(_("Uses must be a whole number."), fields={"max_uses": [_("Use a whole number.")]}) from exc
        if isinstance(max_uses, bool) or not 1 <= data["max_uses"] <= 1_000_000:
            raise Invalid(_("Uses must be at least 1."), fields={"max_uses": [_("Use a whole number from 1.")]})
    data["valid_from"] = _when(data.get("valid_from"), "valid_from")
    data["valid_until"] = _when(data.get("valid_until"), "valid_until")
    if data["valid_from"] and data["valid_until"] and data["valid_until"] <= data["valid_from"]:
        raise Invalid(_("The code must end after it starts."), fields={"valid_until": [_("End after the start.")]})
    data["tier_ids"] = _ids(data.get("tier_ids"), "tier_ids", TICKET, creator.pk)
    data["product_ids"] = _ids(data.get("product_ids"), "product_ids", PRODUCT, creator.pk)
    data["is_active"] = bool(data.get("is_active", True))
    return data


def create_promo_code(*, creator, actor, **values) -> PromoCode:
    """A new code for this creator; raises Invalid (with fields) on bad input and changes nothing."""
    require_role(actor, creator, EDIT_ROLES)
    data = _clean(creator, values)
    if PromoCode.objects.filter(creator=creator, code=data["code"]).exists():
        raise Invalid(_("You already have this code."), fields={"code": [_("You already have a code with this name.")]})
    try:
        with transaction.atomic():
            return PromoCode.objects.create(creator=creator, **data)
    except IntegrityError as exc:  # made twice at once
        raise Invalid(_("You already have this code."),
                      fields={"code": [_("You already have a code with this name.")]}) \
            from exc


def set_active(*, creator, actor, promo_id: str, active: bool) -> PromoCode:
    require_role(actor, creator, EDIT_ROLES)
    promo = PromoCode.objects.filter(pk=promo_id, creator=creator).first()
    if promo is None:
        raise NotFound(_("No such code."))
    promo.is_active = active
    promo.save(update_fields=["is_active"])
    return promo


# --- buying with a code ------------------------------------------------------------------------

def find(creator_id: str, code: str) -> PromoCode | None:
    if not isinstance(code, str) or not CODE_RE.fullmatch(code.strip().upper()):
        return None
    return PromoCode.objects.filter(creator_id=creator_id, code=code.strip().upper()).first()


def _open_orders_with(promo: PromoCode, exclude_order_id: str | None = None) -> int:
    from commerce.models import Order, OrderLine

    qs = OrderLine.objects.filter(options__code__iexact=promo.code, order__creator_id=promo.creator_id,
                                  order__status__in=Order.OPEN, order__expires_at__gt=timezone.now())
    if exclude_order_id:
        qs = qs.exclude(order_id=exclude_order_id)
    return qs.values("order_id").distinct().count()


def price_with_code(promo: PromoCode, *, kind: str, item_id: str, price: Decimal, currency: str,
                    now=None) -> Decimal:
    """The unit price of this item with the code; raises when the code does not apply here and now."""
    now = now or timezone.now()
    field = {"code": [_("Not valid for this item.")]}
    if not promo.is_active:
        raise Conflict(_("This code is no longer active."), code="code_inactive")
    if promo.valid_from and now < promo.valid_from:
        raise Conflict(_("This code is not valid yet."), code="code_not_started")
    if promo.valid_until and now >= promo.valid_until:
        raise Conflict(_("This code has expired."), code="code_expired")
    allowed = promo.tier_ids if kind == TICKET else promo.product_ids
    other = promo.product_ids if kind == TICKET else promo.tier_ids
    if (allowed and item_id not in allowed) or (not allowed and other):
        raise Invalid(_("This code does not apply to this item."), fields=field)
    if promo.max_uses is not None and promo.uses.count() + _open_orders_with(promo) >= promo.max_uses:
        raise Conflict(_("This code has been used up."), code="code_used")
    if promo.percent_off is not None:
        off = (price * promo.percent_off / Decimal("100")).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        if promo.currency != currency:
            raise Invalid(_("This code is for prices in %(currency)s.") % {"currency": promo.currency}, fields=field)
        off = promo.amount_off
    return max(Decimal("0.00"), price - off)


@transaction.atomic
def consume(promo_id: str, order) -> PromoCodeUse:
    """Spend one use for a paid order (once per order, however many lines carry the code). The row lock
    makes simultaneous payments take turns, so the limit holds."""
    promo = PromoCode.objects.select_for_update().get(pk=promo_id)
    use = PromoCodeUse.objects.filter(promo=promo, order_id=order.pk).first()
    if use is not None:
        return use
    if promo.max_uses is not None and promo.uses.count() >= promo.max_uses:
        raise Conflict(_("This code has been used up."), code="code_used")
    return PromoCodeUse.objects.create(promo=promo, order_id=order.pk)


# --- what each code sold -----------------------------------------------------------------------

def sales_by_code(creator_id: str, *, item_ids: list[str] | None = None) -> list[dict]:
    """Per code of this creator: paid orders, units, revenue and the discount given (optionally only
    lines for these items, e.g. one event's tiers)."""
    from commerce.models import Order, OrderLine

    rows = []
    for promo in PromoCode.objects.filter(creator_id=creator_id).order_by("code"):
        lines = OrderLine.objects.filter(options__code__iexact=promo.code, order__creator_id=creator_id,
                                         order__status__in=Order.SETTLED)
        if item_ids is not None:
            lines = lines.filter(item_id__in=item_ids)
        agg = lines.aggregate(orders=Count("order_id", distinct=True), units=Sum("quantity"), revenue=Sum("total"),
                              discount=Sum((F("list_price") - F("unit_price")) * F("quantity")))
        rows.append({"promo": promo, "code": promo.code, "kind": promo.kind, "partner": promo.partner,
                     "orders": agg["orders"] or 0, "units": agg["units"] or 0,
                     "revenue": agg["revenue"] or Decimal("0.00"), "discount": agg["discount"] or Decimal("0.00"),
                     "uses": promo.uses.count(), "max_uses": promo.max_uses})
    return rows


def promo_limit(promo: PromoCode) -> dict:
    """A code with a use limit as a cap that reserve holds with the order, under its locks: each order
    takes one use while it is open and keeps it once paid, so concurrent orders never spend more uses
    than the code has (the same discipline as stock and single-use reward codes)."""
    from commerce.sellables import LIMIT_PREFIX, Limit

    if promo.max_uses is None:
        return {}
    return {f"{LIMIT_PREFIX}promo:{promo.pk}": Limit(
        total=promo.max_uses, per_order=True, code="code_used",
        detail=_("This code has been used up (or its last uses are held by open reservations)."))}


def price_product_offer(offer, code: str):
    """commerce's code pricer for goods: the offer at the code's price (raises when it does not apply)."""
    from dataclasses import replace

    from catalog.models import ProductVariant

    promo = find(offer.creator_id, code)
    if promo is None:
        raise NotFound(_("No such code."), code="not_found")
    product_id = ProductVariant.objects.filter(pk=offer.item_id).values_list("product_id", flat=True).first()
    price = price_with_code(promo, kind=PRODUCT, item_id=product_id or "", price=offer.unit_price,
                            currency=offer.currency)
    return replace(offer, unit_price=price, list_price=offer.list_price or offer.unit_price,
                   description=f"{offer.description} (code {promo.code})"[:255],
                   limits={**offer.limits, **promo_limit(promo)})


def on_order_paid(sender, order, **kwargs) -> None:
    """commerce.signals.order_paid receiver: goods bought with a promo code spend its use (tickets already
    did when they were issued; consume is once per order either way). Money was taken: a code used up
    meanwhile is logged, not refused."""
    import logging

    for code in {(line.options or {}).get("code") for line in order.lines.all()} - {None}:
        promo = find(order.creator_id, code)
        if promo is None:
            continue
        try:
            consume(promo.pk, order)
        except Conflict:
            logging.getLogger(__name__).warning("order %s used promo code %s beyond its limit", order.pk, promo.code)
