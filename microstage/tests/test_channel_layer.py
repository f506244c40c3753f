"""A group frame is decoded once per process and shared by every consumer (issue 11, item 5)."""
from django.conf import settings

from microstage.channel_layer import SharedDecodePubSubChannelLayer


def test_the_same_received_bytes_decode_to_one_shared_message():
    layer = SharedDecodePubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"])
    raw = layer.serialize({"type": "broadcast", "payload": {"type": "stock", "available": 3}})
    first, again = layer.deserialize(raw), layer.deserialize(raw)
    assert first is again and first["payload"]["available"] == 3
    copy = bytes(bytearray(raw))  # equal bytes from another delivery: decoded on its own
    assert layer.deserialize(copy) == first and layer.deserialize(copy) is not first


def test_the_default_layer_is_the_shared_decode_one():
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert backend.endswith(("SharedDecodePubSubChannelLayer", "RedisChannelLayer"))


# --- relays: a consumer with nothing queued takes its messages as they arrive -----------------------

import asyncio  # noqa: E402

import pytest  # noqa: E402

from microstage.channel_layer import run_eagerly  # noqa: E402


@pytest.fixture
async def layer():
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    layer = SharedDecodePubSubChannelLayer(hosts=config["hosts"], prefix="ms-ch-test-relay")
    yield layer
    await layer.flush()


async def _until(condition, timeout=5.0):
    end = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < end, "timed out"
        await asyncio.sleep(0.01)


def _frame(n):
    return {"type": "broadcast", "payload": {"type": "stock", "available": n}}


async def test_a_relay_takes_group_messages_as_they_arrive_and_the_queue_stays_empty(layer):
    channel = await layer.new_channel()
    await layer.group_add("relay-test", channel)
    taken = []
    assert layer.relay_to(channel, lambda message: taken.append(message) or True)
    for n in range(3):
        await layer.group_send("relay-test", _frame(n))
    await _until(lambda: len(taken) == 3)
    assert [m["payload"]["available"] for m in taken] == [0, 1, 2]
    assert layer._get_layer().channels[channel].empty()


async def test_a_message_the_relay_declines_and_all_after_it_take_the_queue_in_order(layer):
    channel = await layer.new_channel()
    await layer.group_add("relay-test", channel)
    taken = []

    def relay(message):
        if message["payload"]["available"] == 1:
            return False
        taken.append(message["payload"]["available"])
        return True

    assert layer.relay_to(channel, relay)
    for n in range(4):
        await layer.group_send("relay-test", _frame(n))
    queued = [(await asyncio.wait_for(layer.receive(channel), 5))["payload"]["available"] for _ in range(3)]
    assert taken == [0] and queued == [1, 2, 3]  # 2 and 3 came after 1: they queued behind it


async def test_a_relay_is_refused_while_messages_wait_in_the_queue(layer):
    channel = await layer.new_channel()
    await layer.group_add("relay-test", channel)
    await layer.group_send("relay-test", _frame(7))
    await _until(lambda: not layer._get_layer().channels[channel].empty())
    assert not layer.relay_to(channel, lambda message: True)
    assert (await layer.receive(channel))["payload"]["available"] == 7
    assert layer.relay_to(channel, lambda message: True)
    layer.stop_relay(channel)
    await layer.group_send("relay-test", _frame(8))
    assert (await asyncio.wait_for(layer.receive(channel), 5))["payload"]["available"] == 8


async def test_a_relay_that_raises_leaves_the_message_to_the_queue(layer):
    channel = await layer.new_channel()
    await layer.group_add("relay-test", channel)

    def broken(message):
        raise KeyError("payload")

    assert layer.relay_to(channel, broken)
    await layer.group_send("relay-test", _frame(1))
    assert (await asyncio.wait_for(layer.receive(channel), 5))["payload"]["available"] == 1


async def test_run_eagerly_finishes_a_coroutine_that_never_waits_without_a_task():
    steps = []

    async def quick():
        steps.append("ran")
        return 1

    tasks_before = len(asyncio.all_tasks())
    assert run_eagerly(quick()) is None
    assert steps == ["ran"] and len(asyncio.all_tasks()) == tasks_before


async def test_run_eagerly_raises_what_the_coroutine_raises_at_once():
    async def broken():
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        run_eagerly(broken())


async def test_run_eagerly_carries_a_waiting_coroutine_on_in_a_task():
    gate = asyncio.Event()
    steps = []

    async def waits():
        steps.append("before")
        await gate.wait()
        await asyncio.sleep(0)  # a bare yield too
        steps.append("after")
        return "done"

    task = run_eagerly(waits())
    assert steps == ["before"] and isinstance(task, asyncio.Task) and not task.done()
    gate.set()
    assert await asyncio.wait_for(task, 5) == "done"
    assert steps == ["before", "after"]


@pytest.mark.parametrize("began", [False, True], ids=["before-it-began", "while-it-waits"])
async def test_cancelling_the_carried_on_task_stops_the_coroutine_and_runs_its_clean_up(began):
    cleaned = []

    async def waits():
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    task = run_eagerly(waits())
    if began:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]
