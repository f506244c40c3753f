"""Publish live updates to websocket groups, only once the surrounding transaction commits."""
import logging
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)
_GROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,99}$")


def send_now(group: str, payload: dict) -> None:
    """Send `payload` to every consumer in `group` (consumers relay it as JSON)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "broadcast", "payload": payload})
    except Exception:  # a live update must never break the write that caused it
        log.exception("realtime publish to %s failed", group)


_listeners: list = []


def add_listener(callback) -> None:
    """`callback(group, payload)` runs (inside the caller's transaction) for every publish; apps above
    use it to invalidate what an announced change makes stale (e.g. events' page cache)."""
    if callback not in _listeners:
        _listeners.append(callback)


def publish(group: str, payload: dict) -> None:
    """Send on commit: a rolled-back change is never announced; outside a transaction, at once."""
    if not _GROUP_RE.match(group):
        raise ValueError(f"invalid channel group name: {group!r}")
    for callback in _listeners:
        try:
            callback(group, payload)
        except Exception:  # a listener must never break the write that caused it
            log.exception("realtime listener failed for %s", group)
    transaction.on_commit(lambda: send_now(group, payload))


def event_group(event_id: str) -> str:
    """The group every watcher of an event's page and websocket joins."""
    return f"event.{event_id}"
