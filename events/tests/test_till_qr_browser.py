"""The pop-up till sells a ticket paid on the buyer's phone, in two phone-sized Chromium windows: the
seller rings it up, the till shows a QR of the payment link, the buyer opens it and pays, and the till
shows the ticket sold (issued for the door, not admitted), counted against the same stock."""
from decimal import Decimal

import pytest
import segno
from django.conf import settings
from django.test import Client

from stock import services as stock
from commerce.models import Order
from events.models import Ticket
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def test_the_till_sells_a_ticket_paid_by_the_buyers_phone(browser, phone, live_server, settings, artifacts):
    from playwright.sync_api import expect

    from conftest import PHONE

    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url
    event = EventFactory()
    tier = TierFactory(event=event, name="Room ticket", price=Decimal("14.00"), quantity=3)
    till = stock.create_location(creator=event.creator, name="Merch table", kind="popup", actor=SYSTEM)
    seller = phone
    log_in(seller, live_server, team_member(event.creator, Role.DOOR))

    seller.goto(f"/door/till/{till.pk}/tickets/")
    expect(seller.locator("#walkup-form")).to_contain_text("3 left")
    seller.get_by_label("How many").fill("1")
    seller.get_by_label("The buyer's phone (QR)").check()
    seller.get_by_label("Buyer's email").fill("walkup@example.com")
    seller.get_by_role("button", name="Sell tickets").click()
    expect(seller.locator("#walkup-result")).to_contain_text("Waiting for payment")
    link = seller.get_by_role("link", name="Payment link").get_attribute("href")
    # The QR on the till is exactly that link.
    modules = seller.locator(".pos-qr svg path.qrline").get_attribute("d")
    expected = segno.make(link, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    assert f'd="{modules}"' in expected
    order = Order.objects.get(email="walkup@example.com")
    assert order.status in Order.OPEN
    seller.screenshot(path=str(artifacts / "till-qr-1-waiting.png"), full_page=True)

    # The buyer scans it with their own phone (no account, no session) and pays.
    buyer_context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        buyer = buyer_context.new_page()
        buyer.goto(link)
        buyer.get_by_role("button", name="Pay 14.00 EUR").click()
        buyer.wait_for_load_state()
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        assert buyer.evaluate(LAYOUT_PROBLEMS) == []
    finally:
        buyer_context.close()

    seller.goto(f"/door/till/{till.pk}/tickets/{order.pk}/")
    result = seller.locator("#walkup-result")
    expect(result).to_contain_text("Sold")
    expect(result).to_contain_text("walkup@example.com")
    seller.screenshot(path=str(artifacts / "till-qr-2-sold.png"), full_page=True)
    ticket = Ticket.objects.get(order_line__order=order)
    assert ticket.tier_id == tier.pk and ticket.checked_in_at is None  # scanned at the door later
    seller.goto(f"/door/till/{till.pk}/tickets/")
    expect(seller.locator("#walkup-form")).to_contain_text("2 left")  # the same stock as online
    assert seller.evaluate(LAYOUT_PROBLEMS) == [] and seller.js_errors == []
