"""A promo or partner code in the web cart: applied to each ticket and goods line it is valid for (not
to bundles), shown in the cart's prices, kept to checkout and counted in the code's sales; a bad, unknown,
expired or used-up code is a clear message and changes nothing."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import cart
from commerce import services as commerce
from catalog import services as catalog
from commerce.models import Order
from memberships import promos
from memberships.models import PromoCodeUse
from microstage.errors import Conflict, Invalid
from microstage.payments import services as payments
from microstage.tests.factories import CreatorFactory

from .factories import TierFactory
from .test_cart import fill_cart
from microstage.permissions import SYSTEM


@pytest.fixture
def shop(db, settings):
    """A tier, a shirt and a bundle of both, of one creator (as the cart tests have)."""
    from events import bundles

    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(quantity=10, price="20.00")
    creator = tier.event.creator
    product = catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=5, actor=SYSTEM)
    variant = product.variants.get()
    bundle = bundles.create_bundle(creator=creator, name="Night out", price="60.00", credit_amount="10.00",
                                   items=[{"tier": tier.pk, "quantity": 2}, {"variant": variant.pk, "quantity": 1}],
                                   actor=SYSTEM)
    return tier, variant, bundle, creator


def session_cart(client):
    return client.session.get(cart.SESSION_KEY, {})


def test_a_code_lowers_the_lines_it_is_for_and_goes_with_the_order(client, shop):
    tier, variant, bundle, creator = shop
    promos.create_promo_code(creator=creator, code="SPRING", percent_off="50", tier_ids=[tier.pk], actor=SYSTEM)
    fill_cart(client, tier, variant, bundle)
    page = client.get("/cart/").content.decode()
    assert 'id="cart-code-input"' in page and "€130.00" in page
    r = client.post("/cart/code/", {"code": " spring "}, follow=True)
    page = r.content.decode()
    assert "Code SPRING applied." in page and "€120.00" in page  # the ticket at 10.00: 10 + 2×25 + 60
    assert session_cart(client)["code"] == "SPRING"
    client.post("/cart/checkout/", {"email": "guest@example.com"})
    order = Order.objects.get()
    assert order.total == Decimal("120.00")
    by_kind = {ln.kind: ln for ln in order.lines.all()}
    assert by_kind["ticket"].options == {"code": "SPRING"} and by_kind["ticket"].unit_price == Decimal("10.00")
    assert not by_kind["product"].options and not by_kind["bundle"].options  # not for those
    payments.sandbox_complete(order.payment, "pay")
    (row,) = [r for r in promos.sales_by_code(creator.pk) if r["code"] == "SPRING"]
    assert (row["orders"], row["units"], row["discount"]) == (1, 1, Decimal("10.00"))
    assert PromoCodeUse.objects.filter(order_id=order.pk).count() == 1


def test_a_partner_code_for_goods_and_tickets_alike(client, shop):
    tier, variant, bundle, creator = shop
    promos.create_promo_code(creator=creator, code="RADIO5", kind="partner", partner="Radio", amount_off="5.00",
                             currency="EUR", actor=SYSTEM)
    fill_cart(client, tier, variant, bundle)
    client.post("/cart/code/", {"code": "RADIO5"})
    client.post("/cart/checkout/", {"email": "guest@example.com"})
    order = Order.objects.get()
    assert order.total == Decimal("115.00")  # 5 off the ticket and 5 off each shirt; the bundle keeps its price
    assert {ln.kind: ln.options.get("code") for ln in order.lines.all()} == {
        "ticket": "RADIO5", "product": "RADIO5", "bundle": None}


@pytest.mark.parametrize("typed, message", [
    ("", "letters, digits"),
    ("SPR ING", "letters, digits"),
    ("x" * 41, "letters, digits"),
    ("NOSUCH", "does not apply to anything in your cart"),
    ("SHIRTS", "does not apply to anything in your cart"),  # a code for another creator's goods
])
def test_bad_codes_are_a_clear_message_and_change_nothing(client, shop, typed, message):
    tier, variant, bundle, creator = shop
    other = catalog.create_product(creator=CreatorFactory(), name="Mug", price="9.00", stock=1, actor=SYSTEM)
    promos.create_promo_code(creator=other.creator, code="SHIRTS", percent_off="10", product_ids=[other.pk],
                             actor=SYSTEM)
    client.post("/cart/add/", {"kind": "ticket", f"qty_{tier.pk}": "1"})
    before = dict(session_cart(client))
    r = client.post("/cart/code/", {"code": typed}, follow=True)
    page = r.content.decode()
    assert message in page and "The code was not applied." in page
    assert session_cart(client) == before and not session_cart(client).get("code")
    assert "€20.00" in page


def test_an_expired_or_used_up_code_is_refused_and_nothing_is_reserved(client, shop, settings):
    tier, variant, bundle, creator = shop
    promo = promos.create_promo_code(creator=creator, code="ONCE", percent_off="10", max_uses=1, actor=SYSTEM)
    client.post("/cart/add/", {"kind": "ticket", f"qty_{tier.pk}": "1"})
    assert "Code ONCE applied." in client.post("/cart/code/", {"code": "once"}, follow=True).content.decode()
    # Someone else spends the last use before this buyer checks out.
    used = commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 1, (("code", "ONCE"),))],
                            email="quick@example.com")
    commerce.sandbox_pay(used.pk)
    page = client.get("/cart/").content.decode()
    assert "Code ONCE: This code has been used up" in page
    r = client.post("/cart/checkout/", {"email": "late@example.com"}, follow=True)
    assert "Code ONCE: This code has been used up" in r.content.decode()
    assert not Order.objects.filter(email="late@example.com").exists()
    # Taken off, the cart checks out at the full price.
    client.post("/cart/code/", {"remove": "1"})
    assert not session_cart(client)["code"]
    client.post("/cart/checkout/", {"email": "late@example.com"})
    assert Order.objects.get(email="late@example.com").total == Decimal("20.00")
    promo.valid_until = timezone.now() - timedelta(minutes=1)
    promo.max_uses = None
    promo.save()
    client.post("/cart/add/", {"kind": "ticket", f"qty_{tier.pk}": "1"})
    page = client.post("/cart/code/", {"code": "ONCE"}, follow=True).content.decode()
    assert "This code has expired." in page and not session_cart(client).get("code")


def test_the_service_refuses_without_storing(shop, settings):
    tier, variant, bundle, creator = shop
    from django.contrib.sessions.backends.base import SessionBase

    session = SessionBase()
    with pytest.raises(Invalid):
        cart.apply_code(session, "SPRING")  # an empty cart
    cart.add(session, kind="bundle", item_id=bundle.pk, quantity=1)
    promos.create_promo_code(creator=creator, code="SPRING", percent_off="10", actor=SYSTEM)
    with pytest.raises(Invalid):
        cart.apply_code(session, "SPRING")  # bundles keep their price
    promos.create_promo_code(creator=creator, code="LATER", percent_off="10",
                             valid_from=timezone.now() + timedelta(days=1), actor=SYSTEM)
    cart.add(session, kind="ticket", item_id=tier.pk, quantity=1)
    with pytest.raises(Conflict):
        cart.apply_code(session, "LATER")
    assert cart.code_of(session) == ""
    assert cart.apply_code(session, "spring") == "SPRING"
    cart.set_quantity(session, 1, 0)
    cart.set_quantity(session, 0, 0)
    assert cart.code_of(session) == ""  # an empty cart forgets its code
