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
