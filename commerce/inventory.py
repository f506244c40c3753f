"""The one inventory primitive: pool keys, locks, reserve, resize, sold, release and availability.

Every pool of sellable units is an `Inventory` row named by a key built here (`tier_key`,
`venue_key`, `drop_key`, `variant_key`, `pos_key`); its units are taken by active, unexpired holds
and by `sold`. Only commerce touches the stock tables (commerce/models/inventory.py, guarded by an
import-linter contract); every other app asks this module.

Locks: pools are always locked in key order (no deadlocks). A reservation waits for a pool's lock
at most MICROSTAGE_LOCK_TIMEOUT_MS (PostgreSQL `lock_timeout`, set for the reserving transaction
only, in the same statement that takes the locks: no extra round trip). A wait that runs out is
answered Conflict("busy") — HTTP 409 `busy` — instead of a request that hangs.
"""
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from microstage import hotsql
from microstage.errors import Conflict

from . import stock_snapshot
from .models.inventory import Hold, Inventory

BUSY_DETAIL = gettext_noop("Many people are buying this right now. Please try again in a moment.")


# --- keys ----------------------------------------------------------------------------------------

def tier_key(tier_id) -> str:
    return f"tier:{tier_id}"


def venue_key(event_id) -> str:
    return f"venue:{event_id}"


def drop_key(drop_id) -> str:
    return f"drop:{drop_id}"


def variant_key(variant_id) -> str:
    return f"variant:{variant_id}"


def pos_key(sale_id, variant_id) -> str:
    return f"pos:{sale_id}:{variant_id}"


# --- locks ---------------------------------------------------------------------------------------

_POOLS_READ = ("SELECT {i} FROM {i_table} i WHERE set_config('lock_timeout', %s, true) IS NOT NULL "
               "AND i.key = ANY(%s) ORDER BY i.key ")
ROW_LOCK = "FOR UPDATE"  # how lock_pools reads the pools (the concurrency tests' control experiment drops it)


def lock_timeout_ms() -> int:
    return max(1, int(getattr(settings, "LOCK_TIMEOUT_MS", 3000)))


def is_lock_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "sqlstate", None) == "55P03" or type(cause).__name__ == "LockNotAvailable"


