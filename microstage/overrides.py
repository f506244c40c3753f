"""Price overrides: a hook the selling apps ask ("is there another price for this item, for this
request?") and an app higher up (analytics experiments) answers, without the selling apps importing it.

Providers are registered once at startup (`AppConfig.ready()`); each takes (target, item_id) and returns
a Decimal or None. The first non-None answer wins; with no provider or no answer the default stands.
"""
from collections.abc import Callable
from decimal import Decimal

Provider = Callable[[str, str], Decimal | None]

_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def unregister(provider: Provider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def price(target: str, item_id: str, default: Decimal) -> Decimal:
    """The price of `item_id` (a "drop" or "group_buy") for the current request, else `default`."""
    for provider in _providers:
        value = provider(target, str(item_id))
        if value is not None:
            return value
    return default
