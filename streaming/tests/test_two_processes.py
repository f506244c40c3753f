"""Chat, counters and presence reach clients of *different* web processes (two uvicorn servers
sharing PostgreSQL and Redis through the channel layer)."""
import pytest

from streaming.models import ChatMessage, LiveStream

from .live_helpers import UvicornServer, WsClient, buy, make_room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.PRESENCE_THROTTLE_SECONDS = 0.3


def test_chat_counters_and_presence_cross_processes():
    room = make_room()
    LiveStream.objects.create(event=room.event)
    with UvicornServer() as one, UvicornServer() as two:
        a = WsClient(one, room.event.pk, room.tokens["holder"], watch=True)
        b = WsClient(two, room.event.pk, room.tokens["holder2"], watch=True)
        mod = WsClient(two, room.event.pk, room.tokens["moderator"])
        try:
            # Presence counts the watchers of both processes, and both hear it.
            a.next("presence", viewers=2)
            b.next("presence", viewers=2)

            # Chat sent on one process arrives on the other, both ways.
            a.send({"type": "chat", "text": "hello from one"})
            got = b.next("chat", text="hello from one")
            assert got["user"] == "Hanna Holder"
            b.send({"type": "chat", "text": "hello from two"})
            a.next("chat", text="hello from two")

            # Moderation on process two reaches process one.
            mod.send({"type": "delete", "id": got["id"]})
            assert a.next("chat_deleted") == {"type": "chat_deleted", "id": got["id"]}

            # A purchase in a third process (this one) updates the counter on both.
            buy(room.tier, room.stranger)
            left = room.tier.quantity - 3
            assert a.next("stock", item=room.tier.pk)["available"] == left
            assert b.next("stock", item=room.tier.pk)["available"] == left

            # The rate limit holds across processes: 5 per 10 s per person, wherever they connect.
            a2 = WsClient(two, room.event.pk, room.tokens["holder"])
            for i in range(4):  # "hello from one" was the first
                a.send({"type": "chat", "text": f"n{i}"})
                a.next("chat", text=f"n{i}")
            a2.send({"type": "chat", "text": "one too many"})
            assert a2.next("error")["code"] == "rate_limited"
            a2.close()

            # Leaving is seen on the other process.
            b.close()
            a.next("presence", viewers=1)
            assert LiveStream.objects.get(event=room.event).peak_viewers == 2
            assert ChatMessage.objects.filter(event=room.event).count() == 6
        finally:
            for client in (a, b, mod):
                try:
                    client.close()
                except Exception:
                    pass
