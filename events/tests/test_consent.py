"""Consent-forward capture (API.md "Consent and pre-event onboarding"): the creator's form, the holder's
answers, what the team and the door see, transfers, the CSV, and that nobody else sees answers."""
import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from events.models import ConsentAnswers, Ticket
from allauth.account.models import EmailAddress

from events.services.tickets import qr_payload
from events.transfers import transfer_ticket
from events.transfers import claim_ticket, claim_token
from microstage.models import Role
from microstage.notifications.models import Notification
from microstage.tests.factories import UserFactory, team_member

from .test_api_tickets import EventFactory, TierFactory, buy

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"key": "recording", "text": "May we record you?", "kind": "yes_no", "required": True},
    {"key": "photos", "text": "Photos?", "kind": "yes_no"},
    {"key": "share_email", "text": "Share your email with the creator?", "kind": "yes_no", "required": False},
]


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def tier():
    return TierFactory(event=EventFactory())


@pytest.fixture
def event(tier):
    return tier.event


@pytest.fixture
def owner(event):
    return team_member(event.creator, Role.OWNER)


@pytest.fixture
def owner_api(owner, make_api):
    return make_api(owner)


@pytest.fixture
def holder():
    return UserFactory()


@pytest.fixture
def with_form(event, owner_api):
    r = owner_api.put(f"/api/v1/events/{event.pk}/consent-form", {"questions": QUESTIONS}, format="json")
    assert r.status_code == 200, r.content
    return r.json()


@pytest.fixture
def ticket(with_form, tier, holder):
    return buy(tier, holder)[0]


class TestForm:
    def test_team_sets_the_form(self, event, owner_api, with_form):
        assert [q["key"] for q in with_form["questions"]] == ["recording", "photos", "share_email"]
        assert with_form["questions"][1]["required"] is False
        assert owner_api.get(f"/api/v1/events/{event.pk}/consent-form").json()["questions"] == with_form["questions"]

    @pytest.mark.parametrize("questions, field", [
        ("nope", "questions"),
        ([{"key": "Bad Key", "text": "x", "kind": "yes_no"}], "questions[0].key"),
        ([{"key": "a", "text": "", "kind": "yes_no"}], "questions[0].text"),
        ([{"key": "a", "text": "x", "kind": "free_text"}], "questions[0].kind"),
        ([{"key": "a", "text": "x", "kind": "yes_no", "required": "yes"}], "questions[0].required"),
        ([{"key": "a", "text": "x", "kind": "yes_no"}, {"key": "a", "text": "y", "kind": "yes_no"}],
         "questions[1].key"),
        ([{"key": "a", "text": "x" * 281, "kind": "yes_no"}], "questions[0].text"),
        ([{"key": f"q{i}", "text": "x", "kind": "yes_no"} for i in range(11)], "questions"),
    ])
    def test_bad_questions_are_400_and_change_nothing(self, event, owner_api, with_form, questions, field):
        r = owner_api.put(f"/api/v1/events/{event.pk}/consent-form", {"questions": questions}, format="json")
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and field in r.json()["fields"]
        assert owner_api.get(f"/api/v1/events/{event.pk}/consent-form").json()["questions"] == with_form["questions"]

    def test_missing_questions_is_400(self, event, owner_api):
        r = owner_api.put(f"/api/v1/events/{event.pk}/consent-form", {}, format="json")
        assert r.status_code == 400 and "questions" in r.json()["fields"]

    def test_access(self, event, make_api, api):
        body = {"questions": QUESTIONS}
        assert api.put(f"/api/v1/events/{event.pk}/consent-form", body, format="json").status_code == 401
        stranger = make_api(UserFactory())
        assert stranger.put(f"/api/v1/events/{event.pk}/consent-form", body, format="json").status_code == 404
        door = make_api(team_member(event.creator, Role.DOOR))
        assert door.put(f"/api/v1/events/{event.pk}/consent-form", body, format="json").status_code == 403

    def test_holders_who_bought_before_the_form_get_the_link(self, event, tier, owner_api,
                                                             django_capture_on_commit_callbacks):
        earlier = buy(tier, UserFactory())[0]
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            owner_api.put(f"/api/v1/events/{event.pk}/consent-form", {"questions": QUESTIONS}, format="json")
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [earlier.holder_email.lower()]
        assert f"/tickets/{earlier.pk}/onboarding/" in mail.outbox[0].body


