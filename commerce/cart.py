"""The web cart: tickets, merch and bundles of one creator gathered in the session, then reserved as one
order (through the one reserve primitive) and paid once. A guest buys with an email alone; after
paying they may turn the order into an account.

The cart stores only (kind, item id, quantity) in the session, and at most one promo or partner code,
which applies to each ticket and goods line it is valid for. Prices, names and eligibility come
from each kind's sellable offer every time the cart is shown, so the cart never promises a price
the seller would not give; nothing is held until checkout.
"""
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from microstage.errors import Conflict, Invalid, NotFound, ServiceError
from microstage.models import User

from . import credit, sellables, services
from .models import Order
from .signals import guest_order_claimed

SESSION_KEY = "cart"
GUEST_ORDERS_KEY = "guest_orders"
CART_KINDS = ("ticket", "product", "bundle")  # drops keep their own per-person flow on the event page
MAX_LINES = services.MAX_LINES
MAX_GUEST_ORDERS = 20
CODE_KINDS = ("ticket", "product")  # what a promo or partner code can lower; bundles have their own price
CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
# Refusals that are about the code itself (not this item): they stop the whole cart, whatever line asks.
CODE_REFUSALS = ("code_inactive", "code_not_started", "code_expired", "code_used", "code_held")


@dataclass
class CartLine:
    index: int
    kind: str
    item_id: str
    quantity: int
    description: str = ""
    unit_price: Decimal = Decimal("0")
    currency: str = ""
    total: Decimal = Decimal("0")
    problem: str = ""
    with_code: bool = False


def _raw(session) -> dict:
    cart = session.get(SESSION_KEY)
    if not isinstance(cart, dict) or not isinstance(cart.get("lines"), list):
        return {"creator": "", "lines": [], "code": ""}
    return cart


def _save(session, cart: dict) -> None:
    code = _raw(session).get("code") or ""
    session[SESSION_KEY] = {**cart, "code": code if cart["lines"] else ""}  # an empty cart forgets its code
    session.modified = True


def code_of(session) -> str:
    code = _raw(session).get("code")
    return code if isinstance(code, str) else ""


def creator_of(session) -> str:
    return _raw(session)["creator"]


def count(session) -> int:
    return sum(int(line[2]) for line in _raw(session)["lines"])


def add(session, *, kind: str, item_id: str, quantity: int, buyer=None) -> CartLine:
    """Put an item in the cart (adding to its quantity if there); checks it can be sold to this buyer."""
    if kind not in CART_KINDS:
        raise Invalid(_("That cannot go in the cart."), fields={"kind": [_("Unknown kind of item.")]})
    if not isinstance(item_id, str) or not item_id or len(item_id) > 40:
        raise NotFound(_("No such item."))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= services.MAX_QUANTITY:
        raise Invalid(_("Choose a quantity from the list."), fields={"quantity": [_("Use a whole number from 1.")]})
    cart = _raw(session)
    lines = [list(x) for x in cart["lines"]]
    existing = next((x for x in lines if x[0] == kind and x[1] == item_id), None)
    total_qty = quantity + (existing[2] if existing else 0)
    offer = sellables.get(kind).offer(item_id, total_qty, buyer)  # raises sold-out-ish refusals early
    if cart["creator"] and lines and cart["creator"] != offer.creator_id:
        raise Conflict(_("Your cart holds another creator's items: check those out first, or empty the cart."),
                       code="other_creator")
    if existing:
        existing[2] = total_qty
    else:
        if len(lines) >= MAX_LINES:
            raise Invalid(_("Your cart is full."),
                          fields={"cart": [_("At most %(count)d items.") % {"count": MAX_LINES}]})
        lines.append([kind, offer.item_id if kind != "ticket" else item_id, quantity])
    _save(session, {"creator": offer.creator_id, "lines": lines})
    return CartLine(len(lines) - 1, kind, item_id, total_qty, offer.description, offer.unit_price, offer.currency)


def set_quantity(session, index: int, quantity: int) -> None:
    cart = _raw(session)
    lines = [list(x) for x in cart["lines"]]
    if not isinstance(index, int) or not 0 <= index < len(lines):
        raise NotFound(_("That item is no longer in your cart."))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= services.MAX_QUANTITY:
        raise Invalid(_("Choose a quantity from the list."), fields={"quantity": [_("Use a whole number.")]})
    if quantity == 0:
        lines.pop(index)
    else:
        lines[index][2] = quantity
    _save(session, {"creator": cart["creator"] if lines else "", "lines": lines})


def clear(session) -> None:
    session.pop(SESSION_KEY, None)


def _with_code(kind: str, item_id: str, quantity: int, buyer, code: str):
    """This line's offer with the code, or None when the code is not for this item (or the buyer's
    member price is already better). Raises when the code itself cannot be used now."""
    if not code or kind not in CODE_KINDS:
        return None
    try:
        return services.priced_offer(kind, item_id, quantity, buyer, {"code": code})
    except ServiceError as exc:
        if exc.code in CODE_REFUSALS:
            raise
        return None


def lines(session, buyer=None) -> tuple[list[CartLine], Decimal, str]:
    """The cart priced for this buyer now (with its code where the code applies): (lines, total,
    currency). A line that cannot be sold now carries `problem` in words and counts for nothing."""
    out, total, currency = [], Decimal("0"), ""
    code = code_of(session)
    for i, (kind, item_id, quantity) in enumerate(_raw(session)["lines"]):
        line = CartLine(i, kind, item_id, quantity)
        try:
            offer = sellables.get(kind).offer(item_id, quantity, buyer)
        except ServiceError as exc:
            line.problem = exc.detail
        else:
            try:
                coded = _with_code(kind, item_id, quantity, buyer, code)
            except ServiceError:
                coded = None  # the code stopped working since it was applied: the page says so (code_problem)
            offer, line.with_code = coded or offer, coded is not None
            line.description, line.unit_price, line.currency = offer.description, offer.unit_price, offer.currency
            line.total = offer.unit_price * quantity
            total += line.total
            currency = currency or offer.currency
        out.append(line)
    return out, total, currency


