"""Commerce pages in German: with Accept-Language "de" the order, receipt, orders, cart, shop and money
pages speak German (dates in the German formats); without it they stay English. The order emails are
written in the buyer's language."""
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import formats, timezone, translation

from commerce import emails, sellables, services
from commerce.models import Order
from commerce.sellables import Offer
from commerce.services import LineRequest
from microstage.models import Role
from microstage.money import format_money
from microstage.payments import services as payments
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db

KIND = "i18n-widget"
_items: dict[str, tuple[str, Decimal]] = {}
DE = {"HTTP_ACCEPT_LANGUAGE": "de"}


def eur(value) -> str:
    """An amount as the German pages write it (12,50 €)."""
    return format_money(value, "EUR", locale="de")


def _offer(item_id, quantity, buyer):
    creator_id, price = _items[item_id]
    return Offer(kind=KIND, item_id=item_id, creator_id=creator_id, description=f"Poster {item_id}",
                 unit_price=price, currency="EUR", pools={f"i18n-widget:{item_id}": 5})


@pytest.fixture(autouse=True)
def widget_kind():
    sellables.register(KIND, offer=_offer)
    yield
    _items.clear()


def widget(creator, price="12.50") -> str:
    item_id = f"w{len(_items)}"
    _items[item_id] = (creator.pk, Decimal(price))
    return item_id


def reserve(buyer, item, qty=2) -> Order:
    return services.reserve(requests=[LineRequest(KIND, item, qty)], buyer=buyer, email=buyer.email)


def pay(order) -> Order:
    result = services.checkout(order.pk)
    payments.sandbox_complete(result.order.payment, "pay")
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def creator():
    return CreatorFactory(name="Night Owls", slug="night-owls")


@pytest.fixture
def buyer(client):
    user = UserFactory()
    client.force_login(user)
    return user


def page(client, url, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


def test_open_order_in_german_and_in_english(client, buyer, creator):
    order = reserve(buyer, widget(creator))
    german = page(client, f"/orders/{order.pk}/", **DE)
    assert "Fast geschafft" in german and "Für Sie reserviert für" in german
    assert "Bestellübersicht" in german and "Stornieren und Tickets freigeben" in german
    assert f"je {eur('12.50')}" in german and "Summe" in german
    assert 'data-countdown-done="Die Zeit ist abgelaufen – laden Sie die Seite neu."' in german
    assert "Held for you for" not in german and "Order summary" not in german
    english = page(client, f"/orders/{order.pk}/")
    assert "Held for you for" in english and "Order summary" in english and "Bestellübersicht" not in english


def test_paid_order_receipt_and_orders_list_in_german(client, buyer, creator):
    order = pay(reserve(buyer, widget(creator)))
    german = page(client, f"/orders/{order.pk}/", **DE)
    assert "Sie sind dabei!" in german and "Beleg ansehen und drucken" in german
    receipt = page(client, f"/orders/{order.pk}/receipt/", **DE)
    with translation.override("de"):
        paid = formats.date_format(timezone.localtime(order.paid_at), "DATETIME_FORMAT")
    assert paid in receipt
    for words in ("Rechnungsempfänger", "Verkäufer", "Bezahlt am", "Drucken oder als PDF speichern",
                  "So prüfen Sie, ob dieser Beleg echt ist", "Signierter Beleg (JSON)"):
        assert words in receipt, words
    assert "Billed to" not in receipt and "Print or save as PDF" not in receipt
    assert f'doc = json.load(open("receipt-{order.pk}.json"))' in receipt  # the sample code keeps its values
    assert "/.well-known/microstage-signing-key\"))" in receipt
    orders = page(client, "/orders/", **DE)
    assert "Ihre Bestellungen" in orders and "Meine Tickets" in orders


def test_empty_cart_in_german(client, buyer):
    html = page(client, "/cart/", **DE)
    assert "Ihr Warenkorb ist leer" in html and "Show finden" in html


def test_money_and_stock_dashboards_in_german(creator):
    client = Client()
    client.force_login(team_member(creator, Role.OWNER))
    money = page(client, "/dashboard/money/", **DE)
    for words in ("Finanzen", "Auszahlungen", "Nettoumsatz pro Tag, letzte 30 Tage", "Offene Rückbuchungen",
                  "Auszahlungskonto", "Journal"):
        assert words in money, words
    assert "Net revenue per day" not in money
    stock = page(client, "/dashboard/products/stock/", **DE)
    assert "Standorte" in stock and "Standort hinzufügen" in stock
    products = page(client, "/dashboard/products/", **DE)
    assert "Noch keine Produkte" in products and "Erstes Produkt hinzufügen" in products


def test_order_emails_in_the_buyers_language(buyer, creator):
    order = pay(reserve(buyer, widget(creator)))
    buyer.language = "de"
    buyer.save(update_fields=["language"])
    emails.send_order_email(order.pk, "paid")
    with translation.override("de"):
        paid = formats.date_format(timezone.localtime(order.paid_at), "DATETIME_FORMAT")
    message = mail.outbox[-1]
    assert "Ihr Beleg: Ihre Bestellung bei Night Owls ist bestätigt" in message.subject
    for words in ("Vielen Dank! Ihre Bestellung bei Night Owls ist bezahlt.", "BELEG", "Rechnungsempfänger:",
                  f"Bezahlt am: {paid} UTC", f"je {eur('12.50')} – {eur('25.00')}",
                  f"Summe: {eur('25.00')} (EUR)", "Druckbarer Beleg:"):
        assert words in message.body, words
    buyer.language = "en"
    buyer.save(update_fields=["language"])
    emails.send_order_email(order.pk, "paid")
    assert "RECEIPT" in mail.outbox[-1].body and "Billed to:" in mail.outbox[-1].body
