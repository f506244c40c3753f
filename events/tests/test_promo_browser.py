"""Promo and partner codes on a phone, the creator's path: make a partner code (a wrong form first: a clear
message and nothing saved), see it listed, and after a buyer used it, see its sales in the show's analytics."""
import re
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from commerce import services as commerce
from commerce.services import LineRequest
from memberships.models import PromoCode
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import EventFactory, TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_creator_makes_a_partner_code_and_sees_its_sales(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(event=EventFactory(), name="Standard", price=Decimal("20.00"), quantity=50)
    TierFactory(event=tier.event, name="VIP", price=Decimal("60.00"), quantity=5)
    owner = team_member(tier.event.creator, Role.OWNER)
    client = Client()
    client.force_login(owner)
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = phone

    page.goto("/dashboard/memberships/promo-codes/new/")
    page.get_by_label("Code", exact=True).fill("radio5")
    page.get_by_label("Partner code").check()
    page.get_by_label("Or amount off each ticket or item").fill("5")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Create code").click()
    expect(page.get_by_text("Name the partner").first).to_be_visible()  # a partner code names its partner
    assert not PromoCode.objects.exists()
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    page.get_by_label(re.compile(r"^Partner \(optional")).fill("Late Night Radio")
    page.get_by_label(re.compile(r"Standard")).check()
    page.get_by_role("button", name="Create code").click()
    page.wait_for_url("**/dashboard/memberships/promo-codes/")
    expect(page.get_by_text("RADIO5").first).to_be_visible()
    promo = PromoCode.objects.get()
    assert (promo.kind, promo.partner, promo.amount_off, promo.tier_ids) == (
        "partner", "Late Night Radio", Decimal("5.00"), [tier.pk])
    page.screenshot(path=str(artifacts / "promo-codes-phone.png"), full_page=True)

    order = commerce.reserve(requests=[LineRequest("ticket", tier.pk, 2, (("code", "RADIO5"),))],
                             email="listener@example.com")
    commerce.sandbox_pay(order.pk)
    assert order.__class__.objects.get(pk=order.pk).total == Decimal("30.00")
    page.goto(f"/dashboard/analytics/{tier.event.pk}/")
    sales = page.locator("#promo-sales")
    expect(sales).to_contain_text("RADIO5")
    expect(sales).to_contain_text("30.00")  # revenue with the code
    expect(sales).to_contain_text("10.00")  # what it gave off
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.js_errors == []