@contextmanager
def busy_on_lock_timeout():
    """Turn a lock wait that ran out (PostgreSQL 55P03, LockNotAvailable) into Conflict("busy")."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Conflict(gettext(BUSY_DETAIL), code="busy") from exc
        raise


def lock_pools(totals: dict) -> dict[str, Inventory]:
    """Create missing pools, lock all of them in key order (no deadlocks) and sync their totals.

    A total given as a function is read only now, under the lock (see sellables.Limit). Call inside
    a transaction; a lock wait longer than the timeout raises Conflict("busy")."""
    return _locked(totals, None)[0]


def lock_and_count(totals: dict, now) -> tuple[dict[str, Inventory], "stock_snapshot.Held"]:
    """`lock_pools`, and what active unexpired holds take from each pool (`active_holds`), in one round
    trip: the pools are made, locked and counted by three statements sent together. PostgreSQL runs the
    count after the locks are taken, as a statement of its own, so it sees every hold committed before
    them (counted in the locking statement itself, it would see only what was committed when that
    statement started, before it waited for the lock)."""
    return _locked(totals, now)


def _locked(totals: dict, count_at) -> tuple[dict[str, Inventory], "stock_snapshot.Held | None"]:
    keys = sorted(totals)
    statements = [
        # Created in key order too: two orders creating the same new pools in opposite orders deadlock.
        (hotsql.statement(
            'INSERT INTO {i_table} ("key", "total", "sold", "moved", "updated_at") '
            "SELECT u.k, u.t, 0, 0, %s FROM unnest(%s::varchar[], %s::integer[]) WITH ORDINALITY AS u(k, t, n) "
            'ORDER BY u.n ON CONFLICT ("key") DO NOTHING', i=Inventory),
         [timezone.now(), keys, [0 if callable(totals[k]) else totals[k] for k in keys]]),
        # lock_timeout is set for this transaction (SET LOCAL, as set_config(…, true)) by a constant condition,
        # evaluated once before any row is locked: no extra round trip.
        (hotsql.statement(_POOLS_READ + ROW_LOCK, i=Inventory), [f"{lock_timeout_ms()}ms", keys], (Inventory, "i")),
    ]
    if count_at is not None:
        statements.append(stock_snapshot.active_holds_query(keys, count_at, by_key=True))
    with busy_on_lock_timeout():  # fixed SQL (microstage/hotsql.py), sent together: every reservation runs them
        _made, locked, *count = hotsql.fetch_together(*statements)
    pools = {p.key: p for (p,) in locked}
    for key, total in totals.items():
        total = total() if callable(total) else total
        if pools[key].total != total:
            pools[key].total = max(total, pools[key].sold + pools[key].moved)
            pools[key].save(update_fields=["total", "updated_at"])
    return pools, stock_snapshot.counted(count[0]) if count else None


def lock_by_id(ids: Iterable[int]) -> list[Inventory]:
    return list(Inventory.objects.select_for_update().filter(pk__in=list(ids)).order_by("key"))


def lock_key(key: str) -> Inventory | None:
    return Inventory.objects.select_for_update().filter(key=key).first()


# --- counting ------------------------------------------------------------------------------------

def active_holds(pools, now) -> dict[int, int]:
    """Units held per pool id (with `.soonest` hold expiry per pool, for the sold-out snapshots)."""
    return stock_snapshot.active_holds(pools, now)


def left_in(pools: dict[str, Inventory], held: dict[int, int]) -> dict[str, int]:
    return {k: max(0, p.total - p.sold - p.moved - held.get(p.pk, 0)) for k, p in pools.items()}


def availability_by_key(keys: list[str], now=None) -> dict[str, int]:
    """Units left per pool: total − sold − active unexpired holds. Unknown pools are not listed."""
    now = now or timezone.now()
    pools = Inventory.objects.filter(key__in=keys).annotate(
        held=Sum("holds__quantity", filter=Q(holds__status=Hold.Status.ACTIVE, holds__expires_at__gt=now)))
    return {p.key: max(0, p.total - p.sold - p.moved - (p.held or 0)) for p in pools}


def availability(keys: list[str], totals: dict[str, int] | None = None, now=None) -> int:
    """What one line drawing on all `keys` can still get: the tightest pool decides.

    A pool nobody has bought from yet has no row; its availability is its total (from `totals`).
    """
    found = availability_by_key(keys, now)
    values = [found[k] if k in found else (totals or {}).get(k, 0) for k in keys]
    return min(values) if values else 0


def sold_by_key(keys: Iterable[str]) -> dict[str, int]:
    """Units sold per pool (pools without a row are missing: nothing sold)."""
    return dict(Inventory.objects.filter(key__in=list(keys)).values_list("key", "sold"))


def sold(key: str) -> int:
    return Inventory.objects.filter(key=key).values_list("sold", flat=True).first() or 0


def total_of(key: str) -> int | None:
    return Inventory.objects.filter(key=key).values_list("total", flat=True).first()


def taken(key: str, now=None) -> int:
    """Units of a pool sold or held (0 without a row)."""
    pool = Inventory.objects.filter(key=key).first()
    if pool is None:
        return 0
    return pool.total - availability_by_key([key], now)[key]


# --- holds ---------------------------------------------------------------------------------------

def hold(*, order, line, pool: Inventory, quantity: int, expires_at) -> Hold:
    """An unsaved hold of `quantity` units of a (locked) pool for one order line."""
    return Hold(order=order, line=line, inventory=pool, quantity=quantity, expires_at=expires_at)


def save_holds(holds: list[Hold]) -> None:
    Hold.objects.bulk_create(holds)


def reserve(*, order, line, need: dict[str, int], totals: dict[str, int], expires_at, now=None) -> None:
    """Hold `need` units per pool for one order line until `expires_at`, all or nothing, under the pools'
    locks (in key order, with the lock timeout): Conflict("sold_out") when any pool has too few left."""
    now = now or timezone.now()
    stock_snapshot.refuse_if_sold_out(need, totals, now)
    pools = lock_pools(totals)
    held = active_holds(pools.values(), now)
    left = left_in(pools, held)
    for key, qty in sorted(need.items()):
        if left[key] < qty:
            stock_snapshot.remember_now(pools, left, getattr(held, "soonest", {}), now)
            raise Conflict("Sold out: not enough left for this quantity.", code="sold_out", available=left[key])
    save_holds([hold(order=order, line=line, pool=pools[k], quantity=q, expires_at=expires_at)
                for k, q in need.items()])
    stock_snapshot.forget_on_commit(need)


def rehold(order, now, *, minutes: int = 1) -> bool:
    """Take the stock again for an order whose holds lapsed (a late payment); False if it is gone."""
    from datetime import timedelta

    holds = list(order.holds.exclude(status=Hold.Status.CONVERTED))
    need: dict[int, int] = defaultdict(int)
    for h in holds:
        need[h.inventory_id] += h.quantity
    pools = lock_by_id(need)
    held = active_holds(pools, now)
    if any(p.total - p.sold - p.moved - held.get(p.pk, 0) < need[p.pk] for p in pools):
        return False
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(status=Hold.Status.ACTIVE,
                                                             expires_at=now + timedelta(minutes=minutes))
    return True


def release(order) -> int:
    """Give back an order's active holds at once (cancelled, expired, a group-buy seat given up)."""
    return order.holds.filter(status=Hold.Status.ACTIVE).update(status=Hold.Status.RELEASED)


