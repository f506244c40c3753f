"""Settling many group-buy participants fast while keeping the payment provider's rate limit.

Profile (bench/settlement.py, sandbox): one participant is ~34 SQL statements in one transaction (the
capture and its event row, the participant and its order repriced and marked paid, the order_paid
receivers: ledger, loyalty points, referrals, stock, waitlist); its outcome email is queued to the
workers once that commits. The rest of the time is Django building those statements. Participants
are independent (each has its own cache lock, Payment row lock and order), so they are settled by a
few threads, each with its own database connection, which overlaps the round trips.

The provider's request rate is a setting (`PROVIDER_RATE_LIMIT`: Stripe allows 25 requests/s in test
mode and 100/s live; 0 = no limit, the sandbox). Every participant settled takes one slot of a
per-second window counted in Redis, shared by every thread and worker process, so the rate holds
however many batches run at once.
"""
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import connection

log = logging.getLogger(__name__)
WINDOW_KEY = "provider-rate:{}"
_now, _sleep = time.time, time.sleep  # the clock the windows are counted in (tests replace it)


def rate_limit() -> float:
    """Provider requests per second settlement may make (0: unlimited)."""
    if settings.PAYMENTS_PROVIDER != "stripe":
        return float(settings.SANDBOX_RATE_LIMIT)
    return float(settings.STRIPE_RATE_LIMIT)


def acquire_slot(limit: float | None = None) -> None:
    """Block until one more provider request fits in the current one-second window (Redis, shared)."""
    limit = rate_limit() if limit is None else limit
    if limit <= 0:
        return
    while True:
        now = _now()
        key = WINDOW_KEY.format(int(now))
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key)
        except ValueError:  # the window's key expired between add and incr: take the next round
            continue
        if used <= limit:
            return
        _sleep(max(0.005, int(now) + 1 - _now()))


def settle_all(ids: Iterable[str], settle_one: Callable[[str], str], *, stop_on: Callable[[Exception], bool],
               on_error: Callable[[str, Exception], None] | None = None) -> tuple[list[str], Exception | None]:
    """Settle `ids` with SETTLE_CONCURRENCY threads, one provider slot each. Returns (statuses, the
    error that stopped the run or None). An error for which `stop_on` is true stops the run: nothing
    more is started (what was done stays done; the next run resumes). Other errors go to `on_error`
    and the run goes on; without `on_error` every error stops it."""
    ids = list(ids)
    stopped: list[Exception] = []
    statuses: list[str] = []
    lock = threading.Lock()

    def work(pid: str) -> None:
        if stopped:
            return
        try:
            acquire_slot()
            status = settle_one(pid)
        except Exception as exc:
            if on_error is None or stop_on(exc):
                with lock:
                    stopped.append(exc)
            else:
                on_error(pid, exc)
            return
        with lock:
            statuses.append(status)

    workers = max(1, min(settings.SETTLE_CONCURRENCY, len(ids)))
    if connection.in_atomic_block:  # other connections could not see this transaction's rows
        workers = 1
    if workers == 1:
        for pid in ids:
            work(pid)
    else:
        def in_thread(pid: str) -> None:
            try:
                work(pid)
            finally:
                connection.close()  # each thread's own connection goes back

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="settle") as pool:
            list(pool.map(in_thread, ids))
    return statuses, (stopped[0] if stopped else None)
