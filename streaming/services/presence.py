"""Presence: who is watching an event, counted in Redis across web processes (a sorted set of
connection ids scored by their last heartbeat), and the throttled viewer-count broadcast.
"""
import time

from django.conf import settings

from ..models import LiveStream
from ..selectors import PRESENCE_TTL_SECONDS, chat_redis, presence_key, presence_member, viewer_count


def presence_join(event_id: str, connection_id: str, person: str = "") -> None:
    """Count a watching connection of `person` (also its heartbeat: the score is the time last seen);
    viewer_count counts people, so one person's many connections count once."""

    key = presence_key(event_id)
    pipe = chat_redis().pipeline(transaction=False)
    pipe.zadd(key, {presence_member(connection_id, person): time.time()})
    pipe.expire(key, PRESENCE_TTL_SECONDS * 10)
    pipe.execute()


def presence_leave(event_id: str, connection_id: str, person: str = "") -> None:

    chat_redis().zrem(presence_key(event_id), presence_member(connection_id, person))


def claim_presence_broadcast(event_id: str) -> tuple[int | None, float]:
    """At most one viewer-count broadcast per event per PRESENCE_THROTTLE_SECONDS, across processes.

    Returns (viewers, 0) to whoever may broadcast now (also raising the stream's peak), else
    (None, seconds until it may try again) — the caller retries then, so the last change is
    always announced."""


    throttle_ms = max(1, int(settings.PRESENCE_THROTTLE_SECONDS * 1000))
    r = chat_redis()
    key = f"ms:presence:throttle:{event_id}"
    if not r.set(key, 1, nx=True, px=throttle_ms):
        wait = r.pttl(key)
        return None, (wait if wait and wait > 0 else throttle_ms) / 1000
    viewers = viewer_count(event_id)
    LiveStream.objects.filter(event_id=event_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)
    return viewers, 0.0
