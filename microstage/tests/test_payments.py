"""Payments gateway: money conversion, sandbox checkout, exactly-once confirmations, Stripe webhooks."""
from decimal import Decimal
from unittest import mock

import pytest

from microstage.errors import Conflict, Invalid, NotFound
from microstage.payments import services
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment, ProcessedEvent
from microstage.payments.money import from_minor, to_minor
from microstage.payments.providers import get_provider
from microstage.payments.providers.sandbox import DECLINE

from .test_payments_helpers import PURPOSE, post_webhook, sandbox_checkout, signed_headers, stripe_event

pytestmark = pytest.mark.django_db


class TestMoney:
    @pytest.mark.parametrize("amount, currency, minor", [
        ("12.50", "EUR", 1250), ("0.99", "usd", 99), ("1500", "JPY", 1500), ("1500.00", "JPY", 1500),
        ("7", "KRW", 7), ("3.25", "KWD", 3250),
    ])
    def test_to_minor_per_currency(self, amount, currency, minor):
        assert to_minor(Decimal(amount), currency) == minor
        assert from_minor(minor, currency) == Decimal(amount)

    def test_refuses_what_the_currency_cannot_express(self):
        with pytest.raises(Invalid):
            to_minor(Decimal("1500.50"), "JPY")
        with pytest.raises(Invalid):
            to_minor(Decimal("1.005"), "EUR")

    def test_floats_are_refused(self):
        with pytest.raises(TypeError):
            to_minor(12.5, "EUR")
        with pytest.raises(TypeError):
            services.start_checkout(amount=12.5, currency="EUR", description="x", purpose=PURPOSE, reference="r",
                                    success_url="/", cancel_url="/")


class TestProviderChoice:
    def test_follows_settings(self, settings):
        settings.PAYMENTS_PROVIDER = "sandbox"
        assert get_provider().name == "sandbox"
        settings.PAYMENTS_PROVIDER = "stripe"
        assert get_provider().name == "stripe"
        settings.PAYMENTS_PROVIDER = "bogus"
        with pytest.raises(ValueError):
            get_provider()


