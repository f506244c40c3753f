"""The Stripe provider against a private localstripe server (which has no Checkout Sessions to test)."""
from decimal import Decimal

import pytest
import stripe

from microstage.payments import services
from microstage.payments.models import Payment
from microstage.payments.providers import get_provider
from microstage.payments.providers.base import ProviderError

from .test_payments_helpers import PURPOSE

pytestmark = pytest.mark.django_db
OPTS = {"api_key": "sk_test_microstage0000000000000000"}


def test_api_base_follows_settings(localstripe):
    get_provider("stripe").create_customer(email="a@example.com")
    assert stripe.api_base == localstripe


def test_manual_capture_less_than_authorised_then_partial_refund(localstripe, recorder):
    payment = services.authorize(amount=Decimal("50.00"), currency="EUR", description="Group-buy share",
                                 purpose=PURPOSE, reference="part_1", payment_method="pm_card_visa")
    assert payment.status == Payment.Status.AUTHORIZED and payment.provider_reference.startswith("pi_")
    pi = stripe.PaymentIntent.retrieve(payment.provider_reference, **OPTS)
    assert pi["status"] == "requires_capture" and pi["amount"] == 5000 and pi["capture_method"] == "manual"
    assert pi["metadata"]["payment_id"] == payment.pk

    payment = services.capture(payment.pk, Decimal("35.00"))
    assert payment.status == Payment.Status.CAPTURED and payment.captured_amount == Decimal("35.00")
    assert stripe.PaymentIntent.retrieve(payment.provider_reference, **OPTS)["status"] == "succeeded"

    payment = services.refund(payment.pk, Decimal("10.00"))
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED and payment.refunded_amount == Decimal("10.00")
    refunds = stripe.Refund.list(payment_intent=payment.provider_reference, **OPTS)
    assert 1000 in [r["amount"] for r in refunds["data"]]
    assert recorder.calls == [("authorized", payment.pk), ("paid", payment.pk),
                              ("refunded", payment.pk, Decimal("10.00"))]


def test_release_an_authorisation(localstripe, recorder):
    payment = services.authorize(amount=Decimal("20.00"), currency="EUR", description="x", purpose=PURPOSE,
                                 reference="r", payment_method="pm_card_visa")
    payment = services.release(payment.pk)
    assert payment.status == Payment.Status.CANCELLED
    assert stripe.PaymentIntent.retrieve(payment.provider_reference, **OPTS)["status"] == "canceled"
    assert recorder.names() == ["authorized", "cancelled"]


def test_zero_decimal_currency_in_minor_units(localstripe):
    payment = services.authorize(amount=Decimal("1500"), currency="JPY", description="x", purpose=PURPOSE,
                                 reference="r", payment_method="pm_card_visa")
    assert stripe.PaymentIntent.retrieve(payment.provider_reference, **OPTS)["amount"] == 1500
    assert services.capture(payment.pk).captured_amount == Decimal("1500")


def test_authorise_without_payment_method_waits_for_the_browser(localstripe, recorder):
    payment = services.authorize(amount=Decimal("5.00"), currency="EUR", description="x", purpose=PURPOSE,
                                 reference="r")
    assert payment.status == Payment.Status.PENDING and payment.client_secret.startswith(payment.provider_reference)
    assert recorder.calls == []


def test_declined_card_is_a_clear_error_and_leaves_nothing(localstripe, recorder):
    with pytest.raises(ProviderError) as exc:
        services.authorize(amount=Decimal("5.00"), currency="EUR", description="x", purpose=PURPOSE,
                           reference="r", payment_method="pm_card_chargeCustomerFail")
    assert exc.value.code == "card_declined" and exc.value.status == 402
    assert not Payment.objects.exists() and recorder.calls == []


