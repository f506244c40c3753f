"""Analytics pages in German: with Accept-Language "de" the show and creator analytics, the experiments page
and the dashboard home speak German (counts as real plurals); without it they stay English."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.tests.factories import EventFactory
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from streaming.models import ChatMessage

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def page(client, url, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def owner_and_event():
    creator = CreatorFactory()
    now = timezone.now()
    event = EventFactory(creator=creator, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=30))
    client = Client()
    client.force_login(team_member(creator, Role.OWNER))
    return client, event


def test_show_analytics_in_german_and_in_english(owner_and_event):
    client, event = owner_and_event
    german = page(client, f"/dashboard/analytics/{event.pk}/", **DE)
    for words in (f"Statistiken: {event.title}", "Trichter", "Zeit vom ersten Aufruf bis zur bezahlten Bestellung",
                  "Bisher folgte keine Bestellung auf einen erfassten Aufruf.", "0 Nachrichten",
                  "Keine Drops bei diesem Event.", "Rabatt- und Partnercodes", "Summen der Show"):
        assert words in german, words
    assert "No order yet followed a tracked view." not in german
    ChatMessage.objects.create(event=event, user=UserFactory(), text="hallo")
    ChatMessage.objects.filter(event=event).update(sent_at=event.starts_at + timedelta(minutes=3))
    assert "1 Nachricht" in page(client, f"/dashboard/analytics/{event.pk}/", **DE)
    english = page(client, f"/dashboard/analytics/{event.pk}/")
    assert "No order yet followed a tracked view." in english and "1 message" in english


def test_creator_analytics_experiments_and_home_in_german(owner_and_event):
    client, _event = owner_and_event
    creator_page = page(client, "/dashboard/analytics/", **DE)
    for words in ("Wer wiederkommt", "Kohorten nach Monat des ersten Besuchs", "Versandkosten pro Bestellung",
                  "Einzelkauf", '<th scope="row">Gruppenkauf</th>', "MRR (monatlich wiederkehrender Umsatz)"):
        assert words in creator_page, words
    experiments = page(client, "/dashboard/experiments/", **DE)
    assert "Experimente" in experiments and "Noch keine Experimente." in experiments
    assert "Neues Experiment" in experiments
    home = page(client, "/dashboard/", **DE)
    assert "Nächste Show" in home and "Nächste Auszahlung" in home and "Wartet auf Sie" in home
