"""Presence: a viewer count per event kept in Redis, broadcast (throttled) on join and leave."""
import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from streaming import selectors
from streaming.services import presence
from streaming.models import LiveStream

from .live_helpers import connect, make_room, receive_type

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PRESENCE_THROTTLE_SECONDS = 0.3


@pytest.fixture
def room():
    room = make_room()
    LiveStream.objects.create(event=room.event)
    return room


async def presence_until(comm, viewers: int, timeout: float = 5.0) -> dict:
    """Presence frames until one says `viewers` (throttling may skip intermediate counts)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await receive_type(comm, "presence", timeout=max(0.1, deadline - time.monotonic()))
        if frame["viewers"] == viewers:
            return frame


async def test_watchers_are_counted_on_join_and_leave_and_the_peak_is_kept(room):
    a = await connect(room.event.pk, room.tokens["holder"], watch=True)
    await presence_until(a, 1)
    b = await connect(room.event.pk, room.tokens["holder2"], watch=True)
    assert b.resync["viewers"] == 2
    await presence_until(a, 2)
    await presence_until(b, 2)
    await b.disconnect()
    await presence_until(a, 1)
    stream = await sync_to_async(LiveStream.objects.get)(event=room.event)
    assert stream.peak_viewers == 2
    await a.disconnect()
    assert await sync_to_async(selectors.viewer_count)(room.event.pk) == 0


async def test_only_watch_page_connections_with_access_count(room):
    watcher = await connect(room.event.pk, room.tokens["holder"], watch=True)
    await presence_until(watcher, 1)
    landing = await connect(room.event.pk, room.tokens["holder2"])  # the landing page's stock counter
    no_ticket = await connect(room.event.pk, room.tokens["stranger"], watch=True)
    anonymous = await connect(room.event.pk, watch=True)
    try:
        await asyncio.sleep(0.8)
        assert await sync_to_async(selectors.viewer_count)(room.event.pk) == 1
        # They still see the count.
        assert no_ticket.resync["viewers"] == 1 and anonymous.resync["viewers"] == 1
    finally:
        for comm in (watcher, landing, no_ticket, anonymous):
            await comm.disconnect()


async def test_a_burst_of_joins_is_throttled_but_the_last_count_arrives(room, settings):
    settings.PRESENCE_THROTTLE_SECONDS = 1.0
    first = await connect(room.event.pk, room.tokens["owner"], watch=True)
    await presence_until(first, 1)
    others = [await connect(room.event.pk, room.tokens[name], watch=True)
              for name in ("moderator", "door", "holder", "holder2")]
    seen = []
    deadline = time.monotonic() + 5
    while not seen or seen[-1] != 5:
        seen.append((await receive_type(first, "presence", timeout=max(0.1, deadline - time.monotonic())))["viewers"])
    assert seen[-1] == 5
    assert len(seen) < 4  # 4 joins within the 1 s window: fewer broadcasts than changes
    for comm in [first, *others]:
        await comm.disconnect()


def test_stale_connections_expire(room):
    presence.presence_join(room.event.pk, "specific.live!a")
    presence.presence_join(room.event.pk, "specific.dead!b")
    selectors.chat_redis().zadd(selectors.presence_key(room.event.pk),
                                {"specific.dead!b": time.time() - selectors.PRESENCE_TTL_SECONDS - 1})
    assert selectors.viewer_count(room.event.pk) == 1
    presence.presence_leave(room.event.pk, "specific.live!a")
    assert selectors.viewer_count(room.event.pk) == 0


def test_the_broadcast_claim_is_throttled_and_raises_the_peak(room, settings):
    settings.PRESENCE_THROTTLE_SECONDS = 5
    for i in range(3):
        presence.presence_join(room.event.pk, f"specific.x!{i}")
    viewers, wait = presence.claim_presence_broadcast(room.event.pk)
    assert viewers == 3 and wait == 0
    viewers, wait = presence.claim_presence_broadcast(room.event.pk)
    assert viewers is None and 0 < wait <= 5
    assert LiveStream.objects.get(event=room.event).peak_viewers == 3


async def test_one_ticket_holder_with_many_sockets_is_one_viewer(room):
    """Viewers are people, not sockets: a holder opening many watch sockets counts once, and stays
    counted until the last of them closes."""
    many = [await connect(room.event.pk, room.tokens["holder"], watch=True) for _ in range(12)]
    other = await connect(room.event.pk, room.tokens["holder2"], watch=True)
    try:
        await presence_until(other, 2)
        assert await sync_to_async(selectors.viewer_count)(room.event.pk) == 2
        for comm in many[:-1]:
            await comm.disconnect()
        await asyncio.sleep(0.2)
        assert await sync_to_async(selectors.viewer_count)(room.event.pk) == 2
        await many[-1].disconnect()
        await presence_until(other, 1)
    finally:
        await other.disconnect()


def test_three_hundred_connections_of_one_person_count_once(room):
    for i in range(300):
        presence.presence_join(room.event.pk, f"specific.x!{i}", room.holder.pk)
    presence.presence_join(room.event.pk, "specific.y!0", room.holder2.pk)
    assert selectors.viewer_count(room.event.pk) == 2
