"""The attendee pages in German (Accept-Language: de): German texts, dates in German order, and none of
the key English phrases left over. English stays the default (the other page tests read English)."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from events.tests.test_attendee_pages import buy, make_event, make_tier, text
from microstage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """A German request leaves German active in this thread; later tests start in English again."""
    yield
    translation.deactivate()


def test_discover_page_in_german(client):
    make_event(title="Quiet Storm")
    html = text(client.get("/", **DE))
    assert '<html lang="de">' in html
    assert "Kommende Shows" in html and "Shows finden" in html and "Ort und Datum" in html
    assert "Upcoming shows" not in html and "Place and dates" not in html and "Tickets and details" not in html


def test_discover_search_count_in_german(client):
    make_event(title="Cello at midnight")
    make_event(title="Cello at dawn")
    html = text(client.get("/", {"q": "cello"}, **DE))
    assert "2 Shows gefunden." in html and "shows found" not in html


def test_landing_page_in_german(client):
    start = datetime(timezone.now().year + 1, 3, 14, 18, 0, tzinfo=UTC)
    event = make_event(title="Quiet Storm", starts_at=start, ends_at=start + timedelta(hours=2))
    make_tier(event, quantity=5)
    html = text(client.get(f"/e/{event.slug}/", **DE))
    assert "Über diese Show" in html and "Tickets reservieren" in html and "In den Warenkorb" in html
    assert "noch 5 verfügbar" in html and "Präsentiert von" in html
    assert "14. März" in html  # German date order and month name
    for english in ("About this show", "Reserve tickets", "Add to cart", "5 left", "Hosted by", "March"):
        assert english not in html


def test_landing_page_stays_english_by_default(client):
    event = make_event()
    make_tier(event, quantity=5)
    html = text(client.get(f"/e/{event.slug}/"))
    assert '<html lang="en">' in html and "About this show" in html and "5 left" in html
    assert "Über diese Show" not in html


def test_sold_out_tier_in_german(client):
    event = make_event()
    make_tier(event, quantity=0)
    html = text(client.get(f"/e/{event.slug}/", **DE))
    assert "Ausverkauft" in html and "Sold out" not in html


def test_my_tickets_in_german(client, django_capture_on_commit_callbacks):
    event = make_event(title="Quiet Storm")
    tier = make_tier(event)
    client.force_login(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        buy(client, event, tier, qty="1")
    html = text(client.get("/tickets/", **DE))
    assert "Meine Tickets" in html and "Zum Kalender hinzufügen" in html and "Ticket an jemanden weitergeben" in html
    for english in ("My tickets", "Add to calendar", "Give this ticket to someone", "Show the QR code"):
        assert english not in html


def test_empty_pages_in_german(client):
    client.force_login(UserFactory())
    tickets = text(client.get("/tickets/", **DE))
    assert "Keine anstehenden Tickets" in tickets and "No upcoming tickets" not in tickets
    waiting = text(client.get("/waitlist/", **DE))
    assert "Sie stehen auf keiner Warteliste" in waiting and "You're not waiting" not in waiting
