"""What one group frame costs a web process per watcher (issue 11, item 5): relaying it touches no
database, so it must not queue a hop through the one thread sync code runs on (channels' default
dispatch closes stale database connections there before every message: with 500 watchers that is
500 thread hops, one after another, per frame)."""
import asyncio

import channels.consumer
import pytest
from channels.layers import get_channel_layer

from microstage.realtime import event_group

from .live_helpers import connect, make_room, nothing_of_type, receive_type, send

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


# --- the relay: group frames go to the socket as they arrive, not through each consumer's queue -----

@pytest.fixture
def consumers(monkeypatch):
    """Every EventConsumer that connects, in order, with the channel messages each dispatched (those
    that took its queue rather than the relay)."""
    from streaming.consumers import EventConsumer

    made = []
    connect, dispatch = EventConsumer.connect, EventConsumer.dispatch

    async def recording_connect(self):
        self.queued = []
        made.append(self)
        return await connect(self)

    async def counting_dispatch(self, message):
        payload = message.get("payload") or {}
        if payload.get("item") == "drp_x":  # (the room's own frames, presence and the tier's stock, may come too)
            self.queued.append(payload["available"])
        return await dispatch(self, message)

    monkeypatch.setattr(EventConsumer, "connect", recording_connect)
    monkeypatch.setattr(EventConsumer, "dispatch", counting_dispatch)
    return made


async def _stock(n):
    await get_channel_layer().group_send(room_group[0], {
        "type": "broadcast", "payload": {"type": "stock", "item": "drp_x", "available": n}})


room_group = [""]


def after_first(queued: list[int]) -> list[int]:
    """The frames a consumer queued, but frame 0: the first frame after the snapshot queues, and that is
    frame 0 unless another frame of the room (a watcher's presence) came first."""
    return [n for n in queued if n != 0]


async def _relaying(consumers, timeout=5.0):
    """Until every consumer relays again (other frames of the room, presence say, may still queue)."""
    end = asyncio.get_running_loop().time() + timeout
    while not all(c.relaying for c in consumers):
        assert asyncio.get_running_loop().time() < end, [c.queued for c in consumers]
        await asyncio.sleep(0.01)


async def test_after_the_first_frame_group_frames_skip_the_consumers_queue(consumers):
    from asgiref.sync import sync_to_async

    room = await sync_to_async(make_room)()
    room_group[0] = event_group(room.event.pk)
    watchers = [await connect(room.event.pk, room.tokens[name], watch=True) for name in ("holder", "holder2")]
    try:
        await _stock(0)  # the first frame after the snapshot queues (the relay starts once it is out)
        for comm in watchers:
            assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 0
        await _relaying(consumers)
        for n in range(1, 6):
            await _stock(n)
        for comm in watchers:
            assert [(await receive_type(comm, "stock", item="drp_x"))["available"] for _ in range(5)] == [1, 2, 3, 4, 5]
        # Frame 0 takes the queue when it is the first frame after the snapshot; another frame of the room
        # (a watcher's presence) may come first on a slow machine and turn the relay on before it.
        assert [after_first(c.queued) for c in consumers] == [[], []]
    finally:
        for comm in watchers:
            await comm.disconnect()