def sell(order, *, skip_prefix: str = "") -> list[Hold]:
    """Turn an order's active holds into sales (order locked): pools locked in key order, `sold` raised.

    Holds on pools whose key starts with `skip_prefix` sell nothing but stay locked with the rest.
    Returns the converted holds (with their pools)."""
    holds = list(order.holds.filter(status=Hold.Status.ACTIVE).select_related("inventory"))
    per_pool: dict[int, int] = defaultdict(int)
    for h in holds:
        per_pool[h.inventory_id] += 0 if skip_prefix and h.inventory.key.startswith(skip_prefix) else h.quantity
    for pool in lock_by_id(per_pool):
        if per_pool[pool.pk]:
            pool.sold += per_pool[pool.pk]
            pool.save(update_fields=["sold", "updated_at"])
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(status=Hold.Status.CONVERTED)
    return holds


def unsell(per_pool: dict[int, int]) -> None:
    """Units sold come back (a refund): {pool id: units}."""
    for pool in lock_by_id(per_pool):
        pool.sold = max(0, pool.sold - per_pool[pool.pk])
        pool.save(update_fields=["sold", "updated_at"])


def sold_holds(line):
    return line.holds.filter(status=Hold.Status.CONVERTED)


def holds_by_key(order) -> dict[str, int]:
    """{pool key: units} an order holds or bought (active or converted holds)."""
    out: dict[str, int] = defaultdict(int)
    for key, qty in order.holds.exclude(status=Hold.Status.RELEASED).values_list("inventory__key", "quantity"):
        out[key] += qty
    return dict(out)


def order_pool_keys(order) -> list[tuple]:
    """[(line kind, line item, pool key)] of an order's holds."""
    return [(h.line.kind, h.line.item_id, h.inventory.key) for h in order.holds.select_related("line", "inventory")]


# --- sizes ---------------------------------------------------------------------------------------

def resize(key: str, total: int, *, field: str = "quantity", detail: str = "",
           sold_message: str = "{sold} are already sold.") -> Inventory | None:
    """Set a pool's total (locked) to what its owner now sells; Invalid when below what is already sold.
    No row yet: nothing to do (the pool is made with its total at its first reservation)."""
    from microstage.errors import Invalid

    pool = lock_key(key)
    if pool is None:
        return None
    if total < pool.sold:
        raise Invalid(detail or "Quantity is below what is already sold.",
                      fields={field: [sold_message.format(sold=pool.sold)]})
    pool.total = total
    pool.moved = min(pool.moved, total - pool.sold)  # a new count of the stock: the owner's word wins
    pool.save(update_fields=["total", "moved", "updated_at"])
    stock_snapshot.forget_on_commit([key])  # a raised total sells at once, not after the snapshot's age
    return pool


def take_free(key: str, units: int, *, base_total: int, all_or_nothing: bool = False, now=None) -> int:
    """Take up to `units` out of what a pool can sell (they are sold or kept elsewhere: `moved`); returns
    how many were taken — never units sold or held (those are promised to buyers). The pool is locked
    (made if missing, with `base_total`); with `all_or_nothing`, 0 unless all `units` are free.

    `total` stays the owner's (a variant's stock): only `moved` changes, under the lock, so an offer
    that read the stock a moment earlier cannot put the units back by syncing the total."""
    now = now or timezone.now()
    pools = lock_pools({key: base_total})
    pool = pools[key]
    left = left_in(pools, active_holds(pools.values(), now))[key]
    took = min(units, left)
    if all_or_nothing and took < units:
        return 0
    if took:
        pool.moved += took
        pool.save(update_fields=["moved", "updated_at"])
        stock_snapshot.forget_on_commit([key])
    return took


def give(key: str, units: int, *, base_total: int) -> int:
    """Units taken elsewhere come back to the pool (at most what was taken); returns how many."""
    pools = lock_pools({key: base_total})
    back = min(units, pools[key].moved)
    if back:
        pools[key].moved -= back
        pools[key].save(update_fields=["moved", "updated_at"])
        stock_snapshot.forget_on_commit([key])
    return back


def free_units(key: str, base_total: int, now=None) -> int:
    """Units of a pool neither sold nor held (its base total when it has no row yet)."""
    return availability([key], {key: base_total}, now)


def seed(key: str, *, total: int, sold: int = 0) -> None:
    """Demo data only: a pool with these counts."""
    Inventory.objects.update_or_create(key=key, defaults={"total": total, "sold": sold})
