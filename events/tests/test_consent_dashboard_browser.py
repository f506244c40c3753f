"""The creator sets the show's consent form on a phone: the suggested questions to start from, a bad key
first (a clear message, nothing saved), then saved; the holders' onboarding asks exactly these."""
import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from events import consent
from events.models import ConsentForm
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import EventFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_creator_sets_the_consent_form_on_a_phone(phone, live_server, artifacts):
    event = EventFactory()
    client = Client()
    client.force_login(team_member(event.creator, Role.OWNER))
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = phone
    page.goto(f"/dashboard/events/{event.pk}/consent/")
    expect(page.get_by_text("Suggested questions to start from.")).to_be_visible()
    first = page.get_by_role("group", name="Question 1")
    assert first.locator("#id_q-0-key").input_value() == "recording"
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    first.locator("#id_q-0-key").fill("Bad Key!")
    page.get_by_role("button", name="Save consent form").click()
    expect(page.get_by_text("nothing was saved")).to_be_visible()
    assert not ConsentForm.objects.filter(event=event).exists()
    page.screenshot(path=str(artifacts / "consent-dashboard-error.png"), full_page=True)

    page.get_by_role("group", name="Question 1").locator("#id_q-0-key").fill("recording")
    page.get_by_role("group", name="Question 1").locator("#id_q-0-text").fill("May we film you for the stream?")
    page.get_by_role("button", name="Save consent form").click()
    page.wait_for_load_state()
    expect(page.get_by_text("nothing was saved")).to_have_count(0)
    questions = consent.questions_of(event)
    assert questions[0]["key"] == "recording" and questions[0]["text"] == "May we film you for the stream?"
    assert [q["key"] for q in questions] == [q["key"] for q in consent.clean_questions(consent.SUGGESTED)]
    assert page.js_errors == []