class TestSandboxCheckout:
    def test_page_is_marked_test_mode_and_shows_amount(self, client, sandbox, recorder):
        started = sandbox_checkout()
        assert started.provider == "sandbox"
        assert started.checkout_url == f"/payments/sandbox/checkout/{started.session_id}/"
        r = client.get(started.checkout_url)
        assert r.status_code == 200
        html = r.content.decode()
        assert "TEST MODE" in html and "no money moves" in html.lower()
        assert "12.50 EUR" in html and "Two tickets to Night Show" in html
        assert 'value="pay"' in html and 'value="decline"' in html
        assert "csrfmiddlewaretoken" in html
        assert recorder.calls == []  # looking is not paying

    def test_pay_confirms_and_runs_the_handler_once(self, client, sandbox, recorder):
        started = sandbox_checkout()
        r = client.post(started.checkout_url, {"outcome": "pay"})
        assert r.status_code == 302 and r.url == "/done/"
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.CAPTURED and payment.captured_amount == Decimal("12.50")
        assert payment.provider_reference.startswith("sbpi_")
        assert recorder.calls == [("paid", payment.pk)]
        # A second click (or a replayed confirmation) changes nothing.
        r = client.post(started.checkout_url, {"outcome": "pay"})
        assert r.status_code == 302
        assert recorder.calls == [("paid", payment.pk)]
        assert ProcessedEvent.objects.filter(payment=payment).count() == 1
        page = client.get(started.checkout_url).content.decode()
        assert "captured" in page and 'value="pay"' not in page

    def test_decline_fails_the_payment(self, client, sandbox, recorder):
        started = sandbox_checkout()
        r = client.post(started.checkout_url, {"outcome": "decline"})
        assert r.status_code == 302 and r.url == "/back/"
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.FAILED and payment.failure_message
        assert recorder.names() == ["failed"]
        client.post(started.checkout_url, {"outcome": "pay"})  # too late: failed is final
        assert Payment.objects.get(pk=payment.pk).status == Payment.Status.FAILED
        assert recorder.names() == ["failed"]

    def test_manual_capture_checkout_authorises(self, client, sandbox, recorder):
        started = sandbox_checkout(capture="manual")
        assert "Authorise" in client.get(started.checkout_url).content.decode()
        client.post(started.checkout_url, {"outcome": "pay"})
        assert Payment.objects.get(pk=started.payment.pk).status == Payment.Status.AUTHORIZED
        assert recorder.names() == ["authorized"]

    def test_unknown_session_and_non_sandbox_are_404(self, client, sandbox, settings):
        assert client.get("/payments/sandbox/checkout/sbcs_nope/").status_code == 404
        started = sandbox_checkout()
        settings.PAYMENTS_PROVIDER = "stripe"
        assert client.get(started.checkout_url).status_code == 404
        assert client.post(started.checkout_url, {"outcome": "pay"}).status_code == 404
        assert Payment.objects.get(pk=started.payment.pk).status == Payment.Status.PENDING

    def test_never_redirects_off_site(self, client, sandbox):
        started = services.start_checkout(amount=Decimal("5"), currency="EUR", description="x", purpose=PURPOSE,
                                          reference="r", success_url="https://evil.example/", cancel_url="/")
        r = client.post(started.checkout_url, {"outcome": "pay"})
        assert r.status_code == 302 and "evil" not in r.url

    def test_sandbox_complete_uses_the_same_path(self, sandbox, recorder):
        started = sandbox_checkout()
        payment = services.sandbox_complete(started.session_id)
        assert payment.status == Payment.Status.CAPTURED
        assert services.sandbox_complete(started.payment).status == Payment.Status.CAPTURED  # by Payment too
        assert services.sandbox_complete(started.payment.pk).status == Payment.Status.CAPTURED  # and by pay_ id
        assert recorder.names() == ["paid"]
        event = ProcessedEvent.objects.get(payment=payment)
        assert event.provider == "sandbox" and event.kind == Kind.CHECKOUT_COMPLETED


class TestExactlyOnce:
    def test_same_event_twice_runs_handlers_once(self, sandbox, recorder):
        payment = sandbox_checkout().payment
        event = PaymentEvent("sandbox", "evt_same", Kind.CAPTURED, payment_id=payment.pk, amount=payment.amount)
        assert services.handle_event(event) is not None
        assert services.handle_event(event) is None
        assert recorder.calls == [("paid", payment.pk)]
        assert ProcessedEvent.objects.filter(event_id="evt_same").count() == 1

    def test_two_events_meaning_the_same_act_once(self, sandbox, recorder):
        payment = sandbox_checkout().payment
        for event_id in ("evt_a", "evt_b"):
            services.handle_event(PaymentEvent("sandbox", event_id, Kind.CAPTURED, payment_id=payment.pk))
        assert recorder.names() == ["paid"]

    def test_handler_failure_rolls_back_so_the_retry_works(self, sandbox):
        payment = sandbox_checkout().payment
        calls = []

        def flaky(p):
            calls.append(p.pk)
            if len(calls) == 1:
                raise RuntimeError("handler bug")

        from microstage import payments
        payments.register_handler(PURPOSE, on_paid=flaky)
        try:
            event = PaymentEvent("sandbox", "evt_retry", Kind.CAPTURED, payment_id=payment.pk)
            with pytest.raises(RuntimeError):
                services.handle_event(event)
            assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PENDING
            assert not ProcessedEvent.objects.filter(event_id="evt_retry").exists()
            services.handle_event(event)
            assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CAPTURED
            assert calls == [payment.pk, payment.pk]
        finally:
            payments.unregister_handler(PURPOSE)

    def test_unknown_payment_is_recorded_not_fatal(self, sandbox, recorder):
        assert services.handle_event(PaymentEvent("sandbox", "evt_x", Kind.CAPTURED, payment_id="pay_nope"))
        assert recorder.calls == []


