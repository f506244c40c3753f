"""Pages for consent and "notify me": the holder's onboarding page and ticket card, the dashboard form,
the control room counts, notify-me buttons with the item already chosen, and the admin."""
from datetime import timedelta

import pytest
from django.utils import timezone

from events import consent
from events.models import ConsentAnswers, ConsentForm, NotifyRequest
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

from .test_api_tickets import EventFactory, TierFactory, buy
from .test_consent import QUESTIONS
from .test_notify_me import drop_in_an_hour
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def ticket():
    tier = TierFactory(event=EventFactory())
    consent.set_consent_form(tier.event, QUESTIONS, actor=SYSTEM)
    return buy(tier, UserFactory())[0]


class TestOnboardingPage:
    def test_ticket_card_links_to_the_questions(self, client, ticket):
        client.force_login(ticket.holder)
        r = client.get("/tickets/")
        assert f"/tickets/{ticket.pk}/onboarding/" in r.content.decode() and b"Answer 3 quick questions" in r.content

    def test_answer_and_change(self, client, ticket):
        client.force_login(ticket.holder)
        r = client.get(f"/tickets/{ticket.pk}/onboarding/")
        assert r.status_code == 200 and b"May we record you?" in r.content
        r = client.post(f"/tickets/{ticket.pk}/onboarding/", {"recording": "no", "photos": "yes"})
        assert r.status_code == 302
        assert ConsentAnswers.objects.get(ticket=ticket).answers == {"recording": False, "photos": True}
        assert b"Questions answered" in client.get("/tickets/").content

    def test_required_unanswered_is_a_clear_error_and_changes_nothing(self, client, ticket):
        client.force_login(ticket.holder)
        r = client.post(f"/tickets/{ticket.pk}/onboarding/", {"photos": "yes"})
        assert r.status_code == 400 and b"This question needs an answer." in r.content
        r = client.post(f"/tickets/{ticket.pk}/onboarding/", {"recording": "maybe"})
        assert r.status_code == 400
        assert not ConsentAnswers.objects.exists()

    def test_others_get_404(self, client, ticket):
        client.force_login(UserFactory())
        assert client.get(f"/tickets/{ticket.pk}/onboarding/").status_code == 404
        client.force_login(team_member(ticket.event.creator, Role.OWNER))
        assert client.get(f"/tickets/{ticket.pk}/onboarding/").status_code == 404

    def test_closed_once_doors_open(self, client, ticket):
        ticket.event.starts_at = timezone.now() - timedelta(minutes=5)
        ticket.event.save()
        client.force_login(ticket.holder)
        r = client.get(f"/tickets/{ticket.pk}/onboarding/")
        assert b"Doors are open" in r.content and b"<form method=\"post\" class=\"card stack\"" not in r.content


class TestDashboard:
    def test_edit_the_form(self, client):
        event = EventFactory()
        client.force_login(team_member(event.creator, Role.MANAGER))
        r = client.get(f"/dashboard/events/{event.pk}/consent/")
        assert r.status_code == 200 and b"Suggested questions" in r.content
        data = {"q-TOTAL_FORMS": "3", "q-INITIAL_FORMS": "0",
                "q-0-text": "May we film you?", "q-0-key": "recording", "q-0-required": "on",
                "q-1-text": "Photos okay?", "q-1-key": "",
                "q-2-text": "", "q-2-key": ""}
        r = client.post(f"/dashboard/events/{event.pk}/consent/", data)
        assert r.status_code == 302, r.content.decode()[:2000]
        questions = ConsentForm.objects.get(event=event).questions
        assert [(q["key"], q["required"]) for q in questions] == [("recording", True), ("photos_okay", False)]

    def test_bad_rows_are_shown_and_nothing_changes(self, client):
        event = EventFactory()
        consent.set_consent_form(event, QUESTIONS, actor=SYSTEM)
        client.force_login(team_member(event.creator, Role.OWNER))
        data = {"q-TOTAL_FORMS": "2", "q-INITIAL_FORMS": "0",
                "q-0-text": "A", "q-0-key": "Bad Key!",
                "q-1-text": "", "q-1-key": "orphan"}
        r = client.post(f"/dashboard/events/{event.pk}/consent/", data)
        assert r.status_code == 400 and b"nothing was saved" in r.content
        assert ConsentForm.objects.get(event=event).questions == consent.clean_questions(QUESTIONS)

    def test_door_sees_counts_but_cannot_edit(self, client, ticket):
        client.force_login(team_member(ticket.event.creator, Role.DOOR))
        r = client.get(f"/dashboard/events/{ticket.event.pk}/consent/")
        assert r.status_code == 200 and b"consent-counts" in r.content and b"q-TOTAL_FORMS" not in r.content
        r = client.post(f"/dashboard/events/{ticket.event.pk}/consent/", {"q-TOTAL_FORMS": "0", "q-INITIAL_FORMS": "0"})
        assert r.status_code == 302 and ConsentForm.objects.get(event=ticket.event).questions

    def test_strangers_404(self, client, ticket):
        client.force_login(UserFactory())
        assert client.get(f"/dashboard/events/{ticket.event.pk}/consent/").status_code == 404

    def test_control_room_shows_counts(self, client, ticket):
        consent.answer(ticket.holder, ticket.pk, {"recording": False})
        client.force_login(team_member(ticket.event.creator, Role.OWNER))
        r = client.get(f"/dashboard/live/{ticket.event.pk}/control/")
        assert r.status_code == 200
        body = r.content.decode()
        assert 'id="consent"' in body and "1 said no to being recorded" in body

    def test_admin_pages(self, client, ticket):
        consent.answer(ticket.holder, ticket.pk, {"recording": True})
        NotifyRequest.objects.create(user=ticket.holder, tier=ticket.tier)
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        for path in ("consentform", "consentanswers", "notifyrequest"):
            assert client.get(f"/admin/events/{path}/").status_code == 200, path


