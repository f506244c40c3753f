"""A promo code in the cart on a phone: a guest puts a ticket and a shirt in the cart, types a code that
is wrong (a clear message, nothing changes), then the partner's code, sees the lower total and pays it."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog import services as catalog
from commerce.models import Order
from memberships import promos
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guest_applies_a_partner_code_in_the_cart_and_pays_less(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url
    tier = TierFactory(quantity=20, price="15.00", name="Standard")
    creator = tier.event.creator
    catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=5, actor=SYSTEM)
    promos.create_promo_code(creator=creator, code="RADIO5", kind="partner", partner="Late Night Radio",
                             amount_off="5.00", currency="EUR", actor=SYSTEM)
    page = phone

    page.goto(tier.event.get_absolute_url())
    page.get_by_label("How many Standard tickets").select_option("2")
    page.get_by_role("button", name="Add to cart — no account needed").click()
    page.wait_for_url("**/cart/")
    page.goto(f"/c/{creator.slug}/shop/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    expect(page.get_by_text("Total €55.00")).to_be_visible()

    page.get_by_label("Promo or partner code").fill("RADIO 5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("The code was not applied.")).to_be_visible()
    expect(page.get_by_text("Total €55.00")).to_be_visible()  # nothing changed

    page.get_by_label("Promo or partner code").fill("radio5")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Code RADIO5 applied.").first).to_be_visible()
    expect(page.get_by_text("Total €40.00")).to_be_visible()  # 2 × 10.00 + 20.00
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    page.screenshot(path=str(artifacts / "cart-code-applied.png"), full_page=True)

    page.get_by_label("Your email").fill("radio-fan@example.com")
    page.get_by_role("button", name="Reserve and pay €40.00").click()
    page.get_by_role("button", name="Pay 40.00 EUR").click()
    page.wait_for_url("**/cart/orders/**")
    page.get_by_role("heading", name="You're in!").wait_for()
    order = Order.objects.get(email="radio-fan@example.com")
    assert order.status == "paid" and order.total == Decimal("40.00")
    assert {ln.options.get("code") for ln in order.lines.all()} == {"RADIO5"}
    (row,) = promos.sales_by_code(creator.pk)
    assert (row["orders"], row["discount"], row["uses"]) == (1, Decimal("15.00"), 1)
    assert not page.js_errors, page.js_errors
