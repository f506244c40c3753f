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
