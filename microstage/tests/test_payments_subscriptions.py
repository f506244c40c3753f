"""Gateway extensions for subscriptions: hosted subscription checkout, cancel at period end, and the first
invoice reported twice (checkout completed and invoice paid) in either order."""
from decimal import Decimal
from unittest import mock

import pytest

from microstage.errors import Invalid
from microstage.payments import services
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment
from microstage.payments.providers.stripe_provider import event_from_stripe

from .test_payments_helpers import PURPOSE, post_webhook, signed_headers, stripe_event

pytestmark = pytest.mark.django_db
SESSION = {"id": "cs_sub_1", "url": "https://checkout.stripe.com/c/pay/cs_sub_1"}


def start(interval="month", amount="4.99", currency="EUR"):
    with mock.patch("stripe.checkout.Session.create", return_value=SESSION) as create:
        started = services.start_subscription_checkout(
            amount=Decimal(amount), currency=currency, interval=interval, description="Gold membership",
            purpose=PURPOSE, reference="mem_1", success_url="https://x.test/ok", cancel_url="https://x.test/no",
            customer_email="fan@example.com")
    return started, create


def completed(payment, payment_status="paid"):
    return {"id": SESSION["id"], "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": payment_status, "subscription": "sub_9", "invoice": "in_9", "amount_total": 499,
            "currency": "eur", "metadata": {"payment_id": payment.pk, "purpose": PURPOSE, "reference": "mem_1"}}


def invoice_paid(invoice_id, first_payment=""):
    meta = {"purpose": PURPOSE, "reference": "mem_1", **({"first_payment": first_payment} if first_payment else {})}
    return {"id": invoice_id, "object": "invoice", "currency": "eur", "amount_paid": 499,
            "payment_intent": f"pi_{invoice_id}",
            "parent": {"subscription_details": {"subscription": "sub_9", "metadata": meta}}}


def send(client, event_id, kind, obj):
    body = stripe_event(event_id, kind, obj)
    assert post_webhook(client, body, signed_headers(body)).status_code == 200


