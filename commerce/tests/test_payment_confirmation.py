"""Payment confirmations act once (twice delivered, concurrent, late, forged) and refunds give back once."""
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services
from commerce.models import Order
from commerce.models.inventory import Hold, Inventory
from commerce.services import LineRequest
from microstage.errors import Conflict, Invalid
from microstage.payments import services as payments
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment, ProcessedEvent
from microstage.tests.factories import UserFactory
from microstage.tests.test_payments_helpers import post_webhook, signed_headers, stripe_event

from .helpers import KIND, buy, run_together, taken
from .test_holds import lapse
from microstage.permissions import SYSTEM


def sold(key: str) -> int:
    return Inventory.objects.get(key=key).sold


def started(order: Order) -> Payment:
    """Start the sandbox checkout of an order; its pending Payment."""
    services.checkout(order.pk)
    return Order.objects.get(pk=order.pk).payment


def money_kept(order: Order) -> Decimal:
    """What the buyer paid for this order and did not get back, over every payment made for it."""
    return sum((p.captured_amount - p.refunded_amount for p in Payment.objects.filter(reference=order.pk)),
               Decimal("0"))


@pytest.mark.django_db
class TestDeliveredTwice:
    def test_sandbox_confirmation_twice_pays_once(self, catalog, sandbox):
        order = buy(catalog.add("t", {"tier:t": 5}), 2)
        payment = started(order)
        payments.sandbox_complete(payment, "pay")
        payments.sandbox_complete(payment, "pay")
        order.refresh_from_db()
        assert order.status == Order.Status.PAID and order.paid_at
        assert sold("tier:t") == 2
        assert len(catalog.names("paid")) == 1
        assert ProcessedEvent.objects.filter(payment=payment).count() == 1
        assert set(Hold.objects.filter(order=order).values_list("status", flat=True)) == {Hold.Status.CONVERTED}

    def test_gateway_event_twice_and_a_second_event_meaning_the_same(self, catalog, sandbox):
        order = buy(catalog.add("t", {"tier:t": 5}), 1)
        payment = started(order)
        event = PaymentEvent("sandbox", "evt_same", Kind.CAPTURED, payment_id=payment.pk, amount=payment.amount)
        assert payments.handle_event(event) is not None
        assert payments.handle_event(event) is None  # the same event: already handled
        payments.handle_event(PaymentEvent("sandbox", "evt_other", Kind.CAPTURED, payment_id=payment.pk))
        payments.sandbox_complete(payment, "pay")
        assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
        assert sold("tier:t") == 1
        assert len(catalog.names("paid")) == 1

    def test_sandbox_pay_twice(self, catalog, sandbox):
        order = buy(catalog.add("t", {"tier:t": 5}), 3)
        services.sandbox_pay(order.pk)
        services.sandbox_pay(order.pk)
        assert sold("tier:t") == 3
        assert len(catalog.names("paid")) == 1
        assert Payment.objects.filter(reference=order.pk).count() == 1
        assert money_kept(order) == order.total == Decimal("30.00")

    def test_free_order_checkout_twice(self, catalog, sandbox):
        order = buy(catalog.add("free", {"tier:free": 5}, price="0"), 2)
        assert services.checkout(order.pk).order.status == Order.Status.PAID
        assert services.checkout(order.pk).order.status == Order.Status.PAID
        assert sold("tier:free") == 2 and len(catalog.names("paid")) == 1
        assert Payment.objects.count() == 0