def test_setup_intent_then_off_session_charge(localstripe, recorder):
    customer = services.create_customer(email="fan@example.com", name="Fan")
    assert customer.startswith("cus_")
    setup = services.save_payment_method(customer=customer, payment_method="pm_card_visa")
    assert setup.reference.startswith("seti_") and setup.status == "succeeded"
    assert setup.payment_method.startswith("pm_")
    payment = services.charge_off_session(customer=customer, payment_method=setup.payment_method,
                                          amount=Decimal("12.00"), currency="EUR", description="Settlement",
                                          purpose=PURPOSE, reference="r")
    assert payment.status == Payment.Status.CAPTURED and payment.captured_amount == Decimal("12.00")
    pi = stripe.PaymentIntent.retrieve(payment.provider_reference, **OPTS)
    assert pi["customer"] == customer and pi["amount"] == 1200
    assert recorder.names() == ["paid"]


def test_setup_intent_for_the_browser(localstripe):
    customer = services.create_customer(email="fan@example.com")
    setup = services.save_payment_method(customer=customer)
    assert setup.status == "requires_payment_method" and setup.client_secret


def test_subscription(localstripe, recorder):
    customer = services.create_customer(email="fan@example.com")
    setup = services.save_payment_method(customer=customer, payment_method="pm_card_visa")
    payment = services.create_subscription(customer=customer, amount=Decimal("4.99"), currency="EUR",
                                           interval="month", description="Gold membership", purpose=PURPOSE,
                                           reference="mem_1", payment_method=setup.payment_method)
    assert payment.subscription.startswith("sub_") and payment.invoice.startswith("in_")
    assert payment.status == Payment.Status.CAPTURED and payment.captured_amount == Decimal("4.99")
    sub = stripe.Subscription.retrieve(payment.subscription, **OPTS)
    assert sub["status"] == "active" and sub["metadata"]["reference"] == "mem_1"
    assert sub["items"]["data"][0]["plan"]["amount"] == 499
    services.cancel_subscription(payment.subscription)
    assert stripe.Subscription.retrieve(payment.subscription, **OPTS)["status"] == "canceled"
    assert recorder.names() == ["paid", "subscription_ended"]


def test_provider_outage_is_a_clear_error(stripe_settings, recorder):
    stripe_settings.STRIPE_API_HOST = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(ProviderError):
        services.authorize(amount=Decimal("5.00"), currency="EUR", description="x", purpose=PURPOSE, reference="r",
                           payment_method="pm_card_visa")
    assert not Payment.objects.exists()


def test_djstripe_mirror_is_best_effort(localstripe, stripe_settings, django_capture_on_commit_callbacks):
    stripe_settings.PAYMENTS_DJSTRIPE_SYNC = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payment = services.authorize(amount=Decimal("5.00"), currency="EUR", description="x", purpose=PURPOSE,
                                     reference="r", payment_method="pm_card_visa")
    assert callbacks  # the mirror was attempted; whatever it did, the payment stands
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.AUTHORIZED


def test_stripe_rate_limits_become_a_retryable_provider_error(settings):
    """Settlement retries batches on rate limits (groupbuys.services.is_rate_limited)."""
    from unittest import mock

    import stripe

    from microstage.payments.providers.base import ProviderError
    from microstage.payments.providers.stripe_provider import StripeProvider

    settings.STRIPE_SECRET_KEY = "sk_test_microstage0000000000000000"
    with mock.patch("stripe.PaymentIntent.capture", side_effect=stripe.RateLimitError("Too many requests")):
        with pytest.raises(ProviderError) as exc:
            StripeProvider().capture("pi_1", amount=Decimal("5.00"), currency="EUR")
    assert exc.value.status == 429 and exc.value.code == "rate_limited"


def test_refunds_of_destination_charges_reverse_the_transfer_and_the_fee(settings):
    from unittest import mock

    from microstage.payments.providers.stripe_provider import StripeProvider

    settings.STRIPE_SECRET_KEY = "sk_test_microstage0000000000000000"
    with mock.patch("stripe.Refund.create", return_value={"id": "re_1", "amount": 500}) as create:
        StripeProvider().refund("pi_1", amount=Decimal("5.00"), currency="EUR",
                                metadata={"transfer_destination": "acct_1"})
        StripeProvider().refund("pi_2", amount=Decimal("5.00"), currency="EUR", metadata={})
    connect, plain = create.call_args_list
    assert connect.kwargs["reverse_transfer"] is True and connect.kwargs["refund_application_fee"] is True
    assert "reverse_transfer" not in plain.kwargs
