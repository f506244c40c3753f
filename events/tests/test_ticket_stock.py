"""Real ticket tiers through commerce on PostgreSQL: tier and venue limits under a rush, tickets once.

The commerce tests (commerce/tests/) prove the reserve primitive with a test-only kind, since the
layering contract keeps commerce, tests included, from importing events. These run the same
scenarios through ticket_offer, tier_pools, issue_tickets and void_tickets.
"""
import pytest
from django.test import Client

from commerce import services
from commerce.models import Order
from commerce.models.inventory import Inventory
from commerce.services import LineRequest
from events.models import Event, Ticket, TicketTier
from events.models import TICKET_KIND
from microstage.errors import Conflict
from microstage.payments import services as payments
from microstage.payments.models import Payment
from microstage.tests.factories import UserFactory
from microstage.tests.test_payments_helpers import post_webhook, signed_headers, stripe_event

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

BUYERS = 30


def run_together(funcs):
    """Each function in its own thread and DB connection, released together; (results, errors)."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(funcs))
    results, errors, lock = [], [], threading.Lock()

    def run(func):
        try:
            barrier.wait(timeout=30)
            value = func()
            with lock:
                results.append(value)
        except Exception as exc:  # asserted by the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f,)) for f in funcs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results, errors


def buy(tier, quantity=1, buyer=None):
    return services.reserve(requests=[LineRequest(TICKET_KIND, tier.pk, quantity)], buyer=buyer or UserFactory())


def taken(key):
    from commerce.selectors import availability_by_key

    pool = Inventory.objects.get(key=key)
    return pool.total - availability_by_key([key])[key]


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.mark.django_db(transaction=True)
class TestRush:
    def test_last_tickets_of_a_tier(self, sandbox):
        tier = TierFactory(quantity=12)
        services.sandbox_pay(buy(tier, 4).pk)
        buy(tier, 3)  # 5 left
        buyers = [UserFactory() for _ in range(BUYERS)]
        orders, errors = run_together([lambda b=b: buy(tier, 1, b) for b in buyers])
        assert len(orders) == 5
        assert len(errors) == BUYERS - 5
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors)
        assert taken(f"tier:{tier.pk}") == 12
        for order in orders:
            services.sandbox_pay(order.pk)
        pool = Inventory.objects.get(key=f"tier:{tier.pk}")
        assert pool.sold == 9 <= pool.total == 12
        assert Ticket.objects.filter(tier=tier).count() == 9

    def test_venue_capacity_shared_by_two_tiers(self):
        event = EventFactory(venue_capacity=10)
        standard, vip = TierFactory(event=event, quantity=8), TierFactory(event=event, quantity=8, kind="vip")
        stream = TierFactory(event=event, quantity=50, kind=TicketTier.Kind.ONLINE)  # not in the room
        buyers = [UserFactory() for _ in range(BUYERS)]
        tiers = [standard, vip] * (BUYERS // 2)
        orders, errors = run_together([lambda b=b, t=t: buy(t, 1, b) for b, t in zip(buyers, tiers, strict=True)])
        assert len(orders) == 10
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors) and len(errors) == BUYERS - 10
        assert taken(f"venue:{event.pk}") == 10
        assert taken(f"tier:{standard.pk}") <= 8 and taken(f"tier:{vip.pk}") <= 8
        assert buy(stream, 5).status == Order.Status.RESERVED  # online tickets do not need a seat


@pytest.mark.django_db
class TestTicketsOnce:
    def test_confirmation_twice_issues_tickets_once(self, sandbox):
        tier = TierFactory(quantity=5)
        order = buy(tier, 2)
        services.checkout(order.pk)
        payment = Order.objects.get(pk=order.pk).payment
        payments.sandbox_complete(payment, "pay")
        payments.sandbox_complete(payment, "pay")
        services.sandbox_pay(order.pk)
        assert Ticket.objects.filter(order_line__order=order).count() == 2
        assert Inventory.objects.get(key=f"tier:{tier.pk}").sold == 2

    def test_stripe_webhook_bad_signature_then_good_twice(self, stripe_settings):
        tier = TierFactory(quantity=5)
        order = buy(tier, 2)
        payment = Payment.objects.create(provider="stripe", amount=order.total, currency=order.currency,
                                         purpose=services.PURPOSE, reference=order.pk, provider_reference="pi_tix")
        Order.objects.filter(pk=order.pk).update(status=Order.Status.AWAITING_PAYMENT, payment=payment)
        body = stripe_event("evt_tix", "payment_intent.succeeded", {
            "id": "pi_tix", "object": "payment_intent", "status": "succeeded", "amount": 4000,
            "amount_received": 4000, "currency": "eur", "metadata": {"payment_id": payment.pk}})
        assert post_webhook(Client(), body, signed_headers(body, secret="whsec_forged")).status_code == 400
        assert Ticket.objects.count() == 0
        assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
        assert Inventory.objects.get(key=f"tier:{tier.pk}").sold == 0
        for _ in range(2):
            assert post_webhook(Client(), body, signed_headers(body)).status_code == 200
        assert Ticket.objects.filter(order_line__order=order, status=Ticket.Status.VALID).count() == 2
        assert Inventory.objects.get(key=f"tier:{tier.pk}").sold == 2


@pytest.mark.django_db
class TestRefundVoidsTickets:
    def test_per_line_then_whole(self, sandbox):
        event = EventFactory(venue_capacity=20)
        standard, vip = TierFactory(event=event, quantity=10), TierFactory(event=event, quantity=5, kind="vip")
        order = services.reserve(requests=[LineRequest(TICKET_KIND, standard.pk, 3),
                                           LineRequest(TICKET_KIND, vip.pk, 1)], buyer=UserFactory())
        services.sandbox_pay(order.pk)
        assert Ticket.objects.filter(event=event, status=Ticket.Status.VALID).count() == 4
        line_std = order.lines.get(item_id=standard.pk)

        services.refund(order.pk, line_ids=[line_std.pk], actor=SYSTEM)
        assert Ticket.objects.filter(tier=standard, status=Ticket.Status.VOID).count() == 3
        assert Ticket.objects.filter(tier=vip, status=Ticket.Status.VALID).count() == 1
        assert Inventory.objects.get(key=f"venue:{event.pk}").sold == 1
        assert Inventory.objects.get(key=f"tier:{standard.pk}").sold == 0

        services.refund(order.pk, actor=SYSTEM)
        assert Ticket.objects.filter(event=event, status=Ticket.Status.VALID).count() == 0
        assert Inventory.objects.get(key=f"venue:{event.pk}").sold == 0
        with pytest.raises(Conflict):
            services.refund(order.pk, actor=SYSTEM)
        assert Payment.objects.get(reference=order.pk).refunded_amount == order.total

    def test_cancelled_event_refunds_and_voids(self, sandbox, mailoutbox):
        from events.services.events import cancel_event

        tier = TierFactory(quantity=5)
        order = buy(tier, 2)
        services.sandbox_pay(order.pk)
        event, refunded = cancel_event(tier.event, reason="Storm.", actor=SYSTEM)
        assert event.status == Event.Status.CANCELLED and refunded == 1
        assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
        assert Ticket.objects.filter(tier=tier, status=Ticket.Status.VALID).count() == 0
        assert Inventory.objects.get(key=f"tier:{tier.pk}").sold == 0
        with pytest.raises(Conflict):  # and nothing more is sold
            buy(tier)
