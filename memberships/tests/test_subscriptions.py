"""Subscriptions end to end: the sandbox's immediate start and renewal clock, cancel and resume, and Stripe
webhooks that arrive twice and out of order."""
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from memberships import services, tasks
from memberships.models import Membership, MembershipPlan
from memberships.selectors import perks_for
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import Role
from microstage.payments import services as payments
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.tests.test_payments_helpers import post_webhook, signed_headers, stripe_event

pytestmark = pytest.mark.django_db
MONTH = timedelta(days=30)


def make_plan(creator=None, **fields) -> MembershipPlan:
    creator = creator or CreatorFactory()
    data = {"name": "Gold", "price": Decimal("4.99"), "currency": "EUR", "interval": "month",
            "early_access_hours": 48, "discount_percent": Decimal("10"), "members_only_events": True,
            "clip_access": True, **fields}
    return MembershipPlan.objects.create(creator=creator, **data)


def close_to(value, expected, slack=timedelta(minutes=1)) -> bool:
    return abs(value - expected) < slack


def member(plan, fan=None) -> Membership:
    fan = fan or UserFactory()
    return services.subscribe(user=fan, plan_id=plan.pk).membership


def lapse(membership: Membership, by=timedelta(seconds=1)) -> Membership:
    """Let the paid period run out (moves its end into the past instead of waiting for it)."""
    Membership.objects.filter(pk=membership.pk).update(current_period_end=timezone.now() - by)
    membership.refresh_from_db()
    return membership


# --- plans -----------------------------------------------------------------------------------

class TestPlans:
    def test_owner_and_manager_create_and_update(self):
        creator = CreatorFactory()
        owner, manager = team_member(creator), team_member(creator, Role.MANAGER)
        plan = services.create_plan(actor=owner, creator=creator.pk, name="Gold", price=Decimal("5"),
                                    currency="usd", interval="year", discount_percent=Decimal("15"))
        assert plan.currency == "USD" and plan.interval == "year" and plan.discount_percent == Decimal("15")
        plan = services.update_plan(actor=manager, plan_id=plan.pk, price=Decimal("6.50"), early_access_hours=24)
        assert MembershipPlan.objects.get(pk=plan.pk).price == Decimal("6.50")

    def test_other_roles_and_outsiders_are_refused(self):
        creator = CreatorFactory()
        with pytest.raises(Forbidden):
            services.create_plan(actor=team_member(creator, Role.DOOR), creator=creator, name="x", price=Decimal("5"))
        with pytest.raises(NotFound):
            services.create_plan(actor=UserFactory(), creator=creator, name="x", price=Decimal("5"))
        assert not MembershipPlan.objects.exists()

    @pytest.mark.parametrize("field, value", [
        ("price", Decimal("-1")), ("price", Decimal("0")), ("price", Decimal("10000.01")), ("price", 4.99),
        ("price", "abc"), ("interval", "week"), ("discount_percent", Decimal("-0.01")),
        ("discount_percent", Decimal("100.5")), ("early_access_hours", -1), ("early_access_hours", 2161),
        ("currency", "EURO"), ("currency", "E1R"),
    ])
    def test_bad_values_are_invalid_and_create_nothing(self, field, value):
        creator = CreatorFactory()
        data = {"name": "Gold", "price": Decimal("5"), field: value}
        with pytest.raises(Invalid) as exc:
            services.create_plan(actor=team_member(creator), creator=creator, **data)
        assert field in exc.value.fields
        assert not MembershipPlan.objects.exists()

    def test_price_the_currency_cannot_charge(self):
        creator = CreatorFactory()
        with pytest.raises(Invalid):
            services.create_plan(actor=team_member(creator), creator=creator, name="x", price=Decimal("450.50"),
                                 currency="JPY")


# --- sandbox subscriptions -------------------------------------------------------------------

