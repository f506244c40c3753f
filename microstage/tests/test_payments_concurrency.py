"""Concurrent duplicate confirmations on real PostgreSQL: handlers still run exactly once."""
import threading
from decimal import Decimal

import pytest
from django.db import connection

from microstage import payments
from microstage.payments import services
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment, ProcessedEvent

from .test_payments_helpers import PURPOSE, Recorder, post_webhook, signed_headers, stripe_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_recorder():
    # The handler dawdles inside the transaction so the second delivery really overlaps the first.
    rec = Recorder(delay=0.3)
    rec.register()
    yield rec
    payments.unregister_handler(PURPOSE)


def run_together(*funcs):
    """Start all functions at the same moment in their own threads (and DB connections); return errors."""
    barrier = threading.Barrier(len(funcs))
    errors = []

    def run(func):
        try:
            barrier.wait()
            func()
        except Exception as exc:  # surfaced by the assertion in the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f,)) for f in funcs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return errors


def new_payment(**fields):
    fields = {"provider": "sandbox", **fields}
    return Payment.objects.create(amount=Decimal("20.00"), currency="EUR", purpose=PURPOSE, reference="ord_c",
                                  **fields)


def test_same_event_delivered_concurrently_runs_handlers_once(slow_recorder):
    payment = new_payment()
    event = PaymentEvent("sandbox", "evt_race", Kind.CAPTURED, payment_id=payment.pk, amount=payment.amount)
    errors = run_together(*(lambda: services.handle_event(event) for _ in range(4)))
    assert errors == []
    assert slow_recorder.calls == [("paid", payment.pk)]
    assert ProcessedEvent.objects.filter(event_id="evt_race").count() == 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CAPTURED


def test_different_events_for_the_same_payment_concurrently_act_once(slow_recorder):
    payment = new_payment(provider_reference="sbpi_race")
    events = [PaymentEvent("sandbox", f"evt_{i}", Kind.CAPTURED, provider_reference="sbpi_race") for i in range(3)]
    errors = run_together(*(lambda e=e: services.handle_event(e) for e in events))
    assert errors == []
    assert slow_recorder.calls == [("paid", payment.pk)]
    assert ProcessedEvent.objects.filter(payment=payment).count() == 3


def test_double_click_on_sandbox_pay_concurrently(settings, slow_recorder):
    settings.PAYMENTS_PROVIDER = "sandbox"
    started = services.start_checkout(amount=Decimal("9.00"), currency="EUR", description="Clip pass",
                                      purpose=PURPOSE, reference="ord_d", success_url="/ok/", cancel_url="/no/")
    errors = run_together(*(lambda: services.sandbox_complete(started.session_id) for _ in range(3)))
    assert errors == []
    assert slow_recorder.names() == ["paid"]


def test_stripe_webhook_delivered_twice_concurrently(client, settings, slow_recorder):
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_microstage0000000000000000"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_microstage"
    payment = new_payment(provider="stripe", provider_reference="pi_conc")
    body = stripe_event("evt_conc", "payment_intent.succeeded", {
        "id": "pi_conc", "object": "payment_intent", "status": "succeeded", "amount": 2000, "amount_received": 2000,
        "currency": "eur", "metadata": {"payment_id": payment.pk}})
    statuses = []
    from django.test import Client

    def deliver():
        statuses.append(post_webhook(Client(), body, signed_headers(body)).status_code)

    assert run_together(deliver, deliver) == []
    assert statuses == [200, 200]
    assert slow_recorder.calls == [("paid", payment.pk)]
