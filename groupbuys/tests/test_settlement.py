"""Group-buy settlement: every participant charged exactly once at the right price, or released.

Tier reached / not reached / exactly at a threshold / capped; run twice; a crash part-way then a
second run; the saved-card path with a decline, its grace period and the seat released; rate limits
(retried); capture webhooks delivered twice and out of order.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from groupbuys import tasks
from groupbuys import services as groupbuys
from commerce.models import Order
from groupbuys.models import GroupBuy, GroupBuyParticipant
from commerce.signals import order_paid
from microstage.errors import Conflict
from microstage.payments import services as payments
from microstage.payments.events import Kind, PaymentEvent
from microstage.payments.models import Payment, ProcessedEvent
from microstage.payments.providers.base import ProviderError

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_provider")]


@pytest.fixture
def sandbox_provider(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def paid_signals():
    seen = []

    def receiver(sender, order, **kw):
        seen.append(order.pk)

    order_paid.connect(receiver, dispatch_uid="test-settlement")
    yield seen
    order_paid.disconnect(dispatch_uid="test-settlement")


def _settle(gb, capture, **kw):
    with capture(execute=True):
        return groupbuys.settle(gb.pk, **kw)


def _assert_charged(gb, price: Decimal):
    """Every participant captured once at price × quantity; their orders paid with that total."""
    for p in GroupBuyParticipant.objects.filter(group_buy=gb).select_related("payment", "order"):
        amount = price * p.quantity
        assert (p.status, p.charged_amount) == ("captured", amount), p.outcome
        assert Payment.objects.filter(purpose=groupbuys.PURPOSE, reference=p.pk).count() == 1
        assert (p.payment.status, p.payment.captured_amount) == ("captured", amount)
        assert (p.order.status, p.order.total, p.order.payment_id) == ("paid", amount, p.payment_id)
        line = p.order.lines.get()
        assert (line.unit_price, line.total, line.list_price) == (price, amount, Decimal("10.00"))
        assert p.order.subtotal - p.order.discount == p.order.total


def test_tier_reached_exactly_at_the_threshold(django_capture_on_commit_callbacks, paid_signals):
    gb = group_buy()  # 5 → 8.00, 10 → 6.00, list 10.00
    for q in (2, 2, 1):
        join(gb, q)
    past_deadline(gb)
    settled = _settle(gb, django_capture_on_commit_callbacks)
    assert (settled.status, settled.final_price, settled.committed_quantity) == ("settled", Decimal("8.00"), 5)
    _assert_charged(gb, Decimal("8.00"))
    assert len(paid_signals) == 3
    assert len(mail.outbox) >= 3
    assert any("Group-buy done" in m.subject for m in mail.outbox)


def test_tier_not_reached_releases_everyone(django_capture_on_commit_callbacks, paid_signals):
    gb = group_buy()
    for q in (2, 2):
        join(gb, q)
    past_deadline(gb)
    settled = _settle(gb, django_capture_on_commit_callbacks)
    assert (settled.status, settled.final_price) == ("settled", None)
    for p in GroupBuyParticipant.objects.filter(group_buy=gb).select_related("payment", "order"):
        assert p.status == "released" and p.charged_amount is None and "did not reach" in p.outcome
        assert (p.payment.status, p.payment.captured_amount) == ("cancelled", Decimal("0"))
        assert p.order.status == "cancelled"
    assert paid_signals == []
    assert sum("nothing was charged" in m.subject for m in mail.outbox) == 2


def test_top_tier_and_the_cap(django_capture_on_commit_callbacks):
    gb = group_buy(max_quantity=12)
    for q in (4, 4, 4):
        join(gb, q)
    with pytest.raises(Conflict):
        join(gb, 1)
    past_deadline(gb)
    settled = _settle(gb, django_capture_on_commit_callbacks)
    assert (settled.status, settled.final_price, settled.committed_quantity) == ("settled", Decimal("6.00"), 12)
    _assert_charged(gb, Decimal("6.00"))


def test_running_twice_charges_once(django_capture_on_commit_callbacks, paid_signals):
    gb = group_buy()
    for _ in range(6):
        join(gb, 1)
    past_deadline(gb)
    _settle(gb, django_capture_on_commit_callbacks)
    events = ProcessedEvent.objects.count()
    outbox = len(mail.outbox)
    again = _settle(gb, django_capture_on_commit_callbacks)
    assert again.status == "settled"
    assert ProcessedEvent.objects.count() == events and len(mail.outbox) == outbox
    assert len(paid_signals) == 6
    _assert_charged(gb, Decimal("8.00"))


def test_a_crash_part_way_then_a_second_run_completes_the_rest(monkeypatch, django_capture_on_commit_callbacks):
    gb = group_buy()
    for _ in range(7):
        join(gb, 1)
    past_deadline(gb)
    real, calls = payments.capture, []

    def crashing(payment_id, amount=None):
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        calls.append(payment_id)
        return real(payment_id, amount)

    monkeypatch.setattr(payments, "capture", crashing)
    with pytest.raises(RuntimeError):
        _settle(gb, django_capture_on_commit_callbacks)
    gb.refresh_from_db()
    assert (gb.status, gb.final_price) == ("succeeded", Decimal("8.00"))  # decided once, not settled
    statuses = list(GroupBuyParticipant.objects.filter(group_buy=gb).values_list("status", flat=True))
    assert statuses.count("captured") == 3 and statuses.count("authorized") == 4
    monkeypatch.setattr(payments, "capture", real)
    assert _settle(gb, django_capture_on_commit_callbacks).status == "settled"
    _assert_charged(gb, Decimal("8.00"))
    assert Payment.objects.filter(status="captured").count() == 7


def test_a_crash_after_the_provider_captured_is_completed_without_capturing_twice(monkeypatch):
    """The provider said yes but our transaction died: the payment is still authorised here; the next
    run captures with the same idempotency key (the provider answers the same capture) and records it once."""
    gb = group_buy(tiers=[{"min_quantity": 1, "price": "9.00"}])
    p = join(gb, 2).participant
    past_deadline(gb)
    real = groupbuys.on_payment_paid
    keys = []
    from microstage.payments.providers.sandbox import SandboxProvider
    real_capture = SandboxProvider.capture

    def spy(self, reference, *, amount, currency, idempotency_key=""):
        keys.append(idempotency_key)
        return real_capture(self, reference, amount=amount, currency=currency, idempotency_key=idempotency_key)

    monkeypatch.setattr(SandboxProvider, "capture", spy)

    def dying(payment):
        raise RuntimeError("crash inside the capture's transaction")

    from microstage.payments.registry import _handlers, register_handler
    saved = _handlers[groupbuys.PURPOSE]
    register_handler(groupbuys.PURPOSE, **{**saved.__dict__, "on_paid": dying})
    try:
        with pytest.raises(RuntimeError):
            groupbuys.settle(gb.pk)
    finally:
        register_handler(groupbuys.PURPOSE, **{**saved.__dict__, "on_paid": real})
    assert Payment.objects.get(pk=p.payment_id).status == "authorized"
    assert groupbuys.settle(gb.pk).status == "settled"
    assert len(keys) == 2 and keys[0] == keys[1]  # the same capture, asked twice: one charge at the provider
    _assert_charged(gb, Decimal("9.00"))


def test_saved_card_decline_gets_a_grace_period_then_the_seat_is_released(django_capture_on_commit_callbacks):
    gb = group_buy(days=10, tiers=[{"min_quantity": 2, "price": "7.00"}])
    good = join(gb, 1).participant
    bad = join(gb, 1, payment_method="sandbox_decline").participant
    assert not Payment.objects.exists()
    past_deadline(gb)
    gb = _settle(gb, django_capture_on_commit_callbacks)
    assert gb.status == "succeeded"  # one participant is still in its grace period
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, good.charged_amount, good.order.status) == ("captured", Decimal("7.00"), "paid")
    assert Payment.objects.get(pk=good.payment_id).capture_method == "automatic"
    assert (bad.status, bad.attempts) == ("authorized", 1) and "try once more" in bad.outcome
    assert any("declined" in m.subject for m in mail.outbox)
    # Inside the grace period nothing is tried again.
    _settle(gb, django_capture_on_commit_callbacks)
    assert Payment.objects.filter(reference=bad.pk).count() == 1
    # After it: one retry, declined again → seat released, recorded as declined, order cancelled.
    later = gb.settle_started_at + groupbuys.DECLINE_GRACE + timedelta(minutes=1)
    gb = _settle(gb, django_capture_on_commit_callbacks, now=later)
    bad.refresh_from_db()
    assert (bad.status, bad.attempts, bad.order.status) == ("declined", 2, "cancelled")
    assert list(Payment.objects.filter(reference=bad.pk).values_list("status", flat=True)) == ["failed", "failed"]
    assert gb.status == "settled"
    assert any("place was released" in m.subject for m in mail.outbox)


def test_rate_limited_captures_are_retried(monkeypatch):
    gb = group_buy(tiers=[{"min_quantity": 1, "price": "5.00"}])
    for _ in range(4):
        join(gb, 1)
    past_deadline(gb)
    groupbuys.begin_settlement(gb.pk)
    real, state = payments.capture, {"n": 0}

    def limited(payment_id, amount=None):
        state["n"] += 1
        if state["n"] == 3:
            raise ProviderError("Too many requests.", code="rate_limited", status=429)
        return real(payment_id, amount)

    monkeypatch.setattr(payments, "capture", limited)
    ids = groupbuys.unsettled_participants(gb.pk)
    first = groupbuys.settle_batch(gb.pk, ids)
    assert first.rate_limited and first.settled == 2
    # The Celery batch task retries the batch (eagerly here); finished participants are skipped.
    tasks.settle_group_buy_batch.apply(args=(gb.pk, ids))
    assert GroupBuy.objects.get(pk=gb.pk).status == "settled"
    _assert_charged(gb, Decimal("5.00"))


def test_beat_task_finds_due_group_buys_and_queues_them(monkeypatch):
    due = group_buy(tiers=[{"min_quantity": 1, "price": "5.00"}])
    join(due, 1)
    past_deadline(due)
    group_buy()  # not due yet
    queued = []
    monkeypatch.setattr(tasks.settle_group_buy, "delay", queued.append)
    assert tasks.settle_due_group_buys() == 1 and queued == [due.pk]
    batches = []
    monkeypatch.setattr(tasks.settle_group_buy_batch, "apply_async",
                        lambda args, countdown=0: batches.append((args, countdown)))
    assert tasks.settle_group_buy(due.pk) == 1
    assert GroupBuy.objects.get(pk=due.pk).status == "succeeded" and len(batches) == 1
    tasks.settle_group_buy_batch.apply(args=batches[0][0])
    assert GroupBuy.objects.get(pk=due.pk).status == "settled"


def test_capture_webhooks_twice_and_out_of_order_change_nothing_twice(paid_signals):
    gb = group_buy(tiers=[{"min_quantity": 2, "price": "8.00"}])
    a = join(gb, 1).participant
    b = join(gb, 2).participant
    past_deadline(gb)
    groupbuys.begin_settlement(gb.pk)
    pay_a = Payment.objects.get(pk=a.payment_id)
    # The provider's "captured" notice for A arrives before our own run reaches A (e.g. a crashed run
    # that captured): it records A, and the run does not capture A again.
    captured = PaymentEvent("sandbox", "evt_cap_a", Kind.CAPTURED, payment_id=pay_a.pk,
                            provider_reference=pay_a.provider_reference, amount=Decimal("8.00"), currency="EUR")
    assert payments.handle_event(captured) is not None
    assert payments.handle_event(captured) is None  # the same delivery twice
    assert GroupBuyParticipant.objects.get(pk=a.pk).status == "captured"
    assert groupbuys.settle(gb.pk).status == "settled"
    # Late and repeated news about both payments: another id for the same capture, a stale authorisation.
    for p in (a, b):
        pay = Payment.objects.get(pk=GroupBuyParticipant.objects.get(pk=p.pk).payment_id)
        payments.handle_event(PaymentEvent("sandbox", f"evt_again_{p.pk}", Kind.CAPTURED, payment_id=pay.pk,
                                           amount=pay.captured_amount, currency="EUR"))
        payments.handle_event(PaymentEvent("sandbox", f"evt_old_{p.pk}", Kind.AUTHORIZED, payment_id=pay.pk,
                                           amount=pay.amount, currency="EUR"))
        payments.handle_event(PaymentEvent("sandbox", f"evt_cancel_{p.pk}", Kind.CANCELLED, payment_id=pay.pk))
    _assert_charged(gb, Decimal("8.00"))
    assert sorted(paid_signals) == sorted([a.order_id, b.order_id])
    assert Order.objects.filter(status="paid").count() == 2


def test_settling_before_the_deadline_is_refused():
    gb = group_buy()
    join(gb, 1)
    with pytest.raises(Conflict) as exc:
        groupbuys.begin_settlement(gb.pk)
    assert exc.value.code == "too_early"
    assert GroupBuy.objects.get(pk=gb.pk).status == "open"
