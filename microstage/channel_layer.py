"""The Redis pub/sub channel layer, decoding a group message once per process instead of once per client.

channels_redis's pub/sub layer puts the *same* received bytes object into the queue of every
consumer of the group in this process, and each consumer then decodes it on its own: with 500
watchers, one frame is msgpack-decoded 500 times (and then JSON-encoded 500 times). Here the last
decoded messages are remembered by the identity of those bytes, so all consumers get the same
dict; streaming.consumers caches the JSON text on it. Consumers must treat messages as read-only
(they do: they only read them, and add the cached text).
"""
from collections import OrderedDict

from channels_redis.pubsub import RedisPubSubChannelLayer

_REMEMBER = 64


class SharedDecodePubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoded: OrderedDict[int, tuple[bytes, dict]] = OrderedDict()

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