class TestOnboarding:
    def test_paid_ticket_holder_gets_the_link_by_email(self, with_form, tier, holder,
                                                       django_capture_on_commit_callbacks):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            tickets = buy(tier, holder, quantity=2)
        onboarding = [m for m in mail.outbox if "/onboarding/" in m.body]
        assert len(onboarding) == 1 and onboarding[0].to == [holder.email.lower()]
        for t in tickets:
            assert f"/tickets/{t.pk}/onboarding/" in onboarding[0].body
        assert Notification.objects.get(kind="onboarding").status == "sent"

    def test_holder_answers(self, ticket, holder, make_api):
        api = make_api(holder)
        r = api.get(f"/api/v1/tickets/{ticket.pk}/onboarding")
        assert r.status_code == 200
        assert r.json()["completed"] is False and r.json()["answers"] == {} and len(r.json()["questions"]) == 3
        r = api.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": False, "photos": True}},
                     format="json")
        assert r.status_code == 200 and r.json()["completed"] is True
        r = api.get(f"/api/v1/tickets/{ticket.pk}/onboarding").json()
        assert r["completed"] is True and r["answers"] == {"recording": False, "photos": True}
        # Changed before doors open.
        r = api.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": True}}, format="json")
        assert r.status_code == 200
        assert ConsentAnswers.objects.get(ticket=ticket).answers == {"recording": True}

    @pytest.mark.parametrize("answers, field", [
        ({"photos": True}, "answers.recording"),                       # required unanswered
        ({"recording": "yes"}, "answers.recording"),
        ({"recording": True, "unknown": True}, "answers.unknown"),
        ("yes", "answers"),
    ])
    def test_bad_answers_are_400_and_change_nothing(self, ticket, holder, make_api, answers, field):
        api = make_api(holder)
        api.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": True}}, format="json")
        r = api.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": answers}, format="json")
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and field in r.json()["fields"]
        assert ConsentAnswers.objects.get(ticket=ticket).answers == {"recording": True}

    def test_closed_when_doors_open(self, ticket, holder, make_api, event):
        event.starts_at = timezone.now() - timedelta(minutes=1)
        event.save()
        api = make_api(holder)
        r = api.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": True}}, format="json")
        assert r.status_code == 409 and r.json()["code"] == "closed"
        assert api.get(f"/api/v1/tickets/{ticket.pk}/onboarding").json()["editable"] is False
        assert not ConsentAnswers.objects.exists()

    def test_nobody_else_sees_or_answers(self, ticket, event, make_api, owner_api, api):
        for client in (make_api(UserFactory()), owner_api, make_api(team_member(event.creator, Role.DOOR))):
            assert client.get(f"/api/v1/tickets/{ticket.pk}/onboarding").status_code == 404
            assert client.post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": True}},
                               format="json").status_code == 404
        assert api.get(f"/api/v1/tickets/{ticket.pk}/onboarding").status_code == 401
        stranger = make_api(UserFactory())
        assert stranger.get(f"/api/v1/events/{event.pk}/consents").status_code == 404
        assert not ConsentAnswers.objects.exists()

    def test_transfer_asks_the_new_holder_again(self, ticket, holder, make_api, django_capture_on_commit_callbacks):
        make_api(holder).post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": {"recording": True}},
                              format="json")
        newcomer = UserFactory()
        EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True, primary=True)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            transfer_ticket(ticket_id=ticket.pk, actor=holder, email=newcomer.email)
        assert not ConsentAnswers.objects.filter(ticket=ticket).exists()
        ticket.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):  # the recipient claims it from the emailed link
            claim_ticket(token=claim_token(ticket), user=newcomer)
        assert any(f"/tickets/{ticket.pk}/onboarding/" in m.body and m.to == [newcomer.email.lower()]
                   for m in mail.outbox)
        r = make_api(newcomer).get(f"/api/v1/tickets/{ticket.pk}/onboarding")
        assert r.status_code == 200 and r.json()["completed"] is False and r.json()["answers"] == {}
        assert make_api(holder).get(f"/api/v1/tickets/{ticket.pk}/onboarding").status_code == 404


