"""The creator's ledger: sales, fees, refunds exact to the cent; balances; payouts that never overdraw; pages;
capture and refund webhooks delivered twice and out of order; Connect destination charges."""
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services
from payouts import money
from commerce.models import Order
from payouts.models import LedgerEntry, PayoutProfile
from commerce.services import LineRequest
from microstage.errors import Conflict
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

from commerce.tests.helpers import KIND, run_together
from commerce.tests.money_helpers import awaiting_stripe, charge_refunded, intent_succeeded
from microstage.permissions import SYSTEM

D = Decimal


def entries(order_id) -> list[tuple[str, Decimal]]:
    return sorted((e.kind, e.amount) for e in LedgerEntry.objects.filter(order_id=order_id))


def two_line_order(catalog) -> Order:
    catalog.add("a", {"pool:a": 10}, price="10.00")
    catalog.add("b", {"pool:b": 10}, price="19.99")
    return services.reserve(requests=[LineRequest(KIND, "a", 1), LineRequest(KIND, "b", 1)], buyer=UserFactory())


def test_platform_fee_rounds_half_up(settings):
    settings.PLATFORM_FEE_PERCENT = D("5")
    assert money.platform_fee(D("29.99")) == D("1.50")  # 1.4995
    assert money.platform_fee(D("0.10")) == D("0.01")   # 0.005
    assert money.platform_fee(D("0.09")) == D("0.00")   # 0.0045


def test_pay_then_partial_then_full_refund_exact_to_the_cent(catalog, sandbox):
    order = two_line_order(catalog)
    services.sandbox_pay(order.pk)
    services.sandbox_pay(order.pk)  # twice: nothing twice
    assert entries(order.pk) == [("fee", D("-1.50")), ("sale", D("29.99"))]
    b = order.lines.get(item_id="b")
    services.refund(order.pk, line_ids=[b.pk], actor=SYSTEM)
    # 19.99 of 29.99 refunded: fee returned = 1.50 × 19.99 / 29.99 = 0.9998… → 1.00
    assert entries(order.pk) == [("fee", D("-1.50")), ("fee", D("1.00")), ("refund", D("-19.99")),
                                 ("sale", D("29.99"))]
    bal = money.balance(order.creator_id, "EUR")
    assert (bal.gross, bal.fees, bal.refunds, bal.net, bal.available) == (
        D("29.99"), D("-0.50"), D("-19.99"), D("9.50"), D("9.50"))
    services.refund(order.pk, actor=SYSTEM)  # the rest
    assert entries(order.pk) == [("fee", D("-1.50")), ("fee", D("0.50")), ("fee", D("1.00")),
                                 ("refund", D("-19.99")), ("refund", D("-10.00")), ("sale", D("29.99"))]
    bal = money.balance(order.creator_id, "EUR")
    assert (bal.gross, bal.fees, bal.refunds, bal.net) == (D("29.99"), D("0.00"), D("-29.99"), D("0.00"))


def test_zero_total_orders_leave_no_entries(catalog, sandbox):
    catalog.add("free", {"pool:f": 5}, price="0.00")
    order = services.reserve(requests=[LineRequest(KIND, "free", 1)], buyer=UserFactory())
    services.checkout(order.pk)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()


def test_balances_per_currency_and_net_by_day(catalog, sandbox):
    catalog.add("eur", {"pool:e": 5}, price="10.00")
    catalog.add("usd", {"pool:u": 5}, price="8.00", currency="USD")
    for item in ("eur", "usd", "usd"):
        services.sandbox_pay(services.reserve(requests=[LineRequest(KIND, item, 1)], buyer=UserFactory()).pk)
    by = {b.currency: b for b in money.balances(catalog.creator_id)}
    assert by["EUR"].net == D("9.50") and by["USD"].net == D("15.20")
    days = money.net_by_day(catalog.creator_id, "USD")
    assert len(days) == 30 and days[-1][1] == D("15.20") and sum(v for _, v in days) == D("15.20")


def test_payout_never_more_than_available(catalog, sandbox):
    catalog.add("a", {"pool:a": 5}, price="20.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    services.sandbox_pay(order.pk)  # available 19.00
    with pytest.raises(Conflict) as exc:
        money.record_payout(creator_id=order.creator_id, amount="19.01", currency="EUR", key="k1")
    assert exc.value.code == "insufficient_balance"
    money.record_payout(creator_id=order.creator_id, amount="19.00", currency="EUR", key="k2")
    money.record_payout(creator_id=order.creator_id, amount="19.00", currency="EUR", key="k2")  # double submit
    bal = money.balance(order.creator_id, "EUR")
    assert bal.payouts == D("-19.00") and bal.available == D("0.00")


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_payouts_cannot_overdraw(catalog, sandbox):
    catalog.add("a", {"pool:a": 5}, price="20.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    services.sandbox_pay(order.pk)  # available 19.00
    results, errors = run_together([
        lambda k=k: money.record_payout(creator_id=order.creator_id, amount="15.00", currency="EUR", key=k)
        for k in ("p1", "p2")])
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], Conflict)
    assert money.balance(order.creator_id, "EUR").available == D("4.00")


# --- webhooks: captures and refunds, twice and out of order ------------------------------------