@pytest.mark.django_db
class TestStripeWebhook:
    @pytest.fixture
    def awaiting(self, catalog, stripe_settings):
        order = buy(catalog.add("s", {"tier:s": 5}), 2)
        payment = Payment.objects.create(provider="stripe", amount=order.total, currency=order.currency,
                                         purpose=services.PURPOSE, reference=order.pk, provider_reference="pi_rush")
        Order.objects.filter(pk=order.pk).update(status=Order.Status.AWAITING_PAYMENT, payment=payment)
        body = stripe_event("evt_rush", "payment_intent.succeeded", {
            "id": "pi_rush", "object": "payment_intent", "status": "succeeded", "amount": 4000,
            "amount_received": 4000, "currency": "eur", "metadata": {"payment_id": payment.pk}})
        return order, payment, body

    def state(self, order, payment, catalog):
        return (Order.objects.get(pk=order.pk).status, Payment.objects.get(pk=payment.pk).status,
                ProcessedEvent.objects.count(), sold("tier:s"), len(catalog.calls))

    def test_bad_signature_is_refused_and_changes_nothing(self, awaiting, catalog):
        order, payment, body = awaiting
        before = self.state(order, payment, catalog)
        tampered = body.replace(b"4000", b"1")
        for data, headers in [(body, signed_headers(body, secret="whsec_someone_else")),
                              (body, {}),
                              (body, {"HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"}),
                              (tampered, signed_headers(body)),
                              (body, signed_headers(body, timestamp=1_000_000_000))]:  # replayed from 2001
            assert post_webhook(Client(), data, headers).status_code == 400
        assert self.state(order, payment, catalog) == before == (Order.Status.AWAITING_PAYMENT,
                                                                 Payment.Status.PENDING, 0, 0, 0)

    def test_signed_webhook_delivered_twice_pays_once(self, awaiting, catalog):
        order, payment, body = awaiting
        assert post_webhook(Client(), body, signed_headers(body)).status_code == 200
        assert post_webhook(Client(), body, signed_headers(body)).status_code == 200
        assert self.state(order, payment, catalog) == (Order.Status.PAID, Payment.Status.CAPTURED, 1, 2, 1)


@pytest.mark.django_db(transaction=True)
class TestConcurrentConfirmations:
    def test_same_confirmation_from_four_threads(self, catalog, sandbox):
        order = buy(catalog.add("c", {"tier:c": 5}), 2)
        payment = started(order)
        results, errors = run_together([lambda: payments.sandbox_complete(payment.pk, "pay")] * 4)
        assert errors == []
        assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
        assert sold("tier:c") == 2
        assert len(catalog.names("paid")) == 1

    def test_double_click_on_pay(self, catalog, sandbox):
        """sandbox_pay from four threads at once (a double-clicked Pay button): paid and charged once."""
        order = buy(catalog.add("d", {"tier:d": 5}), 2)
        results, errors = run_together([lambda: services.sandbox_pay(order.pk)] * 4)
        assert errors == []
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        assert sold("tier:d") == 2
        assert len(catalog.names("paid")) == 1
        assert money_kept(order) == order.total  # a second checkout's money, if taken, is given back

    def test_two_refunds_at_once_give_back_once(self, catalog, sandbox):
        order = buy(catalog.add("r", {"tier:r": 5}), 2)
        services.sandbox_pay(order.pk)
        results, errors = run_together([lambda: services.refund(order.pk, actor=SYSTEM)] * 3)
        assert len(results) == 1
        assert len(errors) == 2 and all(isinstance(e, Conflict) for e in errors)
        payment = Payment.objects.get(reference=order.pk)
        assert payment.refunded_amount == order.total and payment.status == Payment.Status.REFUNDED
        assert sold("tier:r") == 0
        assert len(catalog.names("refunded")) == 1


@pytest.mark.django_db
class TestLatePayment:
    def test_stock_taken_by_someone_else_is_refunded_never_oversold(self, catalog, sandbox,
                                                                   django_capture_on_commit_callbacks):
        item = catalog.add("l", {"tier:l": 2})
        late = buy(item, 2)
        payment = started(late)
        lapse(late)
        other = buy(item, 2)  # the stock went to someone else
        with django_capture_on_commit_callbacks(execute=True):
            payments.sandbox_complete(payment, "pay")
        late.refresh_from_db()
        payment.refresh_from_db()
        assert late.status == Order.Status.REFUNDED
        assert late.refunded_total == late.total and "refunded" in late.note
        assert payment.status == Payment.Status.REFUNDED and payment.refunded_amount == late.total
        assert money_kept(late) == 0
        assert catalog.names("paid") == []
        assert sold("tier:l") == 0 and taken("tier:l") == 2

        services.sandbox_pay(other.pk)  # the other buyer still gets theirs
        assert sold("tier:l") == 2
        with pytest.raises(Conflict):  # and the refunded order cannot be refunded again
            services.refund(late.pk, actor=SYSTEM)

    def test_stock_still_free_is_paid(self, catalog, sandbox):
        item = catalog.add("f", {"tier:f": 2})
        late = buy(item, 2)
        payment = started(late)
        lapse(late)
        payments.sandbox_complete(payment, "pay")
        late.refresh_from_db()
        assert late.status == Order.Status.PAID
        assert sold("tier:f") == 2 and taken("tier:f") == 2
        assert len(catalog.names("paid")) == 1
        with pytest.raises(Conflict):
            buy(item, 1)

    def test_paid_after_it_was_marked_expired(self, catalog, sandbox):
        item = catalog.add("e", {"tier:e": 2})
        late = buy(item, 1)
        payment = started(late)
        lapse(late)
        with pytest.raises(Conflict):
            services.checkout(late.pk)
        assert Order.objects.get(pk=late.pk).status == Order.Status.EXPIRED
        payments.sandbox_complete(payment, "pay")  # the payer was already on the provider's page
        assert Order.objects.get(pk=late.pk).status == Order.Status.PAID
        assert sold("tier:e") == 1


