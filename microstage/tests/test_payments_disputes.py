"""Gateway: Stripe disputes become DISPUTE_OPENED / DISPUTE_CLOSED events routed to the purpose's handlers, once."""
from decimal import Decimal

import pytest
from django.test import Client

from microstage import payments
from microstage.payments.events import Kind
from microstage.payments.models import Payment
from microstage.payments.providers.stripe_provider import event_from_stripe

from .test_payments_helpers import PURPOSE, signed_headers, stripe_event


def _dispute(kind: str, status: str, intent: str = "pi_dsp") -> dict:
    return {"id": f"evt_{kind}_{status}", "type": f"charge.dispute.{kind}", "data": {"object": {
        "id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": intent, "amount": 1250,
        "currency": "eur", "reason": "fraudulent", "status": status, "metadata": {}}}}


@pytest.mark.parametrize("kind,status,expected,outcome", [
    ("created", "needs_response", Kind.DISPUTE_OPENED, ""),
    ("closed", "won", Kind.DISPUTE_CLOSED, "won"),
    ("closed", "lost", Kind.DISPUTE_CLOSED, "lost"),
    ("closed", "warning_closed", Kind.DISPUTE_CLOSED, "won"),
])
def test_stripe_dispute_events_map(kind, status, expected, outcome):
    event = event_from_stripe(_dispute(kind, status))
    assert (event.kind, event.dispute, event.provider_reference, event.amount, event.currency, event.outcome) == (
        expected, "dp_1", "pi_dsp", Decimal("12.50"), "EUR", outcome)
    assert event.metadata["reason"] == "fraudulent"


def test_other_dispute_events_are_ignored():
    payload = _dispute("created", "x")
    payload["type"] = "charge.dispute.funds_withdrawn"
    assert event_from_stripe(payload).kind == Kind.IGNORED


@pytest.fixture
def dispute_recorder():
    calls = []
    payments.register_handler(PURPOSE, on_dispute_opened=lambda p, e: calls.append(("opened", p.pk, e.dispute)),
                              on_dispute_closed=lambda p, e: calls.append(("closed", p.pk, e.dispute, e.outcome)))
    yield calls
    payments.unregister_handler(PURPOSE)


def _post(payload: dict) -> int:
    body = stripe_event(payload["id"], payload["type"], payload["data"]["object"])
    return Client().post("/payments/stripe/webhook/", body, content_type="application/json",
                         **signed_headers(body)).status_code


def test_dispute_webhooks_reach_the_handlers_once(db, stripe_settings, dispute_recorder):
    payment = Payment.objects.create(provider="stripe", provider_reference="pi_dsp", amount=Decimal("12.50"),
                                     currency="EUR", purpose=PURPOSE, reference="ref-1",
                                     status=Payment.Status.CAPTURED, captured_amount=Decimal("12.50"))
    assert _post(_dispute("closed", "lost")) == 200   # out of order: the closing first
    assert _post(_dispute("created", "needs_response")) == 200
    assert _post(_dispute("created", "needs_response")) == 200  # twice
    assert _post(_dispute("closed", "lost")) == 200
    assert dispute_recorder == [("closed", payment.pk, "dp_1", "lost"), ("opened", payment.pk, "dp_1")]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED  # a dispute does not change the payment's own status


def test_dispute_for_a_purpose_without_dispute_handlers_changes_nothing(db, stripe_settings):
    payments.register_handler(PURPOSE)
    try:
        Payment.objects.create(provider="stripe", provider_reference="pi_dsp", amount=Decimal("12.50"),
                               currency="EUR", purpose=PURPOSE, reference="ref-2", status=Payment.Status.CAPTURED,
                               captured_amount=Decimal("12.50"))
        assert _post(_dispute("created", "needs_response")) == 200
    finally:
        payments.unregister_handler(PURPOSE)