async def test_a_socket_that_cannot_take_a_frame_holds_up_only_itself_and_keeps_its_order(consumers, monkeypatch):
    from asgiref.sync import sync_to_async

    from streaming.consumers import EventConsumer

    room = await sync_to_async(make_room)()
    room_group[0] = event_group(room.event.pk)
    watchers = [await connect(room.event.pk, room.tokens[name], watch=True) for name in ("holder", "holder2")]
    slow, gate = consumers[0], asyncio.Event()
    send = EventConsumer.send

    async def full_buffer(self, text_data=None, bytes_data=None, close=False):
        if self is slow and text_data and '"available": 1,' in text_data.replace("}", ",}"):
            await gate.wait()  # as uvicorn's send waits while the socket's buffer is full
        return await send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(EventConsumer, "send", full_buffer)
    try:
        await _stock(0)
        for comm in watchers:
            assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 0
        await _relaying(consumers)
        for n in (1, 2, 3):
            await _stock(n)
        # The other watcher gets all three while the slow one's first is stuck.
        assert [(await receive_type(watchers[1], "stock", item="drp_x"))["available"] for _ in range(3)] == [1, 2, 3]
        assert await nothing_of_type(watchers[0], "stock", timeout=0.3, item="drp_x")
        assert slow.sending is not None and not slow.relaying
        gate.set()
        assert [(await receive_type(watchers[0], "stock", item="drp_x"))["available"] for _ in range(3)] == [1, 2, 3]
        assert after_first(slow.queued) == [2, 3]  # behind the stuck one, through its queue, in order
        await _relaying(consumers)  # and once its queue is empty it relays again
        await _stock(4)
        for comm in watchers:
            assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 4
        assert after_first(slow.queued) == [2, 3]
    finally:
        for comm in watchers:
            await comm.disconnect()


async def test_a_resync_the_client_asks_for_is_never_overtaken_by_a_relayed_frame(consumers):
    from asgiref.sync import sync_to_async

    room = await sync_to_async(make_room)()
    room_group[0] = event_group(room.event.pk)
    comm = await connect(room.event.pk, room.tokens["holder"], watch=True)
    consumer = consumers[0]
    try:
        await _stock(0)
        assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 0
        await _relaying(consumers)
        await send(comm, {"type": "resync"})
        await _stock(1)
        frames = []
        while len(frames) < 2:
            frame = await comm.receive_json_from(timeout=5)
            if frame["type"] == "resync" or frame.get("item") == "drp_x":
                frames.append(frame["type"])
        assert frames in (["resync", "stock"], ["stock", "resync"])
        if frames == ["resync", "stock"]:  # it came once the snapshot was being read: it queued behind it
            assert consumer.queued == [0, 1]
        # After the snapshot the relay waits for the next frame to come through the queue, then resumes.
        await _stock(2)
        assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 2
        assert consumer.queued[-1] == 2
        await _relaying(consumers)
        queued = list(consumer.queued)
        await _stock(3)
        assert (await receive_type(comm, "stock", item="drp_x"))["available"] == 3
        assert consumer.queued == queued
    finally:
        await comm.disconnect()


async def test_watchers_who_join_together_spread_their_presence_heartbeats(monkeypatch):
    """A drop announced on stream brings hundreds of watchers in the same second. Were each heartbeat
    due a whole interval after its join, they would all write presence at the same moment, every
    interval, holding up that moment's frames; the first beat comes after a random part of it."""
    import time

    from asgiref.sync import sync_to_async

    from streaming import selectors
    from streaming.services import presence

    monkeypatch.setattr(selectors, "PRESENCE_HEARTBEAT_SECONDS", 1.0)
    beats: dict[str, list[float]] = {}
    join = presence.presence_join

    def recording_join(event_id, channel_name, person):
        beats.setdefault(channel_name, []).append(time.monotonic())
        return join(event_id, channel_name, person)

    monkeypatch.setattr(presence, "presence_join", recording_join)
    room = await sync_to_async(make_room)()
    watchers = [await connect(room.event.pk, room.tokens["holder"], watch=True) for _ in range(12)]
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not (len(beats) == 12 and all(len(b) >= 2 for b in beats.values())):
            await asyncio.sleep(0.05)
        first = [b[1] - b[0] for b in beats.values()]  # from the join to the first heartbeat
        assert len(first) == 12
        assert all(0 <= offset <= 1.0 + 0.5 for offset in first)  # never later than the interval
        assert max(first) - min(first) > 0.3, first  # spread, not all one interval after the join
    finally:
        for comm in watchers:
            await comm.disconnect()
