"""The sellable registry: how commerce sells things it knows nothing about.

Each app that sells something (tickets, drop items, group-buy shares, memberships, passes)
registers a kind with an `offer` function and callbacks. Commerce asks for an Offer before it
reserves stock — so pricing and eligibility (sales windows, per-order limits, member early access
and discounts) are decided by the app that owns the thing, before any unit is held — and calls the
callbacks, inside its own transaction, when a line is paid, refunded or cancelled.
"""
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
    kind: str
    offer: Callable  # (item_id: str, quantity: int, buyer: User | None) -> Offer; raises ServiceError
    on_paid: Callable | None = None  # (line: OrderLine) -> None
    on_refunded: Callable | None = None  # (line: OrderLine, quantity: int) -> None
    on_cancelled: Callable | None = None  # (line: OrderLine) -> None
    group: Callable | None = None  # (item_id) -> realtime group told about its availability, or ""


LIMIT_PREFIX = "limit:"
OPEN_LIMIT_PREFIX = "limit:open:"  # caps on what is reserved and unpaid: paying frees them


def as_limit(value) -> Limit:
    return value if isinstance(value, Limit) else Limit(total=value)

_registry: dict[str, Sellable] = {}


def register(kind: str, *, offer, on_paid=None, on_refunded=None, on_cancelled=None, group=None) -> None:
    """Register a sellable kind; call from the selling app's AppConfig.ready()."""
    _registry[kind] = Sellable(kind, offer, on_paid, on_refunded, on_cancelled, group)


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
_event_of: dict[str, Callable] = {}  # kind -> (line: OrderLine) -> "evt_…" or ""
_show_ends: list[Callable] = []  # (event_ids: set[str]) -> {event_id: ends_at}


def register_event_of(kind: str, func: Callable) -> None:
    _event_of[kind] = func


def register_show_ends(func: Callable) -> None:
    if func not in _show_ends:
        _show_ends.append(func)


def event_of(line) -> str:
    func = _event_of.get(line.kind)
    return (func(line) or "") if func else ""


def show_ends(event_ids: set[str]) -> dict:
    found: dict = {}
    for func in _show_ends:
        found.update(func(set(event_ids)))
    return found
