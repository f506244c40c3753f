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


def publish(group: str, payload: dict) -> None:
    """Send on commit: a rolled-back change is never announced; outside a transaction, at once."""
    if not _GROUP_RE.match(group):
        raise ValueError(f"invalid channel group name: {group!r}")
    transaction.on_commit(lambda: send_now(group, payload))


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
