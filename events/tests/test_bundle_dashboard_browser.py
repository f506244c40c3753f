"""Bundles on a phone, the creator's path: put a ticket, a shirt and store credit together (a wrong price
first: a clear message and nothing saved), see the bundle listed with what its parts allow, and find it on
the show's page."""
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from catalog import services as catalog
from events.models import Bundle
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_creator_puts_a_bundle_together_on_a_phone(phone, live_server, artifacts):
    tier = TierFactory(name="Standard", quantity=10, price="20.00")
    creator = tier.event.creator
    catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=3, actor=SYSTEM)
    client = Client()
    client.force_login(team_member(creator, Role.OWNER))
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = phone

    page.goto("/dashboard/bundles/")
    page.get_by_label("Name").fill("Night out")
    page.get_by_label("Price").fill("-5")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Store credit").fill("10")
    page.get_by_label("Part 1", exact=True).select_option(label=f"Ticket: {tier.event.title} — Standard")
    page.get_by_label("How many of part 1").fill("2")
    page.get_by_label("Part 2", exact=False).first.select_option(label="Goods: Tour shirt")
    page.get_by_role("button", name="Create bundle").click()
    expect(page.get_by_text("nothing was saved")).to_be_visible()
    assert not Bundle.objects.exists()
    assert page.evaluate(LAYOUT_PROBLEMS) == []

    page.get_by_label("Price").fill("60")
    page.get_by_role("button", name="Create bundle").click()
    page.wait_for_url("**/dashboard/bundles/")
    expect(page.get_by_text("Night out").first).to_be_visible()
    expect(page.get_by_text("3 left").first).to_be_visible()  # the shirt's 3 allow 3; the tickets 5
    bundle = Bundle.objects.get()
    assert (bundle.price, bundle.credit, bundle.items.count()) == (Decimal("60.00"), Decimal("10.00"), 2)
    page.screenshot(path=str(artifacts / "bundle-dashboard-phone.png"), full_page=True)

    page.goto(tier.event.get_absolute_url() + "#bundles")
    expect(page.get_by_role("button", name="Add to cart — Night out")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.js_errors == []