class TestStripeSubscriptionCheckout:
    def test_session_is_a_subscription_with_recurring_price_and_metadata(self, stripe_settings):
        started, create = start(interval="year", amount="1500", currency="JPY")
        assert started.provider == "stripe" and started.checkout_url == SESSION["url"]
        kwargs = create.call_args.kwargs
        assert kwargs["mode"] == "subscription"
        assert kwargs["line_items"] == [{"quantity": 1, "price_data": {
            "currency": "jpy", "unit_amount": 1500, "recurring": {"interval": "year"},
            "product_data": {"name": "Gold membership"}}}]
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.PENDING and payment.checkout_session == SESSION["id"]
        assert kwargs["metadata"]["payment_id"] == payment.pk
        sub_meta = kwargs["subscription_data"]["metadata"]
        assert sub_meta["first_payment"] == payment.pk and sub_meta["reference"] == "mem_1"
        assert "payment_id" not in sub_meta
        assert kwargs["customer_email"] == "fan@example.com"
        assert kwargs["idempotency_key"] == f"{payment.pk}:subscription-checkout"

    def test_interval_is_checked(self, stripe_settings):
        with pytest.raises(Invalid):
            start(interval="week")
        assert not Payment.objects.exists()

    def test_completed_then_first_invoice_is_one_payment(self, client, stripe_settings, recorder):
        started, _ = start()
        for _ in range(2):
            send(client, "evt_c", "checkout.session.completed", completed(started.payment))
        send(client, "evt_i", "invoice.paid", invoice_paid("in_9", first_payment=started.payment.pk))
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.CAPTURED and payment.subscription == "sub_9"
        assert payment.invoice == "in_9" and payment.captured_amount == Decimal("4.99")
        assert recorder.calls == [("paid", payment.pk)]
        # A renewal later is a Payment of its own.
        send(client, "evt_i2", "invoice.paid", invoice_paid("in_10", first_payment=started.payment.pk))
        renewal = Payment.objects.get(invoice="in_10")
        assert renewal.pk != payment.pk and renewal.reference == "mem_1"
        assert recorder.names() == ["paid", "paid"]

    def test_first_invoice_then_completed_is_one_payment(self, client, stripe_settings, recorder):
        started, _ = start()
        send(client, "evt_i", "invoice.paid", invoice_paid("in_9", first_payment=started.payment.pk))
        send(client, "evt_c", "checkout.session.completed", completed(started.payment))
        assert Payment.objects.count() == 1
        payment = Payment.objects.get()
        assert payment.status == Payment.Status.CAPTURED and payment.invoice == "in_9"
        assert recorder.calls == [("paid", payment.pk)]

    def test_unpaid_completion_does_not_capture(self, client, stripe_settings, recorder):
        started, _ = start()
        send(client, "evt_c", "checkout.session.completed", completed(started.payment, payment_status="unpaid"))
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.PENDING and payment.subscription == "sub_9"
        assert recorder.calls == []

    def test_failed_invoice_paid_on_retry(self, client, stripe_settings, recorder):
        started, _ = start()
        send(client, "evt_c", "checkout.session.completed", completed(started.payment))
        failed = {**invoice_paid("in_10"), "amount_due": 499}
        send(client, "evt_f", "invoice.payment_failed", failed)
        assert Payment.objects.get(invoice="in_10").status == Payment.Status.FAILED
        send(client, "evt_p", "invoice.paid", invoice_paid("in_10"))
        send(client, "evt_f2", "invoice.payment_failed", failed)  # a stale failure notice after the payment
        assert Payment.objects.get(invoice="in_10").status == Payment.Status.CAPTURED
        assert recorder.names() == ["paid", "failed", "paid"]

    def test_cancel_at_period_end_calls_stripe(self, stripe_settings):
        with mock.patch("stripe.Subscription.modify", return_value={"id": "sub_9", "status": "active"}) as modify:
            services.set_cancel_at_period_end("sub_9", True)
            services.set_cancel_at_period_end("sub_9", False)
        assert [c.kwargs["cancel_at_period_end"] for c in modify.call_args_list] == [True, False]
        assert modify.call_args.args == ("sub_9",)

    def test_event_mapping(self):
        event = event_from_stripe({"id": "evt_x", "type": "checkout.session.completed", "data": {"object": {
            "id": "cs_1", "mode": "subscription", "payment_status": "paid", "subscription": {"id": "sub_1"},
            "invoice": "in_1", "amount_total": 500, "currency": "usd", "metadata": {}}}})
        assert event.kind == Kind.SUBSCRIPTION_PAID and event.subscription == "sub_1" and event.invoice == "in_1"
        assert event.checkout_session == "cs_1" and event.amount == Decimal("5.00") and event.currency == "USD"


class TestSandboxSubscriptionCheckout:
    def test_test_page_pays_the_first_period(self, client, sandbox, recorder):
        started = services.start_subscription_checkout(
            amount=Decimal("4.99"), currency="EUR", interval="month", description="Gold", purpose=PURPOSE,
            reference="mem_1", success_url="/ok/", cancel_url="/no/")
        assert started.checkout_url.startswith("/payments/sandbox/checkout/")
        for _ in range(2):
            client.post(started.checkout_url, {"outcome": "pay"})
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.CAPTURED and payment.subscription.startswith("sbsub_")
        assert payment.invoice.startswith("sbin_")
        assert recorder.calls == [("paid", payment.pk)]

    def test_renewal_after_sandbox_checkout(self, client, sandbox, recorder):
        started = services.start_subscription_checkout(
            amount=Decimal("4.99"), currency="EUR", interval="month", description="Gold", purpose=PURPOSE,
            reference="mem_1", success_url="/ok/", cancel_url="/no/")
        client.post(started.checkout_url, {"outcome": "pay"})
        sub = Payment.objects.get(pk=started.payment.pk).subscription
        services.handle_event(PaymentEvent("sandbox", "renew:1", Kind.SUBSCRIPTION_PAID, subscription=sub,
                                           invoice="sbin_r1", amount=Decimal("4.99"), currency="EUR"))
        assert Payment.objects.filter(subscription=sub).count() == 2
        assert recorder.names() == ["paid", "paid"]
