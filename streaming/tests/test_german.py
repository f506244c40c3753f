"""The live socket speaks the page's language: error frames carry German text for a German account,
browser (language cookie or Accept-Language) or event, and keep their English `code`."""
import pytest
from channels.testing import WebsocketCommunicator
from django.utils import translation
from django.utils.translation import trans_real

from microstage import catalogs

from .live_helpers import HEADERS, make_room, receive_type, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, scope="module")
def _german_catalogue():
    """The .mo files are build output: compile this checkout's before asking for German."""
    if catalogs.compile_all():
        trans_real._translations.clear()


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    yield
    translation.deactivate()


@pytest.fixture
def room():
    return make_room()


async def connect(event_id: str, token: str, extra_headers=()):
    from microstage.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/events/{event_id}/?token={token}",
                                 headers=HEADERS + list(extra_headers))
    connected, _subprotocol = await comm.connect(timeout=10)
    assert connected
    await receive_type(comm, "resync")
    return comm


async def test_error_frames_are_german_for_a_german_browser(room):
    comm = await connect(room.event.pk, room.tokens["holder"], [(b"accept-language", b"de-DE,de;q=0.9,en;q=0.4")])
    try:
        await send(comm, "{nope")
        error = await receive_type(comm, "error")
        assert error == {"type": "error", "code": "invalid", "detail": "Das war kein gültiges JSON."}
        await send(comm, {"type": "chat", "text": "x" * 501})
        error = await receive_type(comm, "error")
        assert error["code"] == "too_long"
        assert error["detail"] == "Nachrichten haben höchstens 500 Zeichen."
    finally:
        await comm.disconnect()


async def test_the_language_cookie_wins_and_codes_stay_english(room):
    comm = await connect(room.event.pk, room.tokens["stranger"],
                         [(b"accept-language", b"en"), (b"cookie", b"django_language=de")])
    try:
        await send(comm, {"type": "chat", "text": "Hallo"})
        error = await receive_type(comm, "error")
        assert error["code"] == "forbidden"
        assert error["detail"] == "Nur Ticketinhaber und das Team können chatten."
    finally:
        await comm.disconnect()


async def test_without_a_language_frames_stay_english(room):
    comm = await connect(room.event.pk, room.tokens["holder"])
    try:
        await send(comm, "{nope")
        error = await receive_type(comm, "error")
        assert error == {"type": "error", "code": "invalid", "detail": "That was not valid JSON."}
    finally:
        await comm.disconnect()


async def test_the_account_language_then_the_events_language_decide_without_a_browser_choice(room):
    from channels.db import database_sync_to_async

    await database_sync_to_async(type(room.holder).objects.filter(pk=room.holder.pk).update)(language="de")
    comm = await connect(room.event.pk, room.tokens["holder"])
    try:
        await send(comm, "{nope")
        assert (await receive_type(comm, "error"))["detail"] == "Das war kein gültiges JSON."
    finally:
        await comm.disconnect()
    await database_sync_to_async(type(room.event).objects.filter(pk=room.event.pk).update)(language="de")
    comm = await connect(room.event.pk, room.tokens["holder2"])
    try:
        await send(comm, "{nope")
        assert (await receive_type(comm, "error"))["detail"] == "Das war kein gültiges JSON."
    finally:
        await comm.disconnect()
