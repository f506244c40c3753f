"""Sold-out snapshots: refuse a reservation for a pool that is out without taking its row lock.

In a rush most requests arrive after the last unit is gone. Each of them used to queue for the
pool's row lock only to learn "sold out". `reserve` now remembers, per pool, what it saw under the
lock (units left, the pool's total, when, and the soonest expiry among the holds it counted) in
Redis: after commit for a sale, at once for a refusal (a refusal changes nothing). The next request
that needs more than a snapshot says is left is refused from it, with the same `sold_out` answer —
one Redis round trip, no transaction, no lock.

Why it is safe:
- it only ever *refuses*: a sale still always goes through the database lock, so a snapshot can
  never let through a sale the lock would refuse;
- it refuses for at most STOCK_SNAPSHOT_SECONDS after stock comes back: a snapshot is honoured only
  while `taken_at <= now < until`, `until` being the earlier of taken_at + STOCK_SNAPSHOT_SECONDS and
  the soonest expiry of a hold it counted (stock that comes back by the clock is never refused), and,
  once the offer is made, only while the offer's total for the pool is the one it saw;
- the item's own pool (`Sellable.stock_key`, e.g. a tier's) is asked first, before the offer
  (`refuse_early`): a refusal then costs no database read at all. Its total is not known yet, so a
  raised quantity is seen at once only when raised through its owner's service (which forgets the
  snapshot at commit), otherwise within the snapshot's age;
- stock that comes back by a write (a cancel, a refund, a stock edit, a sale announced) deletes the
  pools' snapshots when that transaction commits (`forget_on_commit`, called from
  commerce.services.announce); a snapshot written by a request that raced such a write lives at
  most the bounded age above.
"""
import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from microstage import hotsql
from microstage.errors import Conflict

from .models.inventory import Hold, Inventory
from .sellables import LIMIT_PREFIX

log = logging.getLogger(__name__)
PREFIX = "stock-snap:"


def _enabled() -> bool:
    return settings.STOCK_SNAPSHOT_SECONDS > 0


def _shown(key: str) -> bool:
    return not key.startswith(LIMIT_PREFIX)  # personal caps are not stock


def keys_to_read(need: dict[str, int]) -> list[str]:
    """The cache keys of the snapshots that decide `need` (none when snapshots are off)."""
    return [PREFIX + k for k in need if _shown(k)] if _enabled() else []


def refusal(need: dict[str, int], totals: dict[str, int] | None, found: dict, now: datetime) -> Conflict | None:
    """The `sold_out` refusal that the snapshots `found` (cache key -> value) give for `need`, if any.

    `totals=None`: asked before the offer, when the pools' totals are not known yet (`refuse_early`)."""
    ts = now.timestamp()
    for key in need:
        snap = found.get(PREFIX + key) if _shown(key) else None
        if not isinstance(snap, dict):
            continue
        same_total = totals is None or snap["total"] == totals.get(key)
        if same_total and snap["at"] <= ts < snap["until"] and snap["left"] < need[key]:
            return Conflict(_("Sold out: not enough left for this quantity."), code="sold_out", available=snap["left"])
    return None


def refuse_if_sold_out(need: dict[str, int], totals: dict[str, int] | None, now: datetime) -> None:
    """Raise Conflict("sold_out") when a fresh snapshot says a pool has fewer than `need` left."""
    keys = keys_to_read(need)
    if not keys:
        return
    try:
        found = cache.get_many(keys)
    except Exception:  # Redis trouble: the lock decides, as before
        log.warning("stock snapshots unreadable", exc_info=True)
        return
    conflict = refusal(need, totals, found, now)
    if conflict is not None:
        raise conflict


def refuse_early(own: dict[str, int], now: datetime) -> None:
    """Before any offer is made: refuse when an item's own pool (`Sellable.stock_key`) has fewer left
    than the units asked of it, so a rush's refusals read no row at all.

    Every unit of an item takes at least one unit of its own pool, so `own` never asks more than the
    reservation would. The total is not known here: a total raised through its owner's service drops the
    snapshot at commit like any stock that comes back (`forget_on_commit`); raised any other way (the
    admin, a shell), it is seen within the snapshot's age, as a concurrent write is."""
    refuse_if_sold_out(own, None, now)