def code_problem(session, buyer=None) -> str:
    """Why the cart's code cannot be used now, in words; "" when it can (or there is none)."""
    try:
        _line_options(session, buyer)
    except ServiceError as exc:
        return exc.detail
    return ""


def _line_options(session, buyer) -> list[tuple]:
    """Per cart line, the options to reserve it with: the code where it applies. Raises when the code
    cannot be used now or applies to nothing in the cart."""
    code = code_of(session)
    out = []
    for kind, item_id, quantity in _raw(session)["lines"]:
        try:
            applies = _with_code(kind, item_id, int(quantity), buyer, code) is not None
        except ServiceError as exc:
            raise Conflict(_("Code %(code)s: %(reason)s") % {"code": code, "reason": exc.detail},
                           code=exc.code) from exc
        out.append((("code", code),) if applies else ())
    if code and not any(out):
        raise Invalid(_("Code %(code)s does not apply to anything in your cart.") % {"code": code},
                      fields={"code": [_("Not valid for these items.")]})
    return out


def apply_code(session, code, buyer=None) -> str:
    """Use a promo or partner code on this cart; refused (and nothing changed) when it is malformed,
    cannot be used now or applies to nothing in the cart. Returns the code as stored."""
    code = code.strip().upper() if isinstance(code, str) else ""
    if not CODE_RE.fullmatch(code):
        raise Invalid(_("Type the code as you got it: letters, digits, - and _."),
                      fields={"code": [_("Use 1 to 40 letters, digits, - or _.")]})
    cart = _raw(session)
    if not cart["lines"]:
        raise Invalid(_("Your cart is empty."), fields={"cart": [_("Add something first.")]})
    trial = {SESSION_KEY: {**cart, "code": code}}
    _line_options(trial, buyer)  # raises before anything is stored
    session[SESSION_KEY] = {**cart, "code": code}
    session.modified = True
    return code


def remove_code(session) -> None:
    cart = _raw(session)
    if cart.get("code"):
        session[SESSION_KEY] = {**cart, "code": ""}
        session.modified = True


def checkout(session, *, buyer=None, email: str = "") -> Order:
    """Reserve everything in the cart as one order (all or nothing) and empty the cart.

    A guest's order is remembered in their session, so they can pay and see it without an account.
    """
    raw = _raw(session)["lines"]
    if not raw:
        raise Invalid(_("Your cart is empty."), fields={"cart": [_("Add something first.")]})
    if buyer is not None and not getattr(buyer, "is_authenticated", False):
        buyer = None
    if buyer is None and not (email or "").strip():
        raise Invalid(_("We need your email address for the tickets and receipt."), fields={"email": [_("Required.")]})
    options = _line_options(session, buyer)  # the code on each line it applies to; refused as a whole
    order = services.reserve(requests=[services.LineRequest(kind, item_id, int(qty), opts)
                                       for (kind, item_id, qty), opts in zip(raw, options, strict=True)],
                             buyer=buyer, email=email)
    clear(session)
    if buyer is None:
        remember_guest_order(session, order.pk)
    return order


def remember_guest_order(session, order_id: str) -> None:
    ids = [i for i in session.get(GUEST_ORDERS_KEY, []) if isinstance(i, str)][-(MAX_GUEST_ORDERS - 1):]
    session[GUEST_ORDERS_KEY] = [*ids, order_id]
    session.modified = True


def order_for_session(session, user, order_id: str) -> Order:
    """The order if this browser bought it as a guest, or the logged-in user is its buyer; else NotFound."""
    order = Order.objects.select_related("creator").filter(pk=order_id).first() if isinstance(order_id, str) else None
    mine = order is not None and (order.pk in session.get(GUEST_ORDERS_KEY, []) or
                                  (getattr(user, "is_authenticated", False) and order.buyer_id == user.pk))
    if not mine:
        raise NotFound(_("No such order."))
    return order


def account_for_guest_order(session, order_id: str, *, password: str, display_name: str = "") -> User:
    """After paying as a guest: an account with the order's email, owning the order, its tickets and
    any store credit bought under that email. Refused when the email already has an account."""
    order = order_for_session(session, None, order_id)
    if order.status not in Order.SETTLED:
        raise Conflict(_("Pay first; then you can keep your tickets in an account."), code="not_paid")
    if order.buyer_id is not None:
        raise Conflict(_("This order already belongs to an account."), code="already_claimed")
    if User.objects.filter(email__iexact=order.email).exists():
        raise Conflict(_("There is already an account for this email: log in to see your tickets."),
                       code="account_exists")
    display_name = (display_name or "").strip()[:80]
    user = User(email=order.email.lower())
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], fields={"password": exc.messages}) from exc
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        user = User.objects.create_user(email=order.email, password=password)
        if display_name and hasattr(user, "display_name"):
            user.display_name = display_name
            user.save(update_fields=["display_name"])
        Order.objects.filter(buyer__isnull=True, email__iexact=order.email,
                             pk__in=session.get(GUEST_ORDERS_KEY, [])).update(buyer=user)
        order.refresh_from_db()
        credit.claim_for(user, Order.objects.filter(buyer=user).values_list("pk", flat=True))
        guest_order_claimed.send(sender=Order, order=order, user=user)
    return user
