"""The web cart: tickets, merch and a bundle in one order and one payment; a guest buys with an email
alone and may make an account afterwards (which then holds the tickets and the store credit)."""
import pytest

from commerce import credit
from catalog import services as catalog
from commerce.models import Order
from events import bundles
from events.models import Ticket
from microstage.models import User
from microstage.payments import services as payments
from microstage.tests.factories import UserFactory

from .factories import TierFactory
from microstage.permissions import SYSTEM


@pytest.fixture
def shop(db, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(quantity=10, price="20.00")
    creator = tier.event.creator
    product = catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=5, actor=SYSTEM)
    variant = product.variants.get()
    bundle = bundles.create_bundle(creator=creator, name="Night out", price="60.00", credit_amount="10.00",
                                   items=[{"tier": tier.pk, "quantity": 2}, {"variant": variant.pk, "quantity": 1}],
                                   actor=SYSTEM)
    return tier, variant, bundle, creator


def fill_cart(client, tier, variant, bundle):
    event_url = tier.event.get_absolute_url()
    assert client.get(event_url).status_code == 200
    client.post("/cart/add/", {"kind": "ticket", f"qty_{tier.pk}": "1", "next": event_url})
    client.post("/cart/add/", {"kind": "product", "variant": variant.pk, "quantity": "2"})
    client.post("/cart/add/", {"kind": "bundle", "item": bundle.pk, "quantity": "1"})


def test_guest_buys_everything_in_one_order_and_payment_then_makes_an_account(client, shop):
    tier, variant, bundle, creator = shop
    fill_cart(client, tier, variant, bundle)
    page = client.get("/cart/").content.decode()
    assert "Tour shirt" in page and "Night out" in page and "€130.00" in page  # 20 + 2×25 + 60
    r = client.post("/cart/checkout/", {"email": "Guest@Example.com"})
    assert r.status_code == 302 and "/payments/sandbox/checkout/" in r["Location"]
    order = Order.objects.get()
    assert order.buyer is None and order.email == "guest@example.com" and order.total == 130
    assert sorted(ln.kind for ln in order.lines.all()) == ["bundle", "product", "ticket"]
    assert order.payment is not None  # one payment for the whole order
    payments.sandbox_complete(order.payment, "pay")
    order.refresh_from_db()
    assert order.status == "paid"
    assert Ticket.objects.filter(order_line__order=order).count() == 3  # 1 + 2 from the bundle
    page = client.get(f"/cart/orders/{order.pk}/").content.decode()
    assert "Keep your tickets in an account?" in page and "Your tickets" in page
    assert client.get("/cart/").content.decode().count("Your cart is empty") == 1
    # Somebody else's browser cannot open the guest order.
    from django.test import Client

    assert Client().get(f"/cart/orders/{order.pk}/").status_code == 404
    r = client.post(f"/cart/orders/{order.pk}/account/", {"password": "short"})
    assert not User.objects.filter(email="guest@example.com").exists()
    r = client.post(f"/cart/orders/{order.pk}/account/", {"password": "a-long-enough-passphrase"})
    assert r.status_code == 302 and r["Location"] == order.get_absolute_url()
    user = User.objects.get(email="guest@example.com")
    order.refresh_from_db()
    assert order.buyer == user
    assert Ticket.objects.filter(order_line__order=order, holder=user).count() == 3
    assert credit.balance(user, creator.pk, "EUR") == 10
    assert client.get(order.get_absolute_url()).status_code == 200  # now logged in as the buyer


def test_bad_input_changes_nothing(client, shop):
    tier, variant, bundle, creator = shop
    r = client.post("/cart/add/", {"kind": "bundle", "item": bundle.pk, "quantity": "lots"}, follow=True)
    assert "Choose a quantity" in r.content.decode()
    r = client.post("/cart/add/", {"kind": "ghost", "item": "x", "quantity": "1"}, follow=True)
    assert "cannot go in the cart" in r.content.decode()
    r = client.post("/cart/add/", {"kind": "bundle", "item": "bdl_nope", "quantity": "1"}, follow=True)
    assert "No such bundle" in r.content.decode()
    client.post("/cart/add/", {"kind": "bundle", "item": bundle.pk, "quantity": "1"})
    r = client.post("/cart/checkout/", {"email": "not-an-email"}, follow=True)
    assert "valid email" in r.content.decode()
    r = client.post("/cart/checkout/", {}, follow=True)
    assert "email" in r.content.decode().lower()
    assert not Order.objects.exists()
    other = TierFactory()
    r = client.post("/cart/add/", {"kind": "ticket", f"qty_{other.pk}": "1"}, follow=True)
    assert "another creator" in r.content.decode()


def test_a_member_spends_their_credit_in_the_cart(client, shop):
    tier, variant, bundle, creator = shop
    fan = UserFactory()
    client.force_login(fan)
    client.post("/cart/add/", {"kind": "bundle", "item": bundle.pk, "quantity": "1"})
    r = client.post("/cart/checkout/")
    first = Order.objects.get(buyer=fan)
    payments.sandbox_complete(first.payment, "pay")
    assert credit.balance(fan, creator.pk, "EUR") == 10
    client.post("/cart/add/", {"kind": "ticket", f"qty_{tier.pk}": "1"})
    assert "store credit" in client.get("/cart/").content.decode()
    r = client.post("/cart/checkout/")
    second = Order.objects.exclude(pk=first.pk).get(buyer=fan)
    assert second.credit_used == 10 and second.total == 10
    assert r.status_code == 302
    page = client.get(second.get_absolute_url()).content.decode()
    assert "Store credit with" in page


def test_the_account_shows_store_credit(client, shop):
    tier, variant, bundle, creator = shop
    fan = UserFactory()
    client.force_login(fan)
    client.post("/cart/add/", {"kind": "bundle", "item": bundle.pk, "quantity": "1"})
    client.post("/cart/checkout/")
    payments.sandbox_complete(Order.objects.get(buyer=fan).payment, "pay")
    page = client.get("/orders/").content.decode()
    assert "Store credit" in page and creator.name in page and "€10.00" in page
