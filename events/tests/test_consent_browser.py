"""Consent and notifications in a phone-sized Chromium: a holder answers the questions before the show,
the door sees "no recording" (online and offline), and a fan sets up SMS with a confirmation code."""
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from events import consent
from events.services.tickets import qr_payload
from events.tests.test_consent import QUESTIONS
from events.tests.test_api_tickets import buy
from events.tests.test_door import make_show
from microstage.models import Role
from microstage.notifications import sms
from microstage.notifications.models import NotificationPreference
from microstage.tests.factories import UserFactory, team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SMS_URL = "console://"


def shot(page, name):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"consent-{name}.png"), full_page=True)


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def test_holder_answers_before_the_show(phone, live_server):
    from playwright.sync_api import expect

    page = phone
    event, tier = make_show(title="Quiet Hours")
    consent.set_consent_form(event, QUESTIONS, actor=SYSTEM)
    [ticket] = buy(tier, UserFactory())
    log_in(page, live_server, ticket.holder)
    page.goto("/tickets/")
    page.get_by_role("link", name="Answer 3 quick questions").click()
    expect(page.get_by_role("heading", name="Before the show")).to_be_visible()
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    # The required recording question left out: a clear error, nothing saved.
    page.get_by_role("group", name=re.compile("Photos")).get_by_label("Yes").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("#q-recording .error")).to_contain_text("This question needs an answer.")
    shot(page, "onboarding-error")
    assert not consent.answers_by_ticket(event)

    page.get_by_role("group", name=re.compile("May we record you")).get_by_label("No").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.locator(".ticket-onboarding")).to_contain_text("Questions answered")
    assert consent.answers_by_ticket(event)[ticket.pk] == {"recording": False, "photos": True}
    # (the ticket card's "Google Calendar" text link is older than this feature and checked elsewhere)
    assert [p for p in page.evaluate(LAYOUT_PROBLEMS) if "Google Calendar" not in p] == []
    assert page.js_errors == []


def test_door_flags_no_recording_online_and_offline(phone, live_server):
    from playwright.sync_api import expect

    page = phone
    event, tier = make_show(title="Loud Hours")
    consent.set_consent_form(event, QUESTIONS, actor=SYSTEM)
    first, second = buy(tier, UserFactory(), 2)
    consent.answer(first.holder, first.pk, {"recording": False, "photos": True})
    consent.answer(first.holder, second.pk, {"recording": True})
    log_in(page, live_server, team_member(event.creator, Role.DOOR))
    page.goto(f"/door/{event.pk}/")
    expect(page.locator("#door")).to_have_attribute("data-ready", "true")

    def enter(payload):
        before = page.get_attribute("#door-result", "data-scan") or "0"
        page.fill("#manual-code", payload)
        page.press("#manual-code", "Enter")
        page.wait_for_function("(n) => document.querySelector('#door-result').dataset.scan !== n", arg=before)
        return page.locator("#door-result")

    result = enter(qr_payload(first))
    expect(result).to_have_attribute("data-result", "ok")
    expect(result.locator(".no-recording")).to_be_visible()
    expect(result.locator(".door-answers li[data-key='photos']")).to_contain_text("Yes")
    shot(page, "door-no-recording")

    page.context.set_offline(True)
    result = enter(qr_payload(second))
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_contain_text("offline")
    expect(result.locator(".no-recording")).to_have_count(0)
    expect(result.locator(".door-answers li[data-key='recording']")).to_contain_text("Yes")
    assert page.js_errors == []


def test_sms_preferences_with_a_confirmation_code(phone, live_server):
    from playwright.sync_api import expect

    page = phone
    sms.outbox.clear()
    user = UserFactory()
    log_in(page, live_server, user)
    page.goto("/account/notifications/")
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    page.get_by_label("Text me (SMS)").check()
    page.get_by_label("Mobile number").fill("0151 nonsense")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator(".field.has-error")).to_contain_text("international format")
    assert not NotificationPreference.objects.filter(user=user, phone__gt="").exists()

    page.get_by_label("Mobile number").fill("+49 151 12345678")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm +4915112345678")).to_be_visible()
    shot(page, "notifications-confirm")
    code = re.search(r"\d{6}", sms.outbox[-1]["body"]).group(0)
    page.get_by_label("Code from the SMS").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirm number").click()
    expect(page.locator("#confirm")).to_contain_text("That code is not right.")
    page.get_by_label("Code from the SMS").fill(code)
    page.get_by_role("button", name="Confirm number").click()
    expect(page.get_by_text("Your number is confirmed.", exact=True)).to_be_visible()
    expect(page.locator(".badge", has_text="SMS on")).to_be_visible()
    assert NotificationPreference.objects.get(user=user).sms_usable
    assert page.evaluate(LAYOUT_PROBLEMS) == [] and page.js_errors == []


def test_notify_me_then_the_link_opens_the_drop_chosen(phone, live_server):
    from django.core import mail
    from playwright.sync_api import expect

    from events import notices
    from events.tests.test_notify_me import drop_in_an_hour

    page = phone
    drop = drop_in_an_hour()
    user = UserFactory()
    log_in(page, live_server, user)
    page.goto(drop.event.get_absolute_url())
    page.get_by_role("button", name=re.compile("Notify me")).click()
    expect(page.get_by_text("We'll tell you once, the moment the drop opens.")).to_be_visible()
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    mail.outbox.clear()
    assert notices.send_due(now=drop.starts_at + timedelta(seconds=1)) == 1
    link = re.search(r"http\S+\?drop=\S+", mail.outbox[0].body).group(0)
    # The drop is open now: the link opens the event page scrolled to it, marked as the chosen one.
    drop.starts_at = drop.starts_at - timedelta(hours=2)
    drop.save(update_fields=["starts_at"])
    page.goto(link.replace(settings.SITE_URL, live_server.url))
    chosen = page.locator(f"#drop-{drop.pk}")
    expect(chosen).to_have_attribute("aria-current", "true")
    expect(chosen).to_be_in_viewport()
    expect(chosen.get_by_role("button", name=re.compile("Buy"))).to_be_visible()
    assert "chosen" in chosen.get_attribute("class")
    assert page.js_errors == []