class Held(dict):
    """Units held per pool id by active unexpired holds; `soonest`: the earliest of their expiries."""

    soonest: dict[int, datetime]


_HELD = ("SELECT h.inventory_id, SUM(h.quantity), MIN(h.expires_at) FROM {h_table} h WHERE h.inventory_id {pools} "
         "AND h.status = %s AND h.expires_at > %s GROUP BY h.inventory_id")


def active_holds(pools, now) -> Held:
    """What active unexpired holds take from each pool, and when the first of them lapses (one query)."""
    return counted(hotsql.rows(*active_holds_query([p.pk for p in pools], now)))


def active_holds_query(pools: list, now, *, by_key: bool = False) -> tuple[str, list]:
    """The fixed statement (every reservation asks it, under the pools' locks) and parameters of
    `active_holds` for pools given by id, or `by_key` (to send it with the statement that locks them)."""
    where = ("IN (SELECT i.id FROM {i_table} i WHERE i.key = ANY(%s))" if by_key else "= ANY(%s)")
    sql = hotsql.statement(_HELD.replace("{pools}", where), h=Hold, i=Inventory)
    return sql, [list(pools), Hold.Status.ACTIVE, now]


def counted(rows) -> Held:
    """`active_holds`' answer from its statement's rows."""
    held = Held((inventory_id, n) for inventory_id, n, _ in rows)
    held.soonest = {inventory_id: soonest for inventory_id, _, soonest in rows}
    return held


def _snapshots(pools: dict, left: dict[str, int], soonest: dict[int, datetime], now: datetime) -> dict:
    ts = now.timestamp()
    out = {}
    for key, pool in pools.items():
        if key not in left or not _shown(key):
            continue
        until = ts + settings.STOCK_SNAPSHOT_SECONDS
        if pool.pk in soonest:
            until = min(until, soonest[pool.pk].timestamp())
        out[PREFIX + key] = {"left": left[key], "total": pool.total, "at": ts, "until": until}
    return out


def _write(snaps: dict) -> None:
    if not snaps:
        return
    try:
        cache.set_many(snaps, timeout=int(settings.STOCK_SNAPSHOT_SECONDS) + 2)
    except Exception:
        log.warning("stock snapshots not written", exc_info=True)


def remember_now(pools: dict, left: dict[str, int], soonest: dict[int, datetime], now: datetime) -> None:
    """After a refusal under the lock (nothing changed): what was left, for the requests behind it."""
    if _enabled():
        _write(_snapshots(pools, left, soonest, now))


def remember_on_commit(pools: dict, left: dict[str, int], soonest: dict[int, datetime], now: datetime, *,
                       new_holds_expire: datetime) -> None:
    """After a sale: what is left once this transaction commits (nothing if it rolls back). The sale's
    own holds lapse at `new_holds_expire`, which bounds the snapshot too."""
    if _enabled():
        soonest = {p.pk: min(soonest.get(p.pk, new_holds_expire), new_holds_expire) for p in pools.values()}
        snaps = _snapshots(pools, left, soonest, now)
        transaction.on_commit(lambda: _write(snaps))


def forget(keys) -> None:
    """Drop these pools' snapshots now (the lock decides the next request)."""
    names = [PREFIX + k for k in set(keys) if _shown(k)]
    if not names or not _enabled():
        return
    try:
        cache.delete_many(names)
    except Exception:
        log.warning("stock snapshots not forgotten", exc_info=True)


def forget_on_commit(keys) -> None:
    """Stock of these pools may come back with this transaction: drop their snapshots now and again
    once it commits (a request in between may have written one from the old state)."""
    keys = set(keys)
    forget(keys)
    transaction.on_commit(lambda: forget(keys))
