"""A Stripe membership's period ends when Stripe's subscription says (`current_period_end`), read from
the subscription (against a private localstripe server) and from its webhooks — never a 30/365-day guess."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from memberships import services
from memberships.models import Membership
from memberships.tests.test_subscriptions import (
    checkout_completed,
    invoice,
    make_plan,
    send,
    stripe_subscribe,
)
from microstage.payments import services as payments
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
OPTS = {"api_key": "sk_test_microstage0000000000000000"}


def stripe_period_end(subscription_id) -> datetime:
    sub = stripe.Subscription.retrieve(subscription_id, **OPTS)
    end = sub.get("current_period_end") or max(i["current_period_end"] for i in sub["items"]["data"])
    return datetime.fromtimestamp(end, tz=UTC)


def localstripe_subscription(reference: str) -> str:
    customer = payments.create_customer(email="fan@example.com")
    payments.save_payment_method(customer=customer, payment_method="pm_card_visa")  # the customer's default
    plan = stripe.Plan.create(amount=499, currency="eur", interval="month", product={"name": "Gold"}, **OPTS)
    sub = stripe.Subscription.create(customer=customer, items=[{"plan": plan["id"]}],
                                     metadata={"purpose": services.PURPOSE, "reference": reference}, **OPTS)
    return sub["id"]


def test_a_saved_card_subscription_takes_stripes_period_end(localstripe):
    plan, fan = make_plan(), UserFactory()
    membership = Membership.objects.create(plan=plan, creator_id=plan.creator_id, user=fan, provider="stripe")
    customer = payments.create_customer(email=fan.email)
    setup = payments.save_payment_method(customer=customer, payment_method="pm_card_visa")
    payment = payments.create_subscription(customer=customer, amount=plan.price, currency=plan.currency,
                                           interval="month", description="Gold", purpose=services.PURPOSE,
                                           reference=membership.pk, payment_method=setup.payment_method)
    assert payment.status == Payment.Status.CAPTURED
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert membership.current_period_end == stripe_period_end(payment.subscription)


def test_a_hosted_checkout_reads_the_period_end_from_stripes_subscription(localstripe):
    plan, fan = make_plan(), UserFactory()
    result, _ = stripe_subscribe(plan, fan)
    first = Payment.objects.get(purpose=services.PURPOSE, reference=result.membership.pk)
    sub_id = localstripe_subscription(result.membership.pk)
    # The checkout's completion names the subscription but not its period: it is read from Stripe.
    send(Client(), "evt_checkout_ls", "checkout.session.completed",
         checkout_completed(first, invoice="in_ls_1", subscription=sub_id))
    m = Membership.objects.get(pk=result.membership.pk)
    assert m.status == Membership.Status.ACTIVE and m.subscription == sub_id
    assert m.current_period_end == stripe_period_end(sub_id)


def test_webhooks_carry_the_period_end(client, stripe_settings):
    plan, fan = make_plan(), UserFactory()
    result, _ = stripe_subscribe(plan, fan)
    m = result.membership
    first = Payment.objects.get(purpose=services.PURPOSE, reference=m.pk)
    first_end = (timezone.now() + timedelta(days=31)).replace(microsecond=0)
    send(client, "evt_inv1", "invoice.paid",
         invoice("in_1", m, first_payment=first.pk, period_end=int(first_end.timestamp())))
    m.refresh_from_db()
    assert m.status == Membership.Status.ACTIVE and m.current_period_end == first_end
    # A renewal: Stripe's next period (28 days in February, say), not "+30 days".
    second_end = first_end + timedelta(days=28)
    send(client, "evt_inv2", "invoice.paid", invoice("in_2", m, period_end=int(second_end.timestamp())))
    m.refresh_from_db()
    assert m.current_period_end == second_end
    # The subscription itself moved (e.g. a billing date changed in Stripe's dashboard).
    moved = second_end + timedelta(days=3)
    send(client, "evt_sub_upd", "customer.subscription.updated",
         {"id": "sub_1", "object": "subscription", "status": "active", "current_period_end": int(moved.timestamp()),
          "metadata": {"purpose": services.PURPOSE, "reference": m.pk}})
    m.refresh_from_db()
    assert m.current_period_end == moved
    assert m.status == Membership.Status.ACTIVE
    assert Decimal(Payment.objects.filter(reference=m.pk).count()) == 2
