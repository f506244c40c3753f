"""Who may open the event websocket, through the real ASGI stack (microstage.asgi): a `?token=`
client with or without an Origin header; a session cookie only from an allowed Origin."""
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from .live_helpers import make_room, receive_type

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"127.0.0.1:8000")
GOOD_ORIGIN = (b"origin", b"http://127.0.0.1:8000")
EVIL_ORIGIN = (b"origin", b"https://evil.example")


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def room():
    return make_room()


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


async def open_socket(event_id, headers, token=None):
    from microstage.asgi import application

    path = f"/ws/events/{event_id}/" + (f"?token={token}" if token else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=10)
    return comm, connected


async def rights(comm) -> bool:
    """can_post from the resync frame: True only when the socket knows the ticket holder."""
    return (await receive_type(comm, "resync"))["can_post"]


@pytest.mark.parametrize("origin", [None, GOOD_ORIGIN, EVIL_ORIGIN], ids=["no-origin", "own-origin", "other-origin"])
async def test_a_token_client_is_accepted_with_or_without_origin(room, origin):
    headers = [HOST] + ([origin] if origin else [])
    comm, connected = await open_socket(room.event.pk, headers, token=room.tokens["holder"])
    try:
        assert connected
        assert await rights(comm) is True  # authenticated as the token's user
    finally:
        await comm.disconnect()


async def test_a_session_from_an_allowed_origin_is_accepted(room):
    cookie = await sync_to_async(session_cookie)(room.holder)
    comm, connected = await open_socket(room.event.pk, [HOST, GOOD_ORIGIN, cookie])
    try:
        assert connected
        assert await rights(comm) is True
    finally:
        await comm.disconnect()


@pytest.mark.parametrize("origin", [None, EVIL_ORIGIN], ids=["no-origin", "other-origin"])
async def test_a_session_without_an_allowed_origin_is_refused(room, origin):
    cookie = await sync_to_async(session_cookie)(room.holder)
    comm, connected = await open_socket(room.event.pk, [HOST, cookie] + ([origin] if origin else []))
    assert not connected


async def test_a_bad_token_does_not_lift_the_origin_check(room):
    """An unknown token is no authentication: the cookie rules apply to it."""
    cookie = await sync_to_async(session_cookie)(room.holder)
    comm, connected = await open_socket(room.event.pk, [HOST, EVIL_ORIGIN, cookie], token="not-a-token")
    assert not connected


async def test_a_token_wins_over_a_cookie_from_another_site(room):
    """A cross-site page that sends its own token acts as that token's user, never the cookie's."""
    cookie = await sync_to_async(session_cookie)(room.holder)
    comm, connected = await open_socket(room.event.pk, [HOST, EVIL_ORIGIN, cookie], token=room.tokens["stranger"])
    try:
        assert connected
        assert await rights(comm) is False
    finally:
        await comm.disconnect()
