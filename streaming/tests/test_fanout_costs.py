"""What one group frame costs a web process per watcher (issue 11, item 5): relaying it touches no
database, so it must not queue a hop through the one thread sync code runs on (channels' default
dispatch closes stale database connections there before every message: with 500 watchers that is
500 thread hops, one after another, per frame)."""
import asyncio

import channels.consumer
import pytest
from channels.layers import get_channel_layer

from microstage.realtime import event_group

from .live_helpers import connect, make_room, receive_type, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def hops(monkeypatch):
    """The consumer task of every hop channels' dispatch makes through the sync thread to close old
    connections (a consumer dispatches in its application's task: the communicator's `future`)."""
    calls = []
    original = channels.consumer.aclose_old_connections

    async def counted():
        calls.append(asyncio.current_task())
        return await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    return calls


async def test_group_frames_are_relayed_without_a_sync_thread_hop(hops):
    from asgiref.sync import sync_to_async

    room = await sync_to_async(make_room)()
    watchers = [await connect(room.event.pk, room.tokens[name], watch=True) for name in ("holder", "holder2")]
    try:
        hops.clear()
        for n in range(5):
            await get_channel_layer().group_send(event_group(room.event.pk), {
                "type": "broadcast", "payload": {"type": "stock", "item": "drp_x", "available": n}})
        for comm in watchers:
            assert [(await receive_type(comm, "stock", item="drp_x"))["available"] for _ in range(5)] == [0, 1, 2, 3, 4]
        ours = {comm.future for comm in watchers}
        assert [task for task in hops if task in ours] == []
        # What the client sends still goes through channels' dispatch (its handlers use the database).
        await send(watchers[0], {"type": "ping"})
        assert (await receive_type(watchers[0], "pong")) == {"type": "pong"}
        assert [task for task in hops if task in ours] == [watchers[0].future]
    finally:
        for comm in watchers:
            await comm.disconnect()
