"""The sellable registry: how commerce sells things it knows nothing about.

Each app that sells something (tickets, drop items, bundles, products, group-buy shares, tips,
replays and clips, passes, till items) registers its kind here once, from its AppConfig.ready(), with
every hook commerce calls: an `offer` function, the callbacks for a paid, refunded or cancelled line,
the realtime group of its availability, the show whose end settles its money (`event_of`), the
product a paid line delivers (`product_of_line`, for downloads and fulfilment) and the order page's
block for its lines (`order_section`). Commerce asks for an Offer before it reserves stock — so
pricing and eligibility (sales windows, per-order limits, member early access and discounts) are
decided by the app that owns the thing, before any unit is held — and calls the callbacks, inside
its own transaction, when a line is paid, refunded or cancelled.
"""
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Limit:
    """A personal cap held under reserve's locks, with the refusal its app wants to give.

    `total` may be a function: it is then read after the pool is locked, so a count that another
    order's payment changes (a pass's credits) is never stale. `per_order`: an order takes one unit
    whatever its quantities (a single-use code, one open order). Keys starting with OPEN_LIMIT_PREFIX
    count only open reservations: a paid order no longer takes from them.
    """

    total: int | Callable[[], int]
    code: str = "limit_exceeded"
    detail: str = ""
    per_order: bool = False


@dataclass(frozen=True)
class Offer:
    """What one line would be: price, seller and the inventory pools it draws on."""

    kind: str
    item_id: str
    creator_id: str
    description: str
    unit_price: Decimal
    currency: str
    list_price: Decimal | None = None  # before member discounts; equals unit_price when none applies
    pools: dict[str, int] = field(default_factory=dict)  # inventory key -> that pool's current total
    # Personal caps held under the same locks but never shown as availability, e.g. a drop's
    # per-person limit as {"limit:drop:<id>:<user>": 2}; keys start with LIMIT_PREFIX. A value is
    # the cap, or a Limit saying more (its error, a total read under the lock, once per order).
    limits: dict[str, "int | Limit"] = field(default_factory=dict)
    # Units of a pool one unit of the line takes, when more than one (a bundle of two tickets takes
    # 2 from "tier:…" per bundle); pools not named take 1.
    units: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Sellable:
    """Everything commerce asks of one kind of thing it sells, registered once by the app that owns it."""

    kind: str
    offer: Callable  # (item_id: str, quantity: int, buyer: User | None) -> Offer; raises ServiceError
    on_paid: Callable | None = None  # (line: OrderLine) -> None
    on_refunded: Callable | None = None  # (line: OrderLine, quantity: int) -> None
    on_cancelled: Callable | None = None  # (line: OrderLine) -> None
    group: Callable | None = None  # (item_id) -> realtime group told about its availability, or ""
    event_of: Callable | None = None  # (line) -> the show ("evt_…" or "") whose end settles the line's money
    product_of_line: Callable | None = None  # (line) -> the Product a paid line delivers (downloads), or None
    order_section: Callable | None = None  # (request, order, lines) -> the order page's block for these lines
    # (item_id) -> the pool every unit of the item draws on (its own stock, e.g. "tier:…"), named from the
    # id alone: a rush's refusals are answered from that pool's snapshot before the offer reads anything.
    stock_key: Callable | None = None


LIMIT_PREFIX = "limit:"
OPEN_LIMIT_PREFIX = "limit:open:"  # caps on what is reserved and unpaid: paying frees them


def as_limit(value) -> Limit:
    return value if isinstance(value, Limit) else Limit(total=value)

_registry: dict[str, Sellable] = {}


def register(kind: str, *, offer, on_paid=None, on_refunded=None, on_cancelled=None, group=None, event_of=None,
             product_of_line=None, order_section=None, stock_key=None) -> None:
    """Register a sellable kind with all its hooks, once, from the selling app's AppConfig.ready().

    A second registration of the same kind with other hooks is a mistake (two homes for one kind's
    rules), so it raises; registering the very same hooks again is harmless.
    """
    sellable = Sellable(kind, offer, on_paid, on_refunded, on_cancelled, group, event_of, product_of_line,
                        order_section, stock_key)
    if _registry.get(kind, sellable) != sellable:
        raise ImproperlyConfigured(f"The sellable kind {kind!r} is registered twice.")
    _registry[kind] = sellable


def get(kind: str) -> Sellable | None:
    return _registry.get(kind)


# Prices a line of a kind whose offer takes no options (a product) with a code the buyer typed:
# (offer, code) -> Offer. Codes belong to memberships (above commerce), which registers it at start-up.
_code_pricer: Callable | None = None


def register_code_pricer(pricer) -> None:
    global _code_pricer
    _code_pricer = pricer


def with_code(offer: Offer, options: dict) -> Offer:
    """`offer` priced with options {"code": ...}; any other option is refused."""
    from microstage.errors import Invalid

    if set(options) != {"code"} or _code_pricer is None or not isinstance(options["code"], str):
        raise Invalid(_("Unknown payment options."), fields={k: [_("Unknown option.")] for k in sorted(options)})
    return _code_pricer(offer, options["code"])


def kinds() -> list[str]:
    return sorted(_registry)


# --- when the money of a line settles ---------------------------------------------------------------
# A sale stays pending until its show is over (plus a settling period). The selling app tells commerce
# which show a line belongs to, and the app that owns shows tells it when they end: commerce never
# imports events.
_show_ends: list[Callable] = []  # (event_ids: set[str]) -> {event_id: ends_at}


def register_show_ends(func: Callable) -> None:
    if func not in _show_ends:
        _show_ends.append(func)


def event_of(line) -> str:
    """The show a line belongs to ("" for none), as its kind says."""
    sellable = _registry.get(line.kind)
    return (sellable.event_of(line) or "") if sellable and sellable.event_of else ""


def product_of_line(line):
    """The product a paid line delivers (its downloads), as its kind says; None for none."""
    sellable = _registry.get(line.kind)
    return sellable.product_of_line(line) if sellable and sellable.product_of_line else None


def order_section(kind: str) -> Callable | None:
    """`(request, order, lines) -> str` drawing what lines of `kind` deliver on the order page, if any."""
    sellable = _registry.get(kind)
    return sellable.order_section if sellable else None


def show_ends(event_ids: set[str]) -> dict:
    found: dict = {}
    for func in _show_ends:
        found.update(func(set(event_ids)))
    return found