class TestNotifyMeButtons:
    def test_drop_button_and_link_with_the_drop_chosen(self, client):
        drop = drop_in_an_hour()
        page = client.get(drop.event.get_absolute_url())
        assert f"/e/{drop.event.slug}/drops/{drop.pk}/notify-me/" in page.content.decode()
        r = client.post(f"/e/{drop.event.slug}/drops/{drop.pk}/notify-me/")
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]
        user = UserFactory()
        client.force_login(user)
        r = client.post(f"/e/{drop.event.slug}/drops/{drop.pk}/notify-me/")
        assert r.status_code == 302 and NotifyRequest.objects.filter(user=user, drop=drop).count() == 1
        client.post(f"/e/{drop.event.slug}/drops/{drop.pk}/notify-me/")
        assert NotifyRequest.objects.filter(user=user, drop=drop).count() == 1
        page = client.get(f"{drop.event.get_absolute_url()}?drop={drop.pk}").content.decode()
        assert f'id="drop-{drop.pk}"' in page and 'aria-current="true"' in page

    def test_watch_page_has_the_button(self, client):
        drop = drop_in_an_hour()
        owner = team_member(drop.event.creator, Role.OWNER)
        client.force_login(owner)
        page = client.get(f"/e/{drop.event.slug}/watch/").content.decode()
        assert f"/drops/{drop.pk}/notify-me/" in page

    def test_tier_button_and_link(self, client):
        tier = TierFactory(event=EventFactory(), sales_start=timezone.now() + timedelta(days=1))
        page = client.get(tier.event.get_absolute_url()).content.decode()
        assert f"/tiers/{tier.pk}/notify-me/" in page
        user = UserFactory()
        client.force_login(user)
        r = client.post(f"/e/{tier.event.slug}/tiers/{tier.pk}/notify-me/", {f"qty_{tier.pk}": "2"})
        assert r.status_code == 302 and f"?tier={tier.pk}" in r["Location"]
        assert NotifyRequest.objects.filter(user=user, tier=tier).exists()

    def test_tier_link_preselects_one_ticket(self, client):
        tier = TierFactory(event=EventFactory())
        page = client.get(f"{tier.event.get_absolute_url()}?tier={tier.pk}").content.decode()
        assert '<option value="1" selected>' in page

    def test_unknown_drop_404(self, client):
        event = EventFactory()
        client.force_login(UserFactory())
        assert client.post(f"/e/{event.slug}/drops/drp_nothere/notify-me/").status_code == 404


def test_attendee_list_flags_no_recording(client, ticket):
    consent.answer(ticket.holder, ticket.pk, {"recording": False})
    client.force_login(team_member(ticket.event.creator, Role.DOOR))
    r = client.get(f"/dashboard/events/{ticket.event.pk}/attendees/")
    assert r.status_code == 200 and b"No recording" in r.content
