"""The watch page, the control room, the go-live page and the replay page in German (Accept-Language: de):
German texts and none of the key English phrases left over. English stays the default."""
import pytest
from django.urls import reverse
from django.utils import translation

from .live_helpers import make_room

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """A German request leaves German active in this thread; later tests start in English again."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def room():
    return make_room()


def page(client, url, user=None, **headers):
    if user is not None:
        client.force_login(user)
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_watch_page_without_a_ticket_in_german(client, room):
    html = page(client, f"/e/{room.event.slug}/watch/", **DE)
    assert '<html lang="de">' in html
    assert "Dieser Stream ist für Ticketinhaber." in html and "Ticket holen" in html and "Anmelden" in html
    for english in ("This stream is for ticket holders.", "Get a ticket", "Log in", "The chat is for ticket holders."):
        assert english not in html


def test_watch_page_for_a_ticket_holder_in_german(client, room):
    html = page(client, f"/e/{room.event.slug}/watch/", room.holder, **DE)
    assert "noch 18 verfügbar" in html and "Tippen für Ton" in html and "Senden" in html
    assert 'placeholder="Sagen Sie etwas Nettes"' in html
    for english in ("18 left", "Tap to unmute", "Say something nice", "No messages yet."):
        assert english not in html


def test_watch_page_stays_english_by_default(client, room):
    html = page(client, f"/e/{room.event.slug}/watch/", room.holder)
    assert "18 left" in html and "Tap to unmute" in html and "noch 18 verfügbar" not in html


def test_control_room_in_german(client, room):
    html = page(client, f"/dashboard/live/{room.event.pk}/control/", room.owner, **DE)
    assert "Kontrollraum" in html and "Vorabprüfung" in html and "Chat-Moderation" in html and "Langsamer Modus" in html
    for english in ("Control room", "Preflight", "Chat moderation", "Slow mode", "What viewers see"):
        assert english not in html


def test_go_live_and_replay_pages_in_german(client, room):
    client.force_login(room.owner)
    ingest = page(client, reverse("dash-ingest", args=[room.event.pk]), **DE)
    assert "Privater Test-Ingest" in ingest and "Schlüssel erneuern" in ingest
    assert "Private test ingest" not in ingest and "Rotate a key" not in ingest and "Keep it secret" not in ingest
    replay = page(client, reverse("dash-replay", args=[room.event.pk]), **DE)
    assert "Wiedergabe und Clips" in replay and "Noch keine Aufzeichnung" in replay
    assert "Replay and clips" not in replay and "No replay yet" not in replay
