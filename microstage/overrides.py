"""Experiment prices: which price an item has for one buyer, given the variant prices they were assigned.

The variant prices are an explicit argument, a plain mapping {(target, item id): Decimal} where target is
"drop" or "group_buy". Analytics assigns them per visitor (its middleware puts them on the request as
`request.variant_prices`); views pass them on to the selectors and services that price, so the same
call prices the same from a view, a task or a test. Without a mapping (or an entry) the default stands.
"""
from collections.abc import Mapping
from decimal import Decimal

VariantPrices = Mapping[tuple[str, str], Decimal]


def price(target: str, item_id: str, default: Decimal, variant_prices: VariantPrices | None = None) -> Decimal:
    """The price of `item_id` (a "drop" or "group_buy") under `variant_prices`, else `default`."""
    value = (variant_prices or {}).get((target, str(item_id)))
    return default if value is None else value
