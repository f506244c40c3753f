"""Against hoarding: what one account may hold unpaid at once, and how long a hold lasts in a rush.

All of it rides on reserve's personal caps (sellables.Limit), so it holds under the same row locks
as the stock itself — concurrent orders by one account cannot get past it:

- per account, at most MAX_OPEN_ORDERS_PER_ACCOUNT open orders that hold stock;
- per account and ticket tier (or product variant), at most the item's per-order maximum in open
  orders together, lowered further by PER_PERSON_HOLD_LIMIT when that is set;
- a reservation that leaves a pool with less than RUSH_AVAILABILITY_PERCENT of its units is held
  for RUSH_HOLD_SECONDS instead of HOLD_SECONDS, so the last units come back sooner when unpaid.

Refusals are 409 `limit_exceeded`. Paying (or cancelling, or the hold running out) frees the caps.
"""
from dataclasses import replace

from django.conf import settings
from django.utils.translation import gettext as _

from .sellables import LIMIT_PREFIX, OPEN_LIMIT_PREFIX, Limit


def _person(buyer) -> str:
    return str(buyer.pk) if buyer is not None and getattr(buyer, "is_authenticated", False) else ""


def personal_hold_limit(item_key: str, buyer, max_per_order: int) -> dict[str, Limit]:
    """The cap on units of one item (e.g. "tier:tier_…") this buyer may hold in open orders together."""
    person = _person(buyer)
    if not person:
        return {}
    cap = max_per_order
    if settings.PER_PERSON_HOLD_LIMIT > 0:
        cap = min(cap, settings.PER_PERSON_HOLD_LIMIT)
    return {f"{OPEN_LIMIT_PREFIX}{item_key}:{person}": Limit(
        total=cap, detail=_("At most %(cap)d of these per person in unpaid reservations ({left} more now): "
                            "pay for or cancel the one you have first.") % {"cap": cap})}


def with_account_limit(offers: list, buyer) -> list:
    """Offers with the account's cap on open orders added to the first one that holds stock."""
    person, cap = _person(buyer), settings.MAX_OPEN_ORDERS_PER_ACCOUNT
    if not person or cap <= 0:
        return offers
    for i, (offer, qty, options) in enumerate(offers):
        if offer.pools:
            limit = Limit(total=cap, per_order=True, detail=_("You already have %(cap)d unpaid reservations: "
                                                              "pay for or cancel one first.") % {"cap": cap})
            offers = list(offers)
            offers[i] = (replace(offer, limits={**offer.limits, f"{OPEN_LIMIT_PREFIX}orders:{person}": limit}),
                         qty, options)
            return offers
    return offers


def hold_seconds(pools: dict, held: dict[int, int], need: dict[str, int]) -> int:
    """How long this reservation is held: shorter when it leaves a stock pool nearly empty."""
    normal = settings.HOLD_SECONDS
    rush = min(settings.RUSH_HOLD_SECONDS, normal)
    for key, qty in need.items():
        pool = pools[key]
        if key.startswith(LIMIT_PREFIX) or not pool.total:
            continue
        left = pool.total - pool.sold - pool.moved - held.get(pool.pk, 0) - qty
        if left * 100 < pool.total * settings.RUSH_AVAILABILITY_PERCENT:
            return rush
    return normal
