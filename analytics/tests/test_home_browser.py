"""The creator home, the money page and a payout statement on a phone, with the demo's history loaded:
real charts, nothing wider than the screen, every control big enough and labelled."""
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from payouts.models import Payout
from microstage.models import Creator
from microstage.tests.test_browser import assert_good_layout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])


def test_creator_home_and_money_on_a_phone(phone, live_server, artifacts, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    call_command("demo", stdout=io.StringIO())
    creator = Creator.objects.get(slug="night-owls")
    log_in(phone, creator.team.get(role="owner").user, live_server)
    phone.goto("/dashboard/")
    phone.wait_for_selector("#home-sales-chart")
    # Chart.js drew the week against the week before (the canvas has a size and the data has sales).
    assert phone.evaluate("() => !!Chart.getChart(document.getElementById('home-sales-chart'))")
    from django.utils import timezone

    from events.models import Event

    soonest = (Event.objects.filter(creator=creator, status="published", starts_at__gt=timezone.now())
               .order_by("starts_at").first())  # the demo's next show (a sold-out one with a waiting list)
    assert "Next show" in phone.inner_text("#home-show") and soonest.title in phone.inner_text("#home-show")
    assert phone.locator("#home-waiting").is_visible()
    assert_good_layout(phone)
    phone.screenshot(path=str(artifacts / "creator-home-phone.png"), full_page=True)
    phone.goto("/dashboard/money/")
    assert phone.locator("#payouts").is_visible() and phone.locator("#payout-account").is_visible()
    assert_good_layout(phone)
    phone.screenshot(path=str(artifacts / "money-phone.png"), full_page=True)
    payout = Payout.objects.get(creator=creator)
    phone.goto(f"/dashboard/money/payouts/{payout.pk}/")
    assert phone.locator("#statement-lines tbody tr").count() > 10
    assert_good_layout(phone)