def test_capture_and_refund_webhooks_twice_change_nothing_twice(catalog, fake_stripe):
    order = two_line_order(catalog)
    payment = awaiting_stripe(order, "pi_money_1")
    assert intent_succeeded(payment, "evt_cap") == 200
    assert intent_succeeded(payment, "evt_cap") == 200  # the same event again
    assert intent_succeeded(payment, "evt_cap_other") == 200  # a different event meaning the same
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert entries(order.pk) == [("fee", D("-1.50")), ("sale", D("29.99"))]
    services.refund(order.pk, line_ids=[order.lines.get(item_id="b").pk], actor=SYSTEM)
    assert [p for p, _ in fake_stripe.requests] == ["/v1/refunds"]
    before = entries(order.pk)
    # Stripe's own charge.refunded for the refund we made, delivered twice, then an older one (less refunded).
    assert charge_refunded(payment, "evt_ref", D("19.99")) == 200
    assert charge_refunded(payment, "evt_ref", D("19.99")) == 200
    assert charge_refunded(payment, "evt_ref_old", D("0.00")) == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_total == D("19.99")
    assert entries(order.pk) == before
    assert len(fake_stripe.requests) == 1


def test_capture_told_after_a_stale_refund_pays_once(catalog, fake_stripe):
    """Out of order: a refund notice before the capture finds nothing captured and changes nothing; the
    capture then pays the order once, and the refund notice replayed stays handled."""
    order = two_line_order(catalog)
    payment = awaiting_stripe(order, "pi_money_2")
    assert charge_refunded(payment, "evt_early_ref", D("0.00")) == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
    assert intent_succeeded(payment, "evt_cap2") == 200
    assert charge_refunded(payment, "evt_early_ref", D("0.00")) == 200
    assert intent_succeeded(payment, "evt_cap2") == 200
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert entries(order.pk) == [("fee", D("-1.50")), ("sale", D("29.99"))]


# --- Stripe Connect ----------------------------------------------------------------------------

def test_connect_destination_charge_parameters_and_ledger(catalog, fake_stripe, settings, monkeypatch):
    from microstage.models import Creator

    settings.STRIPE_CONNECT = True
    catalog.add("a", {"pool:a": 5}, price="30.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    Creator.objects.filter(pk=order.creator_id).update(stripe_account="acct_creator_1")  # set by staff
    PayoutProfile.objects.create(creator_id=order.creator_id, charges_enabled=True)  # Stripe enabled charges
    result = services.checkout(order.pk)
    assert result.checkout_url == "https://checkout.stripe.test/pay"
    path, form = fake_stripe.requests[-1]
    assert path == "/v1/checkout/sessions"
    assert form["payment_intent_data[transfer_data][destination]"] == "acct_creator_1"
    assert form["payment_intent_data[application_fee_amount]"] == "150"
    payment = Order.objects.get(pk=order.pk).payment
    payment.provider_reference = "pi_connect_1"
    payment.save(update_fields=["provider_reference"])
    assert intent_succeeded(payment, "evt_connect_paid") == 200
    # The money sits in the creator's Stripe balance; the scheduled payout sends it to their bank (test_payouts).
    assert entries(order.pk) == [("fee", D("-1.50")), ("sale", D("30.00"))]
    assert "destination charge" in LedgerEntry.objects.get(key=f"sale:{order.pk}").note


def test_without_connect_setting_no_destination(catalog, fake_stripe, settings, monkeypatch):
    settings.STRIPE_CONNECT = False
    monkeypatch.setattr(money, "connected_account_for", lambda creator_id: "acct_creator_1")
    catalog.add("a", {"pool:a": 5}, price="30.00")
    services.checkout(services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory()).pk)
    _, form = fake_stripe.requests[-1]
    assert not any("transfer_data" in k or "application_fee" in k for k in form)


# --- pages --------------------------------------------------------------------------------------

def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_money_page_for_owner_and_manager_only(catalog, sandbox):
    from microstage.models import Creator

    creator = Creator.objects.get(pk=catalog.creator_id)
    catalog.add("a", {"pool:a": 5}, price="20.00")
    services.sandbox_pay(services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory()).pk)
    for role in (Role.OWNER, Role.MANAGER):
        page = _client(team_member(creator, role)).get("/dashboard/money/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Net revenue per day" in html and "19.00" in html and 'data-available="19.00"' in html
        assert "Record a payout" not in html  # staff only
    for role in (Role.DOOR, Role.MODERATOR):
        assert _client(team_member(creator, role)).get("/dashboard/money/").status_code == 302
    stranger = _client(UserFactory())
    assert stranger.get("/dashboard/money/").status_code == 302
    assert stranger.post("/dashboard/money/payouts/", {"amount": "1.00", "currency": "EUR", "key": "x"}
                         ).status_code == 302
    assert Client().get("/dashboard/money/").status_code == 302
    assert not LedgerEntry.objects.filter(kind="payout").exists()


def test_staff_records_a_payout_from_the_page(catalog, sandbox):
    from microstage.models import Creator

    creator = Creator.objects.get(pk=catalog.creator_id)
    catalog.add("a", {"pool:a": 5}, price="20.00")
    services.sandbox_pay(services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory()).pk)
    owner = team_member(creator, Role.OWNER)
    assert _client(owner).post("/dashboard/money/payouts/", {"amount": "5", "currency": "EUR", "key": "a1"}
                               ).status_code == 302
    assert not LedgerEntry.objects.filter(kind="payout").exists()  # not staff
    staff = team_member(creator, Role.MANAGER, UserFactory(is_staff=True))
    client = _client(staff)
    assert "Record a payout" in client.get("/dashboard/money/").content.decode()
    for data in ({"amount": "abc", "currency": "EUR", "key": "b0"}, {"amount": "99", "currency": "EUR", "key": "b1"}):
        assert client.post("/dashboard/money/payouts/", data).status_code == 302
    assert not LedgerEntry.objects.filter(kind="payout").exists()
    client.post("/dashboard/money/payouts/", {"amount": "12.50", "currency": "EUR", "key": "b2", "note": "IBAN x"})
    assert money.balance(creator.pk, "EUR").available == D("6.50")
