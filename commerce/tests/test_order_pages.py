"""Order pages: the hold, pay and cancel, the orders list, receipts (page, email, signed JSON) and the
published signing key — and that nobody sees or acts on someone else's order.

Commerce sells lines it knows nothing about, so these tests register their own sellable kind
("test-widget") instead of importing the events app (the layering forbids it).
"""
import base64
import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core import mail
from django.utils import timezone

from commerce import receipts, sellables, services
from commerce.models import Order
from commerce.selectors import availability
from commerce.sellables import Offer
from commerce.services import LineRequest
from microstage.models import Role
from microstage.payments import services as payments
from microstage.signing import canonical_json
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db

KIND = "test-widget"
_items: dict[str, tuple[str, Decimal]] = {}


def _offer(item_id, quantity, buyer):
    creator_id, price = _items[item_id]
    return Offer(kind=KIND, item_id=item_id, creator_id=creator_id, description=f"Poster {item_id} — signed",
                 unit_price=price, currency="EUR", pools={f"widget:{item_id}": 5})


@pytest.fixture(autouse=True)
def widget_kind():
    sellables.register(KIND, offer=_offer)
    yield
    _items.clear()


def widget(price="12.50", creator=None) -> str:
    item_id = f"w{len(_items)}"
    _items[item_id] = ((creator or CreatorFactory(name="Night & Day")).pk, Decimal(price))
    return item_id


def reserve(buyer, item, qty=2) -> Order:
    return services.reserve(requests=[LineRequest(KIND, item, qty)], buyer=buyer, email=buyer.email)


def pay(order) -> Order:
    result = services.checkout(order.pk)
    payments.sandbox_complete(result.order.payment, "pay")
    return Order.objects.get(pk=order.pk)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def buyer(client):
    user = UserFactory()
    client.force_login(user)
    return user


# --- the open order ------------------------------------------------------------------------------

def test_order_page_shows_hold_lines_total_and_actions(client, buyer):
    order = reserve(buyer, widget())
    html = text(client.get(f"/orders/{order.pk}/"))
    assert "Held for you for" in html and 'data-countdown="' in html
    assert "Poster" in html and "€12.50 each" in html and "€25.00" in html
    assert f'action="/orders/{order.pk}/pay/"' in html and f'action="/orders/{order.pk}/cancel/"' in html
    assert "Test mode" in html


def test_pay_redirects_to_sandbox_checkout_which_returns_to_the_order(client, buyer,
                                                                      django_capture_on_commit_callbacks):
    order = reserve(buyer, widget())
    response = client.post(f"/orders/{order.pk}/pay/")
    assert response.status_code == 302
    checkout = urlsplit(response["Location"]).path
    assert checkout.startswith("/payments/sandbox/checkout/")
    assert "Pay 25.00 EUR" in text(client.get(checkout))
    with django_capture_on_commit_callbacks(execute=True):
        back = client.post(checkout, {"outcome": "pay"})
    assert urlsplit(back["Location"]).path == f"/orders/{order.pk}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    html = text(client.get(back["Location"]))
    assert "You're in!" in html and f"/orders/{order.pk}/receipt/" in html and "receipt.json" in html
    assert "Held for you for" not in html
    # the email carries the receipt and the signed JSON
    message = mail.outbox[-1]
    assert message.to == [buyer.email] and "RECEIPT" in message.body and "€25.00" in message.body
    assert "Night & Day" in message.body and "&amp;" not in message.body + message.subject
    name, content, mimetype = message.attachments[0]
    assert name == f"receipt-{order.pk}.json" and mimetype == "application/json"
    assert receipts.verify_receipt(json.loads(content))


def test_declined_card_leaves_the_order_open(client, buyer):
    order = reserve(buyer, widget())
    checkout = urlsplit(client.post(f"/orders/{order.pk}/pay/")["Location"]).path
    back = client.post(checkout, {"outcome": "decline"}, follow=True)
    assert "declined" in text(back) and "Held for you for" in text(back)
    order.refresh_from_db()
    assert order.status == Order.Status.RESERVED


def test_returning_before_confirmation_says_we_are_confirming(client, buyer):
    order = reserve(buyer, widget())
    client.post(f"/orders/{order.pk}/pay/")
    html = text(client.get(f"/orders/{order.pk}/?paid=1"))
    assert "Confirming your payment" in html and 'http-equiv="refresh"' in html


def test_cancel_releases_the_stock(client, buyer):
    item = widget()
    order = reserve(buyer, item, qty=3)
    assert availability([f"widget:{item}"]) == 2
    html = text(client.post(f"/orders/{order.pk}/cancel/", follow=True))
    assert "Order cancelled" in html and "Nothing was charged" in html
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and availability([f"widget:{item}"]) == 5
    html = text(client.post(f"/orders/{order.pk}/pay/", follow=True))
    assert "expired" in html  # a cancelled order cannot be paid
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_expired_hold_is_shown_and_cannot_be_paid(client, buyer):
    order = reserve(buyer, widget())
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    html = text(client.get(f"/orders/{order.pk}/"))
    assert "Reservation expired" in html and f'action="/orders/{order.pk}/pay/"' not in html
    html = text(client.post(f"/orders/{order.pk}/pay/", follow=True))
    assert "expired" in html
    assert Order.objects.get(pk=order.pk).status == Order.Status.EXPIRED


def test_cancel_a_paid_order_is_refused_with_a_message(client, buyer):
    order = pay(reserve(buyer, widget()))
    html = text(client.post(f"/orders/{order.pk}/cancel/", follow=True))
    assert "ask the creator for a refund" in html
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID


