"""German for people, English for machines: API error details, validation messages, readiness reasons
and form errors follow the request's language; the `code` values and field names never change.
(`creator`, `owner_api` and `draft` come from conftest.py.)"""
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real

from events.forms import CancelForm
from events.models import Event
from microstage import catalogs
from microstage.models import Role
from microstage.tests.factories import team_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, scope="module")
def _german_catalogue():
    """The .mo files are build output: compile this checkout's before asking for German."""
    if catalogs.compile_all():
        trans_real._translations.clear()


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """A request activates its language for the thread: leave English behind for the next test."""
    yield
    translation.deactivate()


def send(client, method, url, body=None, language=None):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data=data, content_type="application/json", **extra)


def event_body(creator, **kw):
    start = timezone.now() + timedelta(days=10)
    body = {"creator": creator.pk, "title": "Nachtschicht", "description": "Zwei Sets.",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
            "timezone": "Europe/Berlin", "online": True}
    body.update(kw)
    return body


def test_a_not_found_detail_is_german_and_its_code_english(owner_api):
    r = send(owner_api, "patch", "/api/v1/events/evt_nope", {"title": "X"}, language="de")
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "detail": "Diese Veranstaltung gibt es nicht."}
    assert r["Content-Language"] == "de"


def test_without_a_language_the_api_stays_english(owner_api):
    r = send(owner_api, "patch", "/api/v1/events/evt_nope", {"title": "X"})
    assert r.json() == {"code": "not_found", "detail": "No such event."}


def test_validation_messages_are_german_and_field_names_stay(owner_api, creator):
    start = timezone.now() + timedelta(days=2)
    body = event_body(creator, starts_at=start.isoformat(), ends_at=(start - timedelta(hours=1)).isoformat())
    r = send(owner_api, "post", "/api/v1/events", body, language="de")
    assert r.status_code == 400
    data = r.json()
    assert data["code"] == "invalid"
    assert data["detail"] == "Die Veranstaltung muss nach ihrem Beginn enden."
    assert data["fields"] == {"ends_at": ["Muss nach dem Beginn liegen."]}
    assert Event.objects.count() == 0


def test_readiness_reasons_are_german_and_the_code_is_not(owner_api, draft):
    r = send(owner_api, "post", f"/api/v1/events/{draft.pk}/publish", language="de-DE,de;q=0.9,en;q=0.5")
    assert r.status_code == 409
    data = r.json()
    assert data["code"] == "not_ready"
    assert data["detail"] == "Die Veranstaltung ist noch nicht bereit zur Veröffentlichung."
    assert "Legen Sie mindestens eine Ticketkategorie an." in data["reasons"]


def test_a_conflict_detail_is_german(owner_api, draft):
    Event.objects.filter(pk=draft.pk).update(status=Event.Status.CANCELLED)
    r = send(owner_api, "patch", f"/api/v1/events/{draft.pk}", {"title": "Neu"}, language="de")
    assert r.status_code == 409
    assert r.json() == {"code": "cancelled", "detail": "Eine abgesagte Veranstaltung kann nicht geändert werden."}


def test_form_labels_and_errors_are_german(draft):
    with translation.override("de"):
        form = CancelForm({"confirm": "Tagschicht", "reason": ""}, event=draft)
        assert not form.is_valid()
        assert form.errors["confirm"] == ["Das ist nicht der Titel der Veranstaltung; es wurde nichts abgesagt."]
        assert str(form.fields["reason"].label) == "Nachricht an die Teilnehmenden"
        assert str(Event.Mode.IN_PERSON.label) == "Vor Ort"
    with translation.override("en"):
        form = CancelForm({"confirm": "Tagschicht", "reason": ""}, event=draft)
        assert not form.is_valid()
        assert form.errors["confirm"] == ["That is not the event's title; nothing was cancelled."]


def test_a_dashboard_message_is_german(client, creator, draft):
    client.force_login(team_member(creator, Role.OWNER))
    r = client.post(reverse("dash-event-publish", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="de", follow=True)
    assert r.status_code == 409
    assert "Legen Sie mindestens eine Ticketkategorie an." in r.content.decode()