class TestSandboxOperations:
    def test_authorize_capture_less_and_refund_partially(self, sandbox, recorder):
        payment = services.authorize(amount=Decimal("30.00"), currency="EUR", description="Group-buy share",
                                     purpose=PURPOSE, reference="part_1")
        assert payment.status == Payment.Status.AUTHORIZED and payment.capture_method == "manual"
        payment = services.capture(payment.pk, Decimal("24.00"))
        assert payment.status == Payment.Status.CAPTURED and payment.captured_amount == Decimal("24.00")
        with pytest.raises(Conflict):
            services.capture(payment.pk)
        payment = services.refund(payment.pk, Decimal("4.00"))
        assert payment.status == Payment.Status.PARTIALLY_REFUNDED and payment.refunded_amount == Decimal("4.00")
        with pytest.raises(Invalid):
            services.refund(payment.pk, Decimal("20.01"))
        payment = services.refund(payment.pk)
        assert payment.status == Payment.Status.REFUNDED and payment.refunded_amount == Decimal("24.00")
        assert recorder.calls == [("authorized", payment.pk), ("paid", payment.pk),
                                  ("refunded", payment.pk, Decimal("4.00")), ("refunded", payment.pk, Decimal("20.00"))]

    def test_capture_more_than_authorised_is_refused(self, sandbox):
        payment = services.authorize(amount=Decimal("10"), currency="EUR", description="x", purpose=PURPOSE,
                                     reference="r")
        with pytest.raises(Invalid):
            services.capture(payment.pk, Decimal("10.01"))
        assert Payment.objects.get(pk=payment.pk).status == Payment.Status.AUTHORIZED

    def test_release(self, sandbox, recorder):
        payment = services.authorize(amount=Decimal("10"), currency="EUR", description="x", purpose=PURPOSE,
                                     reference="r")
        assert services.release(payment.pk).status == Payment.Status.CANCELLED
        assert services.release(payment.pk).status == Payment.Status.CANCELLED  # idempotent
        assert recorder.names() == ["authorized", "cancelled"]
        with pytest.raises(NotFound):
            services.release("pay_missing")

    def test_declined_authorisation(self, sandbox, recorder):
        payment = services.authorize(amount=Decimal("10"), currency="EUR", description="x", purpose=PURPOSE,
                                     reference="r", payment_method=DECLINE)
        assert payment.status == Payment.Status.FAILED
        assert recorder.names() == ["failed"]

    def test_saved_method_and_off_session_charge(self, sandbox, recorder):
        customer = services.create_customer(email="fan@example.com")
        setup = services.save_payment_method(customer=customer)
        assert setup.status == "succeeded" and setup.payment_method
        payment = services.charge_off_session(customer=customer, payment_method=setup.payment_method,
                                              amount=Decimal("8.00"), currency="EUR", description="Top-up",
                                              purpose=PURPOSE, reference="r")
        assert payment.status == Payment.Status.CAPTURED and payment.customer == customer
        assert recorder.names() == ["paid"]

    def test_subscription_first_period_renewal_and_end(self, sandbox, recorder):
        customer = services.create_customer(email="fan@example.com")
        first = services.create_subscription(customer=customer, amount=Decimal("5.00"), currency="EUR",
                                             interval="month", description="Gold membership", purpose=PURPOSE,
                                             reference="mem_1")
        assert first.status == Payment.Status.CAPTURED and first.subscription.startswith("sbsub_")
        # A renewal invoice becomes a new Payment for the same purpose and reference.
        renewal = PaymentEvent("sandbox", "evt_renew", Kind.SUBSCRIPTION_PAID, subscription=first.subscription,
                               invoice="sbin_2", amount=Decimal("5.00"), currency="EUR")
        services.handle_event(renewal)
        services.handle_event(renewal)
        second = Payment.objects.get(invoice="sbin_2")
        assert second.pk != first.pk and second.reference == "mem_1" and second.status == Payment.Status.CAPTURED
        services.cancel_subscription(first.subscription)
        # The provider's own "subscription deleted" notice afterwards does not end it twice.
        services.handle_event(PaymentEvent("sandbox", "evt_deleted", Kind.SUBSCRIPTION_ENDED,
                                           subscription=first.subscription))
        assert recorder.names() == ["paid", "paid", "subscription_ended"]

    def test_purpose_and_reference_are_required(self, sandbox):
        with pytest.raises(Invalid):
            services.authorize(amount=Decimal("1"), currency="EUR", description="x", purpose="", reference="")


