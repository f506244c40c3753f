"""A bundle's refund as the buyer sees it on a phone: they bought a bundle with store credit, spent part of
the credit on a later ticket, the creator refunded the bundle — the order page says the refund was reduced
by the credit already spent, and the account shows no credit left."""
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from commerce import credit
from commerce import services as commerce
from catalog import services as catalog
from commerce.models import Order
from commerce.services import LineRequest
from events import bundles
from microstage.tests.factories import UserFactory
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_buyer_sees_a_bundle_refund_reduced_by_spent_credit(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(quantity=10, price="20.00")
    creator = tier.event.creator
    product = catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=3, actor=SYSTEM)
    bundle = bundles.create_bundle(creator=creator, name="Night out", price="60.00", credit_amount="30.00",
                                   items=[{"tier": tier.pk, "quantity": 2}, {"product": product.pk, "quantity": 1}],
                                   actor=SYSTEM)
    fan = UserFactory()
    bought = commerce.reserve(requests=[LineRequest("bundle", bundle.pk, 1)], buyer=fan)
    commerce.sandbox_pay(bought.pk)
    later = commerce.reserve(requests=[LineRequest("ticket", tier.pk, 1)], buyer=fan)
    commerce.checkout(later.pk)  # the ticket's 20.00 is paid from the 30.00 credit
    assert credit.balance(fan, creator.pk, "EUR") == Decimal("10.00")
    commerce.refund(bought.pk, actor=SYSTEM)
    assert Order.objects.get(pk=bought.pk).refunded_total == Decimal("40.00")

    client = Client()
    client.force_login(fan)
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    phone.goto(f"/orders/{bought.pk}/")
    expect(phone.get_by_text("20.00 EUR less").first).to_be_visible()
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    phone.screenshot(path=str(artifacts / "bundle-refund-phone.png"), full_page=True)
    phone.goto("/orders/")
    assert "€10.00" not in (phone.locator("main").inner_text())  # the unspent credit went with the refund
    assert credit.balance(fan, creator.pk, "EUR") == 0
    assert phone.js_errors == []
