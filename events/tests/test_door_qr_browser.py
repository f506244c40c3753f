"""A walk-up at the door pays on their own phone, in two phone-sized Chromium windows: the door rings up
the sale, the buyer opens the QR's payment link and pays, and the door's sale page shows them admitted."""
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from commerce.models import Order
from events.models import Ticket
from microstage.models import Role
from microstage.tests.factories import team_member

from .factories import EventFactory, TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_walk_up_pays_by_phone_and_is_admitted(browser, phone, live_server, settings, artifacts):
    from conftest import PHONE

    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url
    event = EventFactory()
    tier = TierFactory(event=event, name="Door ticket", price=Decimal("12.00"), quantity=4)
    client = Client()
    client.force_login(team_member(event.creator, Role.DOOR))
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    door = phone
    door.goto(f"/door/{event.pk}/walk-up/")
    door.get_by_label("The buyer's phone (QR)").check()
    door.get_by_role("button", name="Sell and admit").click()
    expect(door.locator("#walkup-result")).to_contain_text("Waiting for payment")
    expect(door.locator(".pos-qr svg")).to_be_visible()
    link = door.get_by_role("link", name="Payment link").get_attribute("href")
    order = Order.objects.get(lines__item_id=tier.pk)
    assert not Ticket.objects.filter(tier=tier).exists()  # nothing admitted before the money

    buyer_context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        buyer = buyer_context.new_page()
        buyer.goto(link)
        buyer.get_by_role("button", name="Pay 12.00 EUR").click()
        buyer.wait_for_load_state()
    finally:
        buyer_context.close()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID

    door.goto(f"/door/{event.pk}/walk-up/{order.pk}/")
    expect(door.locator("#walkup-result")).to_contain_text("Admitted")
    door.screenshot(path=str(artifacts / "door-qr-admitted.png"), full_page=True)
    assert Ticket.objects.get(tier=tier).checked_in_at is not None
    assert door.js_errors == []
