"""The cart path on a phone: a guest (no account) puts a ticket, a shirt and a bundle in the cart, pays
once in the sandbox with an email alone, sees the tickets, then makes an account from the order page."""
import pytest

from catalog import services as catalog
from commerce.models import Order
from events import bundles
from events.models import Ticket
from microstage.models import User

from .factories import TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_guest_cart_to_one_payment_and_an_account_on_a_phone(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url
    tier = TierFactory(quantity=20, price="15.00", name="Standard")
    creator = tier.event.creator
    product = catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=5, actor=SYSTEM)
    bundles.create_bundle(creator=creator, name="Night out", price="50.00", credit_amount="10.00",
                          items=[{"tier": tier.pk, "quantity": 2}, {"product": product.pk, "quantity": 1}],
                          actor=SYSTEM)
    page = phone

    page.goto(tier.event.get_absolute_url())
    page.get_by_label("How many Standard tickets").select_option("1")
    page.get_by_role("button", name="Add to cart — no account needed").click()
    page.wait_for_url("**/cart/")
    assert "In your cart" in page.content()

    page.goto(tier.event.get_absolute_url() + "#bundles")
    assert page.get_by_text("€10.00 store credit for your next order").is_visible()
    page.get_by_role("button", name="Add to cart — Night out").click()
    page.wait_for_url("**/cart/")

    page.goto(f"/c/{creator.slug}/shop/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    assert page.get_by_text("Total €90.00").is_visible()  # 15 + 50 + 25
    page.screenshot(path=str(artifacts / "cart-1-cart.png"), full_page=True)
    # Nothing on the cart page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("Your email").fill("walkup@example.com")
    page.get_by_role("button", name="Reserve and pay €90.00").click()
    assert "TEST MODE" in page.content().upper()
    page.get_by_role("button", name="Pay 90.00 EUR").click()
    page.wait_for_url("**/cart/orders/**")
    order = Order.objects.get(email="walkup@example.com")
    assert order.status == "paid" and order.buyer is None and order.lines.count() == 3
    page.get_by_role("heading", name="You're in!").wait_for()
    assert page.get_by_role("heading", name="Keep your tickets in an account?").is_visible()
    page.screenshot(path=str(artifacts / "cart-2-paid.png"), full_page=True)

    page.get_by_label("Choose a password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(f"**/orders/{order.pk}/")
    user = User.objects.get(email="walkup@example.com")
    assert Ticket.objects.filter(order_line__order=order, holder=user).count() == 3
    assert "Your account is ready" in page.content()
    assert not page.js_errors, page.js_errors
