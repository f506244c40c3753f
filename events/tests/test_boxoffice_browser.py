"""A walk-up sale at the door in a phone-sized Chromium: from the scanner to "Admitted", counted at once."""
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from events.models import Ticket
from microstage.models import Role
from microstage.tests.factories import team_member

from .factories import EventFactory, TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])


def test_a_walk_up_pays_cash_and_is_admitted(phone, live_server, artifacts, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory()
    tier = TierFactory(event=event, name="Door ticket", price=Decimal("12.00"), quantity=5)
    log_in(phone, team_member(event.creator, Role.DOOR), live_server)
    phone.goto(f"/door/{event.pk}/")
    phone.get_by_role("link", name="Sell a ticket to a walk-up").click()
    phone.wait_for_url(f"**/door/{event.pk}/walk-up/")
    assert "5 left" in phone.locator("#walkup-form").inner_text()
    phone.get_by_label("How many").fill("2")
    phone.get_by_label("Cash").check()
    phone.get_by_role("button", name="Sell and admit").click()
    phone.wait_for_selector("#walkup-result")
    result = phone.locator("#walkup-result").inner_text()
    assert "ADMITTED" in result.upper() and "24.00" in result
    phone.screenshot(path=str(artifacts / "door-walkup-admitted.png"), full_page=True)
    assert Ticket.objects.filter(tier=tier, checked_in_at__isnull=False).count() == 2
    phone.goto(f"/door/{event.pk}/")
    phone.wait_for_function("document.querySelector('#count-in').textContent.trim() === '2'")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not phone.js_errors