class TestTeamAndDoor:
    def answer(self, make_api, ticket, answers):
        r = make_api(ticket.holder).post(f"/api/v1/tickets/{ticket.pk}/onboarding", {"answers": answers},
                                         format="json")
        assert r.status_code == 200, r.content

    def test_counts_and_attendees(self, event, tier, with_form, make_api, owner_api):
        a, b, _c = (buy(tier, UserFactory())[0] for _ in range(3))
        self.answer(make_api, a, {"recording": False, "photos": True})
        self.answer(make_api, b, {"recording": True})
        r = owner_api.get(f"/api/v1/events/{event.pk}/consents")
        assert r.status_code == 200
        body = r.json()
        assert body["counts"]["recording"] == {"yes": 1, "no": 1, "unanswered": 1}
        assert body["counts"]["photos"] == {"yes": 1, "no": 0, "unanswered": 2}
        rows = {row["ticket"]: row for row in body["attendees"]}
        assert rows[a.pk]["answers"] == {"recording": False, "photos": True}
        assert rows[a.pk]["holder_email"] == a.holder_email

    def test_door_answer_says_no_recording(self, event, ticket, make_api):
        self.answer(make_api, ticket, {"recording": False, "photos": True})
        door = make_api(team_member(event.creator, Role.DOOR))
        r = door.post(f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(ticket)}, format="json")
        assert r.status_code == 201, r.content
        assert r.json()["no_recording"] is True and r.json()["ticket"]["no_recording"] is True
        assert r.json()["answers"] == {"recording": False, "photos": True}
        r = door.post(f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(ticket)}, format="json")
        assert r.status_code == 409 and r.json()["no_recording"] is True

    def test_yes_to_recording_is_no_flag(self, event, ticket, make_api):
        self.answer(make_api, ticket, {"recording": True})
        door = make_api(team_member(event.creator, Role.DOOR))
        r = door.post(f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(ticket)}, format="json")
        assert r.json()["no_recording"] is False

    def test_offline_bundle_carries_the_answers(self, event, ticket, make_api):
        self.answer(make_api, ticket, {"recording": False})
        door = make_api(team_member(event.creator, Role.DOOR))
        bundle = door.get(f"/api/v1/events/{event.pk}/checkin-bundle").json()
        row = next(t for t in bundle["tickets"] if t["id"] == ticket.pk)
        assert row["answers"] == {"recording": False} and row["no_recording"] is True
        assert [q["key"] for q in bundle["questions"]] == ["recording", "photos", "share_email"]

    def test_door_page_scan_includes_answers(self, event, ticket, make_api, client):
        self.answer(make_api, ticket, {"recording": False})
        client.force_login(team_member(event.creator, Role.DOOR))
        r = client.post(f"/door/{event.pk}/scan", {"payload": qr_payload(ticket)}, content_type="application/json")
        assert r.status_code == 201
        assert r.json()["no_recording"] is True and r.json()["ticket"]["answers"] == {"recording": False}

    def test_attendee_csv_has_the_answers(self, event, ticket, make_api, client, owner):
        self.answer(make_api, ticket, {"recording": False, "photos": True})
        client.force_login(owner)
        r = client.get(f"/dashboard/events/{event.pk}/attendees.csv")
        rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
        header = rows[0]
        assert "consent:recording" in header and "consent:photos" in header
        row = next(r for r in rows[1:] if r[0] == ticket.pk)
        assert row[header.index("consent:recording")] == "no" and row[header.index("consent:photos")] == "yes"
        assert row[header.index("consent:share_email")] == ""
        assert row[header.index("no_recording")] == "yes"

    def test_void_tickets_are_not_counted(self, event, ticket, owner_api):
        Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.VOID)
        body = owner_api.get(f"/api/v1/events/{event.pk}/consents").json()
        assert body["counts"]["recording"] == {"yes": 0, "no": 0, "unanswered": 0} and body["attendees"] == []


def test_demo_event_has_a_consent_form_and_a_no_recording_answer():
    import io

    from django.core.management import call_command

    from events import consent
    from events.demo import DEMO_EVENT_SLUG
    from events.models import Event

    call_command("demo", stdout=io.StringIO())
    call_command("demo", stdout=io.StringIO())  # twice: nothing doubles
    event = Event.objects.get(slug=DEMO_EVENT_SLUG)
    assert [q["key"] for q in consent.questions_of(event)] == ["recording", "photos", "share_email"]
    summary = consent.summary(event)
    assert summary["counts"]["recording"]["no"] == 1 and ConsentAnswers.objects.count() == 1
    assert sum(a["no_recording"] for a in summary["attendees"]) == 1
