"""Hostile websocket frames get an error frame and the socket stays open."""
import pytest

from .live_helpers import connect, make_room, receive_type, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def room():
    return make_room()


@pytest.mark.parametrize("frame", ["[" * 4000 + "]" * 4000, '{"type": "chat", "text": ' + "[" * 1000 + "]" * 1000 + "}",
                                   '{"type": "chat", "text": "\\ud800"}'])
async def test_a_deep_or_broken_frame_is_answered_and_the_socket_stays(room, frame):
    comm = await connect(room.event.pk, room.tokens["holder"])
    try:
        await send(comm, frame)
        error = await receive_type(comm, "error")
        assert error["code"] == "invalid"
        await send(comm, {"type": "ping"})
        assert (await receive_type(comm, "pong"))["type"] == "pong"
    finally:
        await comm.disconnect()
