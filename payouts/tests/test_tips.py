"""Tips: validation, the watch page's form through the sandbox checkout, the Tip and the ledger once."""
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services
from payouts import money
from commerce.models import Order
from payouts.models import LedgerEntry, Tip
from microstage.errors import Invalid, NotFound
from microstage.tests.factories import CreatorFactory, UserFactory

D = Decimal


@pytest.fixture
def sandbox(db, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.DEFAULT_CURRENCY = "EUR"


@pytest.mark.parametrize("amount", ["0.49", "1000.01", "abc", "", "5.001", "NaN", "-5", None, "Infinity"])
def test_bad_amounts_are_refused(db, amount):
    with pytest.raises(Invalid):
        money.create_tip_order(user=UserFactory(), creator_id=CreatorFactory().pk, amount=amount)
    assert not Order.objects.exists()


@pytest.mark.parametrize("kw", [{"currency": "JPY"}, {"currency": "E1"}, {"message": "x" * 201},
                                {"event_id": "../evil"}])
def test_bad_fields_are_refused(db, kw):
    with pytest.raises(Invalid):
        money.create_tip_order(user=UserFactory(), creator_id=CreatorFactory().pk, amount="5.00", **kw)


def test_unknown_creator(db):
    with pytest.raises(NotFound):
        money.create_tip_order(user=UserFactory(), creator_id="cre_nope", amount="5.00")


def test_tip_paid_once_in_the_sandbox(sandbox):
    creator, fan = CreatorFactory(), UserFactory()
    order = money.create_tip_order(user=fan, creator_id=creator.pk, amount="0.50", event_id="evt_abc123",
                                   message="  Great   show! ")
    assert (order.total, order.currency, order.status) == (D("0.50"), "EUR", "reserved")
    assert not Tip.objects.exists()  # only once paid
    services.sandbox_pay(order.pk)
    services.sandbox_pay(order.pk)
    tip = Tip.objects.get()
    assert (tip.creator_id, tip.user_id, tip.amount, tip.event_id, tip.message) == (
        creator.pk, fan.pk, D("0.50"), "evt_abc123", "Great show!")
    assert sorted(LedgerEntry.objects.filter(order=order).values_list("kind", "amount")) == [
        ("fee", D("-0.03")), ("sale", D("0.50"))]  # 0.025 rounds half-up


def test_tip_form_end_to_end(sandbox):
    creator, fan = CreatorFactory(), UserFactory()
    client = Client()
    client.force_login(fan)
    answer = client.post(f"/tips/{creator.pk}/", {"amount": "custom", "custom_amount": "7,50", "message": "Encore",
                                                  "event": "evt_show1", "next": "/watch/some-show/"})
    assert answer.status_code == 302 and "/payments/sandbox/checkout/" in answer["Location"]
    order = Order.objects.get()
    assert order.total == D("7.50") and order.status == "awaiting_payment"
    # The sandbox's Pay button sends the payer back to the watch page in its thank-you state.
    paid = client.post(answer["Location"], {"outcome": "pay"})
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert Tip.objects.get().message == "Encore"
    assert paid.status_code in (200, 302)
    bal = money.balance(creator.pk, "EUR")
    assert (bal.gross, bal.fees) == (D("7.50"), D("-0.38"))


def test_tip_form_errors_go_back_with_a_message(sandbox):
    creator = CreatorFactory()
    client = Client()
    client.force_login(UserFactory())
    for data in ({"amount": "0.10"}, {"amount": "custom", "custom_amount": ""}, {"amount": "5", "message": "x" * 300}):
        answer = client.post(f"/tips/{creator.pk}/", {**data, "next": "https://evil.example/"})
        assert answer.status_code == 302 and answer["Location"].startswith("/#tip")
    assert client.post("/tips/cre_missing/", {"amount": "5"}).status_code == 302
    assert not Order.objects.exists()
    anonymous = Client().post(f"/tips/{creator.pk}/", {"amount": "5"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