class TestSandbox:
    def test_subscribe_is_active_at_once_with_a_period(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        result = services.subscribe(user=fan, plan_id=plan.pk)
        m = result.membership
        assert result.status == "active" and result.checkout_url == ""
        assert m.status == Membership.Status.ACTIVE and m.provider == "sandbox"
        assert m.subscription.startswith("sbsub_") and close_to(m.current_period_end, timezone.now() + MONTH)
        payment = Payment.objects.get(purpose=services.PURPOSE, reference=m.pk)
        assert payment.status == Payment.Status.CAPTURED and payment.amount == Decimal("4.99")
        perks = perks_for(fan, plan.creator_id)
        assert perks.is_member and perks.discount_percent == Decimal("10") and perks.early_access_hours == 48

    def test_yearly_plan_runs_a_year(self, sandbox):
        m = member(make_plan(interval="year"))
        assert close_to(m.current_period_end, timezone.now() + timedelta(days=365))

    def test_one_live_membership_per_creator(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        other_plan = make_plan(plan.creator, name="Silver", price=Decimal("2.00"))
        services.subscribe(user=fan, plan_id=plan.pk)
        for plan_id in (plan.pk, other_plan.pk):
            with pytest.raises(Conflict) as exc:
                services.subscribe(user=fan, plan_id=plan_id)
            assert exc.value.code == "already_member"
        assert Membership.objects.filter(user=fan).count() == 1
        assert Payment.objects.filter(purpose=services.PURPOSE).count() == 1
        # Another creator's plan is another membership.
        assert services.subscribe(user=fan, plan_id=make_plan().pk).status == "active"

    def test_unknown_and_inactive_plans_are_not_found(self, sandbox):
        with pytest.raises(NotFound):
            services.subscribe(user=UserFactory(), plan_id="plan_nope")
        with pytest.raises(NotFound):
            services.subscribe(user=UserFactory(), plan_id=make_plan(is_active=False).pk)

    def test_cancel_keeps_perks_to_period_end_then_the_task_ends_it(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = member(plan, fan)
        m = services.cancel_membership(user=fan, membership_id=m.pk)
        assert m.status == Membership.Status.CANCELLED and m.cancel_at_period_end
        assert services.cancel_membership(user=fan, membership_id=m.pk).status == Membership.Status.CANCELLED
        assert perks_for(fan, plan.creator_id).is_member  # paid through the period
        assert tasks.renew_sandbox_memberships() == {"renewed": 0, "ended": 0}  # nothing due yet
        with pytest.raises(Conflict):  # still a member until the end
            services.subscribe(user=fan, plan_id=plan.pk)

        m = lapse(m)
        assert not perks_for(fan, plan.creator_id).is_member  # the period is over, even before the task runs
        assert tasks.renew_sandbox_memberships() == {"renewed": 0, "ended": 1}
        assert tasks.renew_sandbox_memberships() == {"renewed": 0, "ended": 0}
        m.refresh_from_db()
        assert m.status == Membership.Status.ENDED and m.ended_at is not None
        assert Payment.objects.filter(purpose=services.PURPOSE, reference=m.pk).count() == 1  # no renewal charged
        # Switching plans: once ended, a new membership on another plan.
        other = make_plan(plan.creator, name="Silver", price=Decimal("2.00"))
        assert services.subscribe(user=fan, plan_id=other.pk).membership.pk != m.pk

    def test_resubscribe_after_a_lapsed_cancel_before_the_task(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = services.cancel_membership(user=fan, membership_id=member(plan, fan).pk)
        lapse(m)
        again = services.subscribe(user=fan, plan_id=plan.pk)
        assert again.status == "active" and again.membership.pk != m.pk
        assert Membership.objects.get(pk=m.pk).status == Membership.Status.ENDED

    def test_resume_before_period_end(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = member(plan, fan)
        period_end = m.current_period_end
        services.cancel_membership(user=fan, membership_id=m.pk)
        m = services.resume_membership(user=fan, membership_id=m.pk)
        assert m.status == Membership.Status.ACTIVE and not m.cancel_at_period_end
        assert m.current_period_end == period_end
        assert services.resume_membership(user=fan, membership_id=m.pk).status == Membership.Status.ACTIVE
        # At the period end it renews instead of ending.
        lapse(m)
        assert tasks.renew_sandbox_memberships() == {"renewed": 1, "ended": 0}
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE and close_to(m.current_period_end, timezone.now() + MONTH)

    def test_resume_after_the_end_is_refused(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = services.cancel_membership(user=fan, membership_id=member(plan, fan).pk)
        lapse(m)
        with pytest.raises(Conflict) as exc:
            services.resume_membership(user=fan, membership_id=m.pk)
        assert exc.value.code == "not_resumable"
        tasks.renew_sandbox_memberships()
        with pytest.raises(Conflict):
            services.resume_membership(user=fan, membership_id=m.pk)
        with pytest.raises(Conflict):
            services.cancel_membership(user=fan, membership_id=m.pk)

    def test_someone_elses_membership_is_not_found(self, sandbox):
        m = member(make_plan())
        with pytest.raises(NotFound):
            services.cancel_membership(user=UserFactory(), membership_id=m.pk)
        with pytest.raises(NotFound):
            services.resume_membership(user=UserFactory(), membership_id=m.pk)
        assert Membership.objects.get(pk=m.pk).status == Membership.Status.ACTIVE

    def test_renewal_task_renews_once(self, sandbox):
        m = lapse(member(make_plan()), by=timedelta(hours=2))
        now = timezone.now()
        assert services.renew_due_sandbox_memberships(now) == {"renewed": 1, "ended": 0}
        assert services.renew_due_sandbox_memberships(now) == {"renewed": 0, "ended": 0}
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE and close_to(m.current_period_end, now + MONTH)
        periods = Payment.objects.filter(purpose=services.PURPOSE, reference=m.pk)
        assert periods.count() == 2 and {p.status for p in periods} == {Payment.Status.CAPTURED}

    def test_a_renewal_event_replayed_for_the_same_period_changes_nothing(self, sandbox):
        m = lapse(member(make_plan()))
        stamp = int(m.current_period_end.timestamp())
        services.renew_due_sandbox_memberships()
        m.refresh_from_db()
        end = m.current_period_end
        # The same period's renewal, told again (e.g. a second worker that read the old period end).
        payments.handle_event(PaymentEvent("sandbox", f"renew:{m.subscription}:{stamp}", Kind.SUBSCRIPTION_PAID,
                                           subscription=m.subscription, invoice=f"sbin_{m.subscription}_{stamp}",
                                           amount=Decimal("4.99"), currency="EUR"))
        m.refresh_from_db()
        assert m.current_period_end == end

    def test_failed_renewal_is_past_due_then_a_later_payment_reactivates(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = member(plan, fan)
        payments.handle_event(PaymentEvent("sandbox", "evt_fail", Kind.SUBSCRIPTION_FAILED, subscription=m.subscription,
                                           invoice="sbin_failed_1", amount=Decimal("4.99"), currency="EUR"))
        m.refresh_from_db()
        assert m.status == Membership.Status.PAST_DUE
        assert perks_for(fan, plan.creator_id).is_member  # perks stay while the provider retries
        lapse(m)
        assert tasks.renew_sandbox_memberships() == {"renewed": 1, "ended": 0}
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE and m.current_period_end > timezone.now()

    def test_cancelling_an_unpaid_membership_ends_it(self, sandbox):
        plan, fan = make_plan(), UserFactory()
        m = Membership.objects.create(plan=plan, creator=plan.creator, user=fan)
        assert services.cancel_membership(user=fan, membership_id=m.pk).status == Membership.Status.ENDED


# --- Stripe: hosted checkout and webhooks ----------------------------------------------------

SESSION = {"id": "cs_test_m1", "url": "https://checkout.stripe.com/c/pay/cs_test_m1"}


def stripe_subscribe(plan, fan, session=SESSION):
    with mock.patch("stripe.checkout.Session.create", return_value=session) as create:
        result = services.subscribe(user=fan, plan_id=plan.pk)
    return result, create


def send(client, event_id, kind, obj):
    body = stripe_event(event_id, kind, obj)
    response = post_webhook(client, body, signed_headers(body))
    assert response.status_code == 200


def checkout_completed(first_payment, invoice="in_1", subscription="sub_1"):
    return {"id": SESSION["id"], "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": "paid", "subscription": subscription, "invoice": invoice, "amount_total": 499,
            "currency": "eur", "metadata": {"payment_id": first_payment.pk, "purpose": services.PURPOSE,
                                            "reference": first_payment.reference}}


def invoice(invoice_id, membership, amount=499, subscription="sub_1", first_payment="", period_end=None):
    """An invoice as Stripe sends it; `period_end` (a timestamp) is its subscription line's period end."""
    meta = {"purpose": services.PURPOSE, "reference": membership.pk}
    if first_payment:
        meta["first_payment"] = first_payment
    body = {"id": invoice_id, "object": "invoice", "currency": "eur", "amount_paid": amount, "amount_due": amount,
            "payment_intent": f"pi_{invoice_id}",
            "parent": {"subscription_details": {"subscription": subscription, "metadata": meta}}}
    if period_end is not None:
        body["lines"] = {"object": "list", "data": [{"object": "line_item", "period": {"start": period_end - 2592000,
                                                                                     "end": period_end}}]}
    return body


@pytest.fixture(autouse=True)
def stripe_subscription():
    """Stripe's answer when the gateway reads a subscription's current period (no network in tests)."""
    def retrieve(sub_id, **kwargs):
        end = int((timezone.now() + MONTH).timestamp())
        return {"id": sub_id, "object": "subscription", "status": "active", "current_period_end": end}

    with mock.patch("stripe.Subscription.retrieve", side_effect=retrieve) as patched:
        yield patched


@pytest.fixture
def stripe_member(client, stripe_settings):
    """A fan who subscribed through Stripe and paid the first period on the hosted page."""
    plan, fan = make_plan(), UserFactory()
    result, _ = stripe_subscribe(plan, fan)
    first = Payment.objects.get(purpose=services.PURPOSE, reference=result.membership.pk)
    send(client, "evt_checkout", "checkout.session.completed", checkout_completed(first))
    result.membership.refresh_from_db()
    return result.membership


class TestStripe:
    def test_subscribe_answers_with_a_hosted_page(self, stripe_settings):
        plan, fan = make_plan(price=Decimal("1500"), currency="JPY", interval="year"), UserFactory()
        result, create = stripe_subscribe(plan, fan)
        assert result.status == "awaiting_payment" and result.checkout_url == SESSION["url"]
        m = result.membership
        assert m.status == Membership.Status.PENDING and m.provider == "stripe"
        assert not perks_for(fan, plan.creator_id).is_member
        kwargs = create.call_args.kwargs
        assert kwargs["mode"] == "subscription"
        item = kwargs["line_items"][0]["price_data"]
        assert item["unit_amount"] == 1500 and item["currency"] == "jpy" and item["recurring"] == {"interval": "year"}
        assert kwargs["subscription_data"]["metadata"]["reference"] == m.pk
        assert kwargs["subscription_data"]["metadata"]["purpose"] == services.PURPOSE
        assert "payment_id" not in kwargs["subscription_data"]["metadata"]  # renewals are new payments
        assert kwargs["customer_email"] == fan.email
        assert Payment.objects.get(reference=m.pk).checkout_session == SESSION["id"]
        # Trying again before paying starts a new page for the same (pending) membership.
        again, _ = stripe_subscribe(plan, fan, {"id": "cs_test_m2", "url": "https://checkout.stripe.com/c/pay/cs_test_m2"})
        assert again.membership.pk == m.pk and again.status == "awaiting_payment"
        assert again.checkout_url.endswith("cs_test_m2")

    def test_checkout_completed_twice_activates_once(self, client, stripe_member):
        m = stripe_member
        assert m.status == Membership.Status.ACTIVE and m.subscription == "sub_1"
        end = m.current_period_end
        assert close_to(end, timezone.now() + MONTH)
        first = Payment.objects.get(reference=m.pk)
        send(client, "evt_checkout", "checkout.session.completed", checkout_completed(first))
        # Stripe also announces the first invoice as paid: same period, no second extension.
        send(client, "evt_inv1", "invoice.paid", invoice("in_1", m, first_payment=first.pk))
        m.refresh_from_db()
        assert m.current_period_end == end
        assert Payment.objects.filter(reference=m.pk).count() == 1

    def test_first_invoice_paid_before_checkout_completed_is_one_period(self, client, stripe_settings):
        plan, fan = make_plan(), UserFactory()
        result, _ = stripe_subscribe(plan, fan)
        m = result.membership
        first = Payment.objects.get(reference=m.pk)
        send(client, "evt_inv1", "invoice.paid", invoice("in_1", m, first_payment=first.pk))
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE
        end = m.current_period_end
        send(client, "evt_checkout", "checkout.session.completed", checkout_completed(first))
        m.refresh_from_db()
        assert m.current_period_end == end and m.subscription == "sub_1"
        payment = Payment.objects.get(reference=m.pk)
        assert payment.pk == first.pk and payment.invoice == "in_1" and payment.status == Payment.Status.CAPTURED

    def test_renewal_invoice_paid_twice_extends_once(self, client, stripe_member):
        m = stripe_member
        end = m.current_period_end
        renewed = int((end + MONTH).timestamp())  # the next period's end, as Stripe's invoice line says
        for _ in range(2):
            send(client, "evt_inv2", "invoice.paid", invoice("in_2", m, period_end=renewed))
        # The same invoice under another event id (Stripe's retries can do that): still one period.
        send(client, "evt_inv2_again", "invoice.paid", invoice("in_2", m, period_end=renewed))
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE
        assert close_to(m.current_period_end, end + MONTH)
        assert Payment.objects.filter(reference=m.pk, invoice="in_2").count() == 1

    def test_deleted_before_a_late_invoice_paid_stays_ended(self, client, stripe_member):
        m = stripe_member
        send(client, "evt_del", "customer.subscription.deleted", {"id": "sub_1", "object": "subscription",
                                                                   "status": "canceled", "metadata": {}})
        send(client, "evt_del", "customer.subscription.deleted", {"id": "sub_1", "object": "subscription",
                                                                   "status": "canceled", "metadata": {}})
        m.refresh_from_db()
        assert m.status == Membership.Status.ENDED
        ended_at, end = m.ended_at, m.current_period_end
        send(client, "evt_inv_late", "invoice.paid", invoice("in_late", m))
        m.refresh_from_db()
        assert m.status == Membership.Status.ENDED and m.ended_at == ended_at and m.current_period_end == end
        assert not perks_for(m.user, m.creator_id).is_member

    def test_payment_failed_is_past_due_then_paid_is_active(self, client, stripe_member):
        m = stripe_member
        end = m.current_period_end
        send(client, "evt_fail", "invoice.payment_failed", invoice("in_2", m))
        send(client, "evt_fail", "invoice.payment_failed", invoice("in_2", m))
        m.refresh_from_db()
        assert m.status == Membership.Status.PAST_DUE and m.current_period_end == end
        # Stripe retries the same invoice and it is paid.
        send(client, "evt_paid", "invoice.paid", invoice("in_2", m, period_end=int((end + MONTH).timestamp())))
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE and close_to(m.current_period_end, end + MONTH)
        # A failure notice for that invoice arriving late changes nothing.
        send(client, "evt_fail_late", "invoice.payment_failed", invoice("in_2", m))
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE

    def test_cancel_and_resume_tell_stripe(self, stripe_member):
        m = stripe_member
        with mock.patch("stripe.Subscription.modify", return_value={"id": "sub_1", "status": "active"}) as modify:
            m = services.cancel_membership(user=m.user, membership_id=m.pk)
            assert m.status == Membership.Status.CANCELLED
            assert modify.call_args.args == ("sub_1",)
            assert modify.call_args.kwargs["cancel_at_period_end"] is True
            m = services.resume_membership(user=m.user, membership_id=m.pk)
            assert m.status == Membership.Status.ACTIVE
            assert modify.call_args.kwargs["cancel_at_period_end"] is False

    def test_cancelled_member_keeps_state_through_a_renewal_then_ends(self, client, stripe_member):
        m = stripe_member
        with mock.patch("stripe.Subscription.modify", return_value={"id": "sub_1", "status": "active"}):
            services.cancel_membership(user=m.user, membership_id=m.pk)
        send(client, "evt_inv2", "invoice.paid", invoice("in_2", m))  # e.g. paid just before the cancel landed
        m.refresh_from_db()
        assert m.status == Membership.Status.CANCELLED
        send(client, "evt_del", "customer.subscription.deleted", {"id": "sub_1", "object": "subscription",
                                                                   "status": "canceled", "metadata": {}})
        m.refresh_from_db()
        assert m.status == Membership.Status.ENDED

    def test_stripe_failure_to_cancel_changes_nothing(self, stripe_member):
        import stripe

        m = stripe_member
        with mock.patch("stripe.Subscription.modify", side_effect=stripe.APIConnectionError("down")):
            with pytest.raises(Exception) as exc:
                services.cancel_membership(user=m.user, membership_id=m.pk)
        assert getattr(exc.value, "status", None) == 502
        m.refresh_from_db()
        assert m.status == Membership.Status.ACTIVE and not m.cancel_at_period_end