@pytest.mark.django_db
class TestRefunds:
    @pytest.fixture
    def paid(self, catalog, sandbox):
        room = {"venue:hall": 10}
        a = catalog.add("a", {"tier:a": 8, **room}, price="10.00")
        b = catalog.add("b", {"tier:b": 8, **room}, price="25.00")
        order = services.reserve(requests=[LineRequest(KIND, a, 3), LineRequest(KIND, b, 2)], buyer=UserFactory())
        services.sandbox_pay(order.pk)
        assert (sold("tier:a"), sold("tier:b"), sold("venue:hall")) == (3, 2, 5)
        return Order.objects.get(pk=order.pk)

    def test_whole_order(self, paid, catalog):
        order = services.refund(paid.pk, reason="Changed plans", actor=SYSTEM)
        assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("80.00")
        assert (sold("tier:a"), sold("tier:b"), sold("venue:hall")) == (0, 0, 0)
        assert sorted(c[2] for c in catalog.names("refunded")) == [2, 3]
        payment = Payment.objects.get(pk=paid.payment_id)
        assert payment.status == Payment.Status.REFUNDED and payment.refunded_amount == Decimal("80.00")

        with pytest.raises(Conflict) as exc:
            services.refund(paid.pk, actor=SYSTEM)
        assert exc.value.code == "not_refundable"
        payment.refresh_from_db()
        assert payment.refunded_amount == Decimal("80.00") and len(catalog.names("refunded")) == 2
        assert buy("a", 8).status == Order.Status.RESERVED  # the stock is back

    def test_per_line(self, paid, catalog):
        line_a, line_b = paid.lines.order_by("position")
        order = services.refund(paid.pk, line_ids=[line_a.pk], actor=SYSTEM)
        assert order.status == Order.Status.PARTIALLY_REFUNDED and order.refunded_total == Decimal("30.00")
        assert (sold("tier:a"), sold("tier:b"), sold("venue:hall")) == (0, 2, 2)
        payment = Payment.objects.get(pk=paid.payment_id)
        assert payment.status == Payment.Status.PARTIALLY_REFUNDED and payment.refunded_amount == Decimal("30.00")

        with pytest.raises(Conflict) as exc:
            services.refund(paid.pk, line_ids=[line_a.pk], actor=SYSTEM)
        assert exc.value.code == "already_refunded"
        assert sold("venue:hall") == 2

        order = services.refund(paid.pk, line_ids=[line_b.pk, line_b.pk], actor=SYSTEM)
        assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("80.00")
        assert (sold("tier:a"), sold("tier:b"), sold("venue:hall")) == (0, 0, 0)
        payment.refresh_from_db()
        assert payment.refunded_amount == Decimal("80.00") and payment.status == Payment.Status.REFUNDED
        assert [(c[1], c[2]) for c in catalog.names("refunded")] == [(line_a.pk, 3), (line_b.pk, 2)]

    def test_unknown_line_changes_nothing(self, paid):
        with pytest.raises(Invalid):
            services.refund(paid.pk, line_ids=["lin_nope"], actor=SYSTEM)
        assert Order.objects.get(pk=paid.pk).status == Order.Status.PAID
        assert sold("venue:hall") == 5
        assert Payment.objects.get(pk=paid.payment_id).refunded_amount == 0

    def test_unpaid_order_cannot_be_refunded(self, catalog):
        order = buy(catalog.add("u", {"tier:u": 5}))
        with pytest.raises(Conflict) as exc:
            services.refund(order.pk, actor=SYSTEM)
        assert exc.value.code == "not_refundable"
        with pytest.raises(Conflict) as exc:
            services.cancel(order.pk, actor=SYSTEM) and services.refund(order.pk, actor=SYSTEM)
        assert exc.value.code == "not_refundable"