class TestStripeWebhook:
    def _checkout(self, stripe_settings, capture="automatic"):
        session = {"id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_test_1"}
        with mock.patch("stripe.checkout.Session.create", return_value=session) as create:
            started = services.start_checkout(amount=Decimal("1500"), currency="JPY", description="Tour shirt",
                                              purpose=PURPOSE, reference="ord_9", success_url="https://x.test/ok",
                                              cancel_url="https://x.test/no", capture=capture)
        return started, create

    def test_checkout_session_is_created_with_minor_units_and_metadata(self, stripe_settings):
        started, create = self._checkout(stripe_settings, capture="manual")
        assert started.provider == "stripe" and started.checkout_url.startswith("https://checkout.stripe.com/")
        kwargs = create.call_args.kwargs
        assert kwargs["line_items"][0]["price_data"]["unit_amount"] == 1500  # JPY has no minor unit
        assert kwargs["line_items"][0]["price_data"]["currency"] == "jpy"
        assert kwargs["payment_intent_data"]["capture_method"] == "manual"
        assert kwargs["metadata"]["payment_id"] == started.payment.pk
        assert kwargs["idempotency_key"] == f"{started.payment.pk}:checkout"
        assert kwargs["api_key"] == "sk_test_microstage0000000000000000"
        assert Payment.objects.get(pk=started.payment.pk).checkout_session == "cs_test_1"

    def test_signed_webhook_is_processed_once(self, client, stripe_settings, recorder):
        started, _ = self._checkout(stripe_settings)
        body = stripe_event("evt_1", "checkout.session.completed", {
            "id": "cs_test_1", "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": "paid", "payment_intent": "pi_1", "amount_total": 1500, "currency": "jpy",
            "metadata": {"payment_id": started.payment.pk, "purpose": PURPOSE, "reference": "ord_9"}})
        for _ in range(2):
            assert post_webhook(client, body, signed_headers(body)).status_code == 200
        payment = Payment.objects.get(pk=started.payment.pk)
        assert payment.status == Payment.Status.CAPTURED and payment.provider_reference == "pi_1"
        assert payment.captured_amount == Decimal("1500")
        # Stripe also announces the payment intent; same payment, so no second handler call.
        body = stripe_event("evt_2", "payment_intent.succeeded", {
            "id": "pi_1", "object": "payment_intent", "status": "succeeded", "amount": 1500, "amount_received": 1500,
            "currency": "jpy", "metadata": {"payment_id": started.payment.pk}})
        assert post_webhook(client, body, signed_headers(body)).status_code == 200
        assert recorder.calls == [("paid", payment.pk)]
        assert ProcessedEvent.objects.filter(provider="stripe").count() == 2

    def test_refund_webhook_counts_only_real_refunds(self, client, stripe_settings, recorder):
        payment = Payment.objects.create(provider="stripe", provider_reference="pi_7", amount=Decimal("50.00"),
                                         captured_amount=Decimal("30.00"), currency="EUR", purpose=PURPOSE,
                                         reference="r", status=Payment.Status.CAPTURED, capture_method="manual")
        # Captured 30 of 50: Stripe reports the released 20 as refunded, plus a real refund of 10.
        body = stripe_event("evt_r", "charge.refunded", {
            "id": "ch_7", "object": "charge", "payment_intent": "pi_7", "amount": 5000, "amount_captured": 3000,
            "amount_refunded": 3000, "currency": "eur", "metadata": {}})
        assert post_webhook(client, body, signed_headers(body)).status_code == 200
        payment.refresh_from_db()
        assert payment.refunded_amount == Decimal("10.00") and payment.status == Payment.Status.PARTIALLY_REFUNDED
        assert recorder.calls == [("refunded", payment.pk, Decimal("10.00"))]

    @pytest.mark.parametrize("headers", [
        {},
        {"HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"},
        "wrong-secret",
        "stale",
    ])
    def test_bad_signature_is_refused_and_changes_nothing(self, client, stripe_settings, recorder, headers):
        started, _ = self._checkout(stripe_settings)
        body = stripe_event("evt_bad", "checkout.session.completed", {
            "id": "cs_test_1", "mode": "payment", "payment_status": "paid", "payment_intent": "pi_1",
            "metadata": {"payment_id": started.payment.pk}})
        if headers == "wrong-secret":
            headers = signed_headers(body, secret="whsec_other")
        elif headers == "stale":
            headers = signed_headers(body, timestamp=1_000_000)
        r = post_webhook(client, body, headers)
        assert r.status_code == 400
        assert Payment.objects.get(pk=started.payment.pk).status == Payment.Status.PENDING
        assert not ProcessedEvent.objects.exists() and recorder.calls == []

    def test_tampered_body_is_refused(self, client, stripe_settings):
        started, _ = self._checkout(stripe_settings)
        body = stripe_event("evt_t", "payment_intent.succeeded", {"id": "pi_1", "amount_received": 1,
                                                                   "metadata": {"payment_id": started.payment.pk}})
        headers = signed_headers(body)
        r = post_webhook(client, body.replace(b'"amount_received": 1', b'"amount_received": 9'), headers)
        assert r.status_code == 400
        assert Payment.objects.get(pk=started.payment.pk).status == Payment.Status.PENDING

    def test_unconfigured_secret_refuses_everything(self, client, stripe_settings):
        stripe_settings.STRIPE_WEBHOOK_SECRET = ""
        body = stripe_event("evt_u", "payment_intent.succeeded", {"id": "pi_1"})
        assert post_webhook(client, body, signed_headers(body, secret="")).status_code == 400

    def test_unrelated_events_are_acknowledged(self, client, stripe_settings, recorder):
        body = stripe_event("evt_other", "customer.created", {"id": "cus_1", "object": "customer"})
        assert post_webhook(client, body, signed_headers(body)).status_code == 200
        assert ProcessedEvent.objects.get(event_id="evt_other").kind == Kind.IGNORED

    def test_get_is_not_allowed(self, client):
        assert client.get("/payments/stripe/webhook/").status_code == 405


class TestValidation:
    def test_amount_the_currency_cannot_express_is_refused_before_anything_starts(self, sandbox):
        with pytest.raises(Invalid):
            services.authorize(amount=Decimal("1500.50"), currency="JPY", description="x", purpose=PURPOSE,
                               reference="r")
        assert not Payment.objects.exists()


def test_stripe_card_fingerprint_is_kept_on_the_payment(client, stripe_settings, recorder):
    """Risk checks (risk.services) count payments per card: the fingerprint Stripe reports is kept."""
    payment = Payment.objects.create(provider="stripe", provider_reference="pi_fp", amount=Decimal("20.00"),
                                     currency="EUR", purpose=PURPOSE, reference="r-fp")
    body = stripe_event("evt_fp", "payment_intent.succeeded", {
        "id": "pi_fp", "object": "payment_intent", "status": "succeeded", "amount": 2000, "amount_received": 2000,
        "currency": "eur", "metadata": {"payment_id": payment.pk},
        "latest_charge": {"id": "ch_fp", "payment_method_details": {"card": {"fingerprint": "Xt5EWLLDS7FJjR1c"}}}})
    assert post_webhook(client, body, signed_headers(body)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.metadata["card_fingerprint"] == "Xt5EWLLDS7FJjR1c"
