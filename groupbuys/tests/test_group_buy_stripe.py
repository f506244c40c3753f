"""Joining a group-buy with Stripe and no saved card: the payer authorises on Stripe Checkout (manual
capture), and the signed webhook marks the participant authorised — nothing is captured."""
from unittest import mock

import pytest

from groupbuys.models import GroupBuyParticipant
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory
from microstage.tests.test_payments_helpers import post_webhook, signed_headers, stripe_event

from groupbuys.tests.groupbuy_helpers import group_buy, join

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


def test_join_sends_the_payer_to_stripe_checkout_then_the_webhook_authorises(client):
    gb = group_buy(days=2)
    session = {"id": "cs_gb_1", "url": "https://checkout.stripe.com/c/pay/cs_gb_1"}
    with mock.patch("stripe.checkout.Session.create", return_value=session) as create:
        result = join(gb, quantity=2, user=UserFactory())
    assert result.status == "awaiting_payment" and result.checkout_url == session["url"]
    assert create.call_args.kwargs["payment_intent_data"]["capture_method"] == "manual"
    participant = GroupBuyParticipant.objects.get(pk=result.participant.pk)
    assert participant.status == GroupBuyParticipant.Status.PENDING and participant.payment_id

    body = stripe_event("evt_gb_auth", "checkout.session.completed", {
        "id": "cs_gb_1", "object": "checkout.session", "mode": "payment", "status": "complete",
        "payment_status": "unpaid", "payment_intent": "pi_gb_1", "amount_total": 2000, "currency": "eur",
        "metadata": {"payment_id": participant.payment_id, "capture_method": "manual"}})
    for _ in range(2):  # delivered twice: authorised once
        assert post_webhook(client, body, signed_headers(body)).status_code == 200
    participant.refresh_from_db()
    assert participant.status == GroupBuyParticipant.Status.AUTHORIZED
    payment = Payment.objects.get(pk=participant.payment_id)
    assert payment.status == Payment.Status.AUTHORIZED and payment.captured_amount == 0


def test_far_deadline_join_saves_the_card_on_stripe_and_the_webhook_holds_the_seat(client):
    """More than ~6 days out a card hold would lapse: the payer saves a card (Checkout in setup mode); the
    setup_intent webhook holds the seat (settlement then charges it off-session: test_settlement.py)."""
    gb = group_buy(days=10)
    session = {"id": "cs_setup_1", "url": "https://checkout.stripe.com/c/setup/cs_setup_1"}
    with mock.patch("stripe.Customer.create", return_value={"id": "cus_gb_1"}), \
            mock.patch("stripe.checkout.Session.create", return_value=session) as create:
        result = join(gb, quantity=1, user=UserFactory())
    assert result.status == "awaiting_payment" and result.checkout_url == session["url"]
    kwargs = create.call_args.kwargs
    assert kwargs["mode"] == "setup" and kwargs["customer"] == "cus_gb_1"
    assert kwargs["setup_intent_data"]["metadata"] == {"purpose": "commerce.group_buy",
                                                       "reference": result.participant.pk}

    body = stripe_event("evt_seti_1", "setup_intent.succeeded", {
        "id": "seti_1", "object": "setup_intent", "status": "succeeded", "payment_method": "pm_saved_1",
        "customer": "cus_gb_1", "metadata": kwargs["setup_intent_data"]["metadata"]})
    for _ in range(2):
        assert post_webhook(client, body, signed_headers(body)).status_code == 200
    participant = GroupBuyParticipant.objects.get(pk=result.participant.pk)
    assert participant.status == GroupBuyParticipant.Status.AUTHORIZED
    assert participant.payment_method == "pm_saved_1" and participant.customer == "cus_gb_1"
