"""microstage.realtime.publish sends on commit, never for a rolled-back change."""
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from microstage.asgi import application
from microstage.realtime import event_group, publish

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


def _write(payload, *, rollback: bool):
    with transaction.atomic():
        publish(event_group("evt_rt"), payload)
        if rollback:
            transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
async def test_publish_is_delivered_after_commit_only():
    comm = WebsocketCommunicator(application, "/ws/events/evt_rt/", headers=HEADERS)
    connected, _ = await comm.connect()
    assert connected
    try:
        await sync_to_async(_write)({"type": "stock", "item": "a", "available": 1}, rollback=True)
        assert await comm.receive_nothing(timeout=0.5)
        await sync_to_async(_write)({"type": "stock", "item": "a", "available": 2}, rollback=False)
        assert await comm.receive_json_from(timeout=5) == {"type": "stock", "item": "a", "available": 2}
    finally:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused():
    comm = WebsocketCommunicator(application, "/ws/events/evt_rt/",
                                 headers=[(b"origin", b"https://evil.example"), (b"host", b"127.0.0.1:8000")])
    connected, _ = await comm.connect()
    assert not connected


def test_group_names_are_validated():
    with pytest.raises(ValueError):
        publish("bad group name!", {})


def _connections_received(url: str) -> int:
    import redis

    probe = redis.Redis.from_url(url)
    try:
        return probe.info("stats")["total_connections_received"]
    finally:
        probe.close()


@pytest.mark.django_db(transaction=True)
async def test_frames_sent_from_plain_threads_reuse_the_layers_connection():
    """The coalescer's timer and Celery tasks send from plain threads: each frame used to build a new
    event loop, channel layer and Redis connection. Now they share one per process, and still arrive."""
    import threading

    from django.conf import settings

    from microstage import realtime

    url = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    comm = WebsocketCommunicator(application, "/ws/events/evt_rt3/", headers=HEADERS)
    connected, _ = await comm.connect()
    assert connected
    try:
        def send(n):
            thread = threading.Thread(target=realtime.send_now,
                                      args=(event_group("evt_rt3"), {"type": "stock", "item": "c", "available": n}))
            thread.start()
            thread.join()

        await sync_to_async(send)(0)  # the process's first send may connect
        assert await comm.receive_json_from(timeout=5) == {"type": "stock", "item": "c", "available": 0}
        before = await sync_to_async(_connections_received)(url)
        for n in range(1, 6):
            await sync_to_async(send)(n)
        assert [(await comm.receive_json_from(timeout=5))["available"] for _ in range(5)] == [1, 2, 3, 4, 5]
        assert await sync_to_async(_connections_received)(url) - before == 1  # the probe's own
    finally:
        await comm.disconnect()
