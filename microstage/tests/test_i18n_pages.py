"""The creator dashboard, team, notification settings and the notification texts in German
(Accept-Language: de, or the German language active when a message is rendered). English stays the default."""
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from microstage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """A German request leaves German active in this thread; later tests start in English again."""
    yield
    translation.deactivate()


def test_welcome_dashboard_in_german(client):
    client.force_login(UserFactory(display_name="Ada"))
    html = client.get("/dashboard/", **DE).content.decode()
    assert "Willkommen, Ada" in html and "Ihre Creator-Seite erstellen" in html and "Abmelden" in html
    for english in ("Welcome", "Create your creator page", "Log out", "Only here to buy tickets?"):
        assert english not in html


def test_notification_settings_in_german(client):
    client.force_login(UserFactory())
    html = client.get("/account/notifications/", **DE).content.decode()
    assert "Benachrichtigungen" in html and "E-Mail und SMS" in html and "SMS aus" in html
    for english in ("Email and SMS", "SMS off", "How we reach you"):
        assert english not in html


def test_notification_texts_follow_the_active_language():
    event = SimpleNamespace(title="Quiet Storm", venue_name="The Lantern Room")  # all the texts read
    context = {"event": event, "url": "https://example.com/t/", "name": "Poster", "available": 3}
    with translation.override("de"):
        doors = render_to_string("notifications/doors_open.txt", context)
        drop = render_to_string("notifications/drop_open_subject.txt", context)
        sms = render_to_string("notifications/stream_live_sms.txt", context)
    assert "Der Einlass für Quiet Storm in The Lantern Room hat begonnen." in doors
    assert "Halten Sie Ihr Ticket am Einlass bereit: https://example.com/t/" in doors
    assert drop.strip() == "Der Drop ist offen: Poster"
    assert sms.strip() == "Microstage: Quiet Storm ist live. Ansehen: https://example.com/t/"
    with translation.override("en"):
        english = render_to_string("notifications/doors_open.txt", context)
    assert "Doors are open for Quiet Storm at The Lantern Room." in english


def test_not_found_page_and_site_frame_in_german(client):
    response = client.get("/no-such-page/", **DE)
    html = response.content.decode()
    assert response.status_code == 404 and '<html lang="de">' in html
    assert "Diese Seite haben wir nicht gefunden" in html and "Zum Inhalt springen" in html and "Anmelden" in html
    for english in ("couldn", "Skip to content", "Discover events", "Log in"):
        assert english not in html
