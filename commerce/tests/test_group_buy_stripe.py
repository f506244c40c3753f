"""Joining a group-buy with Stripe and no saved card: the payer authorises on Stripe Checkout (manual
capture), and the signed webhook marks the participant authorised — nothing is captured."""
from unittest import mock

import pytest

from commerce.models import GroupBuyParticipant
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory
from microstage.tests.test_payments_helpers import (  # noqa: F401 - fixtures
    post_webhook,
    signed_headers,
    stripe_event,
    stripe_settings,
)

from .groupbuy_helpers import group_buy, join

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