def test_zero_total_is_paid_at_once(client, buyer):
    order = reserve(buyer, widget(price="0"))
    assert "Get my free tickets" in text(client.get(f"/orders/{order.pk}/"))
    response = client.post(f"/orders/{order.pk}/pay/")
    assert response["Location"] == f"/orders/{order.pk}/"
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID


# --- access ----------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_log_in(client):
    order = reserve(UserFactory(), widget())
    for url in (f"/orders/{order.pk}/", "/orders/", f"/orders/{order.pk}/receipt/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_other_peoples_orders_are_404(client):
    owner = UserFactory()
    order = pay(reserve(owner, widget()))
    open_order = reserve(owner, widget())
    client.force_login(UserFactory())
    for url in (f"/orders/{order.pk}/", f"/orders/{order.pk}/receipt/", f"/orders/{order.pk}/receipt.json",
                "/orders/ord_does_not_exist/", "/orders/ord_does_not_exist/receipt.json"):
        assert client.get(url).status_code == 404, url
    for url in (f"/orders/{open_order.pk}/pay/", f"/orders/{open_order.pk}/cancel/"):
        assert client.post(url).status_code == 404, url
    assert Order.objects.get(pk=open_order.pk).status == Order.Status.RESERVED
    assert order.pk not in text(client.get("/orders/"))


def test_creator_team_sees_the_order_but_cannot_pay_or_cancel_it(client):
    creator = CreatorFactory()
    order = reserve(UserFactory(), widget(creator=creator))
    client.force_login(team_member(creator, Role.MANAGER))
    html = text(client.get(f"/orders/{order.pk}/"))
    assert "team" in html and f'action="/orders/{order.pk}/pay/"' not in html
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert Order.objects.get(pk=order.pk).status == Order.Status.RESERVED


def test_get_on_pay_and_cancel_is_refused(client, buyer):
    order = reserve(buyer, widget())
    assert client.get(f"/orders/{order.pk}/pay/").status_code == 405
    assert client.get(f"/orders/{order.pk}/cancel/").status_code == 405


def test_orders_list_shows_mine_newest_first(client, buyer):
    first = reserve(buyer, widget())
    second = pay(reserve(buyer, widget(price="3.00")))
    reserve(UserFactory(), widget())
    html = text(client.get("/orders/"))
    assert html.index(second.pk) < html.index(first.pk)
    assert "Paid" in html and "Reserved" in html and html.count("/orders/ord_") == 2
    assert client.get("/orders/", {"page": "zzz"}).status_code == 200


# --- receipts ----------------------------------------------------------------------------------------

def _b64(text_value: str) -> bytes:
    return base64.urlsafe_b64decode(text_value + "=" * (-len(text_value) % 4))


def test_receipt_page_is_printable_and_documents_verification(client, buyer):
    order = pay(reserve(buyer, widget()))
    html = text(client.get(f"/orders/{order.pk}/receipt/"))
    assert "Receipt" in html and order.pk in html and "€25.00" in html and buyer.email in html
    assert "data-print" in html and "/.well-known/microstage-signing-key" in html and "canonical JSON" in html


def test_no_receipt_before_payment(client, buyer):
    order = reserve(buyer, widget())
    assert client.get(f"/orders/{order.pk}/receipt/").status_code == 404
    assert client.get(f"/orders/{order.pk}/receipt.json").status_code == 404
    assert "receipt.json" not in text(client.get(f"/orders/{order.pk}/"))


def test_signed_receipt_verifies_with_the_published_key_and_fails_when_tampered(client, buyer):
    order = pay(reserve(buyer, widget()))
    key_doc = client.get("/.well-known/microstage-signing-key").json()
    assert key_doc["algorithm"] == "Ed25519"
    raw_key = _b64(key_doc["public_key"])
    assert len(raw_key) == 32
    public_key = Ed25519PublicKey.from_public_bytes(raw_key)

    doc = client.get(f"/orders/{order.pk}/receipt.json").json()
    receipt = doc["receipt"]
    assert receipt["order"] == order.pk and receipt["buyer_email"] == buyer.email
    assert receipt["creator"]["id"] == order.creator_id and receipt["currency"] == "EUR"
    assert receipt["total"] == "25.00" and receipt["lines"][0]["quantity"] == 2
    assert receipt["lines"][0]["unit_price"] == "12.50"
    assert receipt["paid_at"] and receipt["issued_at"]
    signed = json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert signed == canonical_json(receipt)
    public_key.verify(_b64(doc["signature"]), signed)  # raises if it does not verify

    tampered = bytearray(signed)
    at = signed.index(b'"total":"25.00"') + len(b'"total":"')
    tampered[at] = ord("9")  # 25.00 -> 95.00: one byte changed
    with pytest.raises(InvalidSignature):
        public_key.verify(_b64(doc["signature"]), bytes(tampered))
    bad_sig = bytearray(_b64(doc["signature"]))
    bad_sig[0] ^= 1
    with pytest.raises(InvalidSignature):
        public_key.verify(bytes(bad_sig), signed)
    assert not receipts.verify_receipt({**doc, "receipt": {**receipt, "buyer_email": "evil@example.com"}})


def test_signing_key_is_public_and_cacheable(client):
    response = client.get("/.well-known/microstage-signing-key")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "public" in response["Cache-Control"] and response["Access-Control-Allow-Origin"] == "*"
    assert set(response.json()) >= {"algorithm", "public_key"}
