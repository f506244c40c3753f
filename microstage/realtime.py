"""Publish live updates to websocket groups, only once the surrounding transaction commits.

Counters (stock, and anything else whose newest value is all a watcher needs) go through
`publish_latest`: a burst of commits within COALESCE_SECONDS becomes one frame per (group, key),
and its value is *computed when the frame is sent*, after every commit of the burst, so the last
frame is never an older value than the database holds. A settle check SETTLE_SECONDS later
re-reads the value and sends it again only if it differs from the last frame any process sent for
that key (kept in the cache), which repairs the one race coalescing cannot see: two web processes
whose frames cross on the way to the channel layer.
"""
import asyncio
import logging
import os
import re
import threading
import time
from collections.abc import Callable

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction

log = logging.getLogger(__name__)
_GROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,99}$")
SETTLE_SECONDS = 0.25
_LAST_TTL = 300


SEND_TIMEOUT_SECONDS = 5.0


class PublisherLoop:
    """One event loop per process, on a daemon thread, that sync code's group sends run on.

    async_to_sync from a plain thread (the coalescer's timer, a Celery task) starts a new event loop
    per call, and the channel layer keeps its Redis connections per loop: every frame built a new
    layer, connected to Redis and closed again (≈ 8 ms on the bench machine). Here the loop, the
    layer's connection and its pool live as long as the process; a forked child starts its own."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coro, timeout: float = SEND_TIMEOUT_SECONDS):
        return asyncio.run_coroutine_threadsafe(coro, self.loop()).result(timeout)


_publisher = PublisherLoop()


def send_now(group: str, payload: dict) -> None:
    """Send `payload` to every consumer in `group` (consumers relay it as JSON)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        _publisher.run(layer.group_send(group, {"type": "broadcast", "payload": payload}))
    except Exception:  # a live update must never break the write that caused it
        log.exception("realtime publish to %s failed", group)


def _check_group(group: str) -> None:
    if not _GROUP_RE.match(group):
        raise ValueError(f"invalid channel group name: {group!r}")


_listeners: list = []


def add_listener(callback) -> None:
    """`callback(group, payload)` runs (inside the caller's transaction) for every publish; apps above
    use it to invalidate what an announced change makes stale (e.g. events' page cache)."""
    if callback not in _listeners:
        _listeners.append(callback)


def _tell_listeners(group: str, payload: dict) -> None:
    for callback in _listeners:
        try:
            callback(group, payload)
        except Exception:  # a listener must never break the write that caused it
            log.exception("realtime listener failed for %s", group)


def publish(group: str, payload: dict) -> None:
    """Send on commit: a rolled-back change is never announced; outside a transaction, at once."""
    _check_group(group)
    _tell_listeners(group, payload)
    transaction.on_commit(lambda: send_now(group, payload))


def coalesce_seconds() -> float:
    return max(0.0, getattr(settings, "MICROSTAGE_REALTIME_COALESCE_MS", 50) / 1000)


class Coalescer:
    """Latest-value frames per (group, key): the first commit of a burst opens a window, every
    later one in it only replaces the compute function; at the end of the window each key's value
    is computed once and sent once."""

    def __init__(self, send: Callable[[str, dict], None] = send_now):
        self.send = send
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], Callable[[], dict]] = {}
        self._timer: threading.Timer | None = None
        self._flushing: set[threading.Thread] = set()  # windows closed, their frames being read and sent
        self._settles: set[threading.Timer] = set()

    def submit(self, group: str, key: str, compute: Callable[[], dict]) -> None:
        with self._lock:
            self._pending[(group, key)] = compute
            if self._timer is None:
                self._timer = threading.Timer(coalesce_seconds(), self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending, self._timer = self._pending, {}, None
            self._flushing.add(threading.current_thread())
        try:
            for (group, key), compute in batch.items():
                self._send_fresh(group, key, compute, only_if_changed=False)
        finally:
            connections.close_all()  # this thread's own connections: it ends here
            with self._lock:  # its settle check is registered before it stops counting as flushing
                if batch and SETTLE_SECONDS:
                    settle = threading.Timer(SETTLE_SECONDS, self.settle, args=(batch,))
                    settle.daemon = True
                    self._settles.add(settle)
                    settle.start()  # under the lock: cancel_pending only ever joins a started timer
                self._flushing.discard(threading.current_thread())

    def settle(self, batch: dict) -> None:
        try:
            for (group, key), compute in batch.items():
                self._send_fresh(group, key, compute, only_if_changed=True)
        finally:
            connections.close_all()
            with self._lock:
                self._settles.discard(threading.current_thread())

    def cancel_pending(self, timeout: float = 5.0) -> None:
        """Drop the frames and settle checks that have not begun and wait for those under way.

        Their values are read from the database on timer threads, up to SETTLE_SECONDS after a commit;
        the tests call this before emptying the database, which a read still running would deadlock.
        A frame being read when this is called is waited for, and the settle check it then starts is
        dropped like the others."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                timers = [t for t in (self._timer, *self._settles) if t is not None]
                flushing = list(self._flushing)
                self._pending, self._timer = {}, None
                self._settles.clear()
            if not timers and not flushing:
                return
            for timer in timers:
                timer.cancel()  # one that has not fired yet never will
            for thread in (*timers, *flushing):
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return

    def _send_fresh(self, group: str, key: str, compute: Callable[[], dict], *, only_if_changed: bool) -> None:
        try:
            payload = compute()
            last_key = f"rt:last:{group}:{key}"
            if only_if_changed and cache.get(last_key) == payload:
                return
            cache.set(last_key, payload, _LAST_TTL)
        except Exception:
            log.exception("realtime value for %s/%s failed", group, key)
            return
        self.send(group, payload)


_coalescer = Coalescer()


def publish_latest(group: str, key: str, compute: Callable[[], dict]) -> None:
    """On commit, announce `compute()` to `group`, coalesced with other commits for the same key
    within the window (0 ms: at once, uncoalesced). `compute` must read the current value itself.
    Listeners hear of it now, by the key's kind (`"stock:<item>"` -> `{"type": "stock"}`)."""
    _check_group(group)
    _tell_listeners(group, {"type": key.split(":", 1)[0], "key": key})
    if coalesce_seconds() <= 0:
        transaction.on_commit(lambda: send_now(group, compute()))
        return
    transaction.on_commit(lambda: _coalescer.submit(group, key, lambda: compute()))


def event_group(event_id: str) -> str:
    """The group every watcher of an event's page and websocket joins."""
    return f"event.{event_id}"


ACCESS_CHANGED = "access_changed"


def user_event_group(user_id: str, event_id: str) -> str:
    """The group a signed-in person's sockets for one event join (to hear that their rights changed)."""
    return f"user.{user_id}.event.{event_id}"


def access_changed(user_id, event_id: str) -> None:
    """On commit, tell `user_id`'s open sockets for the event to check their rights again (a refund,
    a transfer, a mute): they close, or go read-only, at once instead of at the next reconnect."""
    if user_id and event_id:
        publish(user_event_group(str(user_id), str(event_id)), {"type": ACCESS_CHANGED})
