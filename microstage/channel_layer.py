"""The Redis pub/sub channel layer, with two savings per group frame for a process with many watchers.

1. **One decode per process.** channels_redis's pub/sub layer puts the *same* received bytes object into
   the queue of every consumer of the group in this process, and each consumer then decodes it on its
   own: with 500 watchers, one frame is msgpack-decoded 500 times (and then JSON-encoded 500 times).
   Here the last decoded messages are remembered by the identity of those bytes, so all consumers get
   the same dict; streaming.consumers caches the JSON text on it. Consumers must treat messages as
   read-only (they do: they only read them, and add the cached text).

2. **Relays.** Through channels, each consumer takes each message from its own queue in its own task:
   per watcher and frame a queue wake-up, an `asyncio.wait`, a finished task and a new one (about
   two thirds of a process's fan-out time). A consumer that has nothing queued may instead register a
   *relay* for its channel (`relay_to`): a callable that gets each decoded message as it arrives, in
   the receiving task's turn, and says whether it took it. The first message it does not take
   unregisters it, and that message and all after it go to the queue, so a consumer sees its messages
   in the order they arrived whichever way they came. The consumer registers again once its queue is
   empty. `run_eagerly` lets a relay send without a task of its own unless the send has to wait.
"""
import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer

log = logging.getLogger(__name__)
_REMEMBER = 64

Relay = Callable[[dict], bool]


class RelayQueue(asyncio.Queue):
    """A consumer's channel queue, which hands what arrives to the consumer's relay while one is set."""

    def __init__(self, layer: "SharedDecodePubSubChannelLayer"):
        super().__init__()
        self._layer = layer
        self.relay: Relay | None = None

    def put_nowait(self, item):
        relay = self.relay
        if relay is not None:
            try:
                if relay(self._layer.deserialize(item)):
                    return
            except Exception:  # the receiving task serves every channel: never let one break it
                log.exception("channel relay failed; the message takes the queue")
            self.relay = None  # this message and every later one wait in the queue, in order
        super().put_nowait(item)


class RelayPubSubLoopLayer(RedisPubSubLoopLayer):
    """channels_redis's per-event-loop layer, with RelayQueue as every channel's queue."""

    async def _subscribe_to_channel(self, channel):
        self.channels[channel] = RelayQueue(self.channel_layer)
        await self._get_shard(channel).subscribe(channel)

    def relay_to(self, channel: str, relay: Relay) -> bool:
        queue = self.channels.get(channel)
        if not isinstance(queue, RelayQueue) or not queue.empty():
            return False
        queue.relay = relay
        return True

    def stop_relay(self, channel: str) -> None:
        queue = self.channels.get(channel)
        if isinstance(queue, RelayQueue):
            queue.relay = None


class SharedDecodePubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoded: OrderedDict[int, tuple[bytes, dict]] = OrderedDict()

    def _get_layer(self):
        # channels_redis keeps one loop layer per event loop and flushes whichever is in `_layers` when
        # that loop closes. It makes its own kind the first time; that one has not connected yet (its
        # shards connect on first use), so ours takes its place and is the one flushed.
        layer = super()._get_layer()
        if not isinstance(layer, RelayPubSubLoopLayer):
            layer = self._layers[asyncio.get_running_loop()] = RelayPubSubLoopLayer(
                *self._args, **self._kwargs, channel_layer=self)
        return layer

    def relay_to(self, channel: str, relay: Relay) -> bool:
        """Hand `channel`'s messages to `relay` from now on, if nothing waits in its queue (else False).
        `relay(message)` returns True when it took the message; on False it is unregistered and the
        message is queued. Call from the event loop the channel was made on."""
        return self._get_layer().relay_to(channel, relay)

    def stop_relay(self, channel: str) -> None:
        """Messages for `channel` go to its queue again."""
        self._get_layer().stop_relay(channel)

    def deserialize(self, message):
        key = id(message)
        hit = self._decoded.get(key)
        if hit is not None and hit[0] is message:  # the same bytes object, not a recycled id
            return hit[1]
        decoded = super().deserialize(message)
        self._decoded[key] = (message, decoded)  # keeps the bytes alive, so the id stays unique
        while len(self._decoded) > _REMEMBER:
            self._decoded.popitem(last=False)
        return decoded


def run_eagerly(coro: Coroutine) -> asyncio.Task | None:
    """Run `coro` now, in the caller's turn of the event loop, up to its first suspension.

    Returns None when it finished without one (its result dropped; an exception it raised is raised
    here), else a Task that carries it on from where it stopped. A websocket send that has room in
    the socket's buffer never suspends, so a relay sends to hundreds of clients without a task each,
    and one client whose buffer is full waits in its own task instead of holding up the others.
    (Python 3.12's eager tasks do the same; this project still runs on 3.11.)"""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.get_running_loop().create_task(_carry_on(coro, yielded))
    task.add_done_callback(lambda _task: coro.close())  # a task cancelled before it began leaves
    return task                                          # `coro` waiting: close it (its clean-up runs)


async def _carry_on(coro: Coroutine, yielded):
    return await _Resume(coro, yielded)


class _Resume:
    """Awaiting this continues a coroutine that has already yielded `yielded` (the future it waits
    on): the future is handed to the task awaiting us, which wakes us, and we wake the coroutine."""

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Coroutine, yielded):
        self.coro, self.yielded = coro, yielded

    def __await__(self):
        coro, value = self.coro, self.yielded
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # thrown into the task (a cancellation): pass it on
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
