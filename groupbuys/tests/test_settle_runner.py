"""Group-buy settlement at speed: participants settled by several threads, each capture taking a slot
of the provider's per-second rate (a setting, counted in Redis across threads and workers); still
exactly once per participant, idempotent and resumable."""
import threading
from collections import Counter
from decimal import Decimal

import pytest

from groupbuys import tasks
from groupbuys import services as groupbuys, settle_runner
from commerce.models import Order
from groupbuys.models import GroupBuyParticipant
from microstage.payments import services as payments
from microstage.payments.models import Payment
from microstage.payments.providers.base import ProviderError

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline


@pytest.fixture
def fake_clock(monkeypatch):
    """A clock that only moves when someone sleeps: windows are counted deterministically."""
    state = {"t": 1_000_000.0}
    lock = threading.Lock()

    def now():
        with lock:
            return state["t"]

    def sleep(seconds):
        with lock:
            state["t"] += seconds

    monkeypatch.setattr(settle_runner, "_now", now)
    monkeypatch.setattr(settle_runner, "_sleep", sleep)
    return now


@pytest.fixture
def windows(monkeypatch, fake_clock):
    """The one-second window each provider slot was granted in."""
    seen = []
    real = settle_runner.acquire_slot

    def recording(limit=None):
        real(limit)
        seen.append(int(fake_clock()))

    monkeypatch.setattr(settle_runner, "acquire_slot", recording)
    return seen


def test_rate_limit_defaults(settings):
    settings.PAYMENTS_PROVIDER = "stripe"
    assert settle_runner.rate_limit() == settings.STRIPE_RATE_LIMIT == 25.0  # test keys in the test settings
    settings.STRIPE_RATE_LIMIT = 100
    assert settle_runner.rate_limit() == 100
    settings.PAYMENTS_PROVIDER = "sandbox"
    assert settle_runner.rate_limit() == settings.SANDBOX_RATE_LIMIT == 0


@pytest.mark.django_db
def test_slots_never_exceed_the_rate_in_any_window(fake_clock):
    granted = []
    for _ in range(23):
        settle_runner.acquire_slot(5)
        granted.append(int(fake_clock()))
    per_window = Counter(granted)
    assert max(per_window.values()) == 5 and len(per_window) == 5


@pytest.mark.django_db(transaction=True)
def test_threads_settle_everyone_once_within_the_rate(settings, windows):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SANDBOX_RATE_LIMIT = 4
    settings.SETTLE_CONCURRENCY = 4
    gb = group_buy()  # 5 → 8.00, 10 → 6.00
    for _ in range(11):
        join(gb, 1)
    past_deadline(gb)
    settled = groupbuys.settle(gb.pk)
    assert (settled.status, settled.final_price) == ("settled", Decimal("6.00"))
    assert max(Counter(windows).values()) <= 4 and len(windows) == 11
    for p in GroupBuyParticipant.objects.filter(group_buy=gb).select_related("payment", "order"):
        assert (p.status, p.charged_amount, p.payment.captured_amount) == ("captured", Decimal("6.00"),
                                                                             Decimal("6.00"))
        assert Payment.objects.filter(purpose=groupbuys.PURPOSE, reference=p.pk).count() == 1
        assert (p.order.status, p.order.total) == ("paid", Decimal("6.00"))
    again = groupbuys.settle(gb.pk)  # idempotent
    assert again.status == "settled" and len(windows) == 11


@pytest.mark.django_db(transaction=True)
def test_threads_stop_at_a_provider_error_and_a_second_run_resumes(settings, monkeypatch):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SETTLE_CONCURRENCY = 3
    gb = group_buy()
    for _ in range(9):
        join(gb, 1)
    past_deadline(gb)
    real, calls = payments.capture, []

    def flaky(payment_id, amount):
        calls.append(payment_id)
        if len(calls) == 4:
            raise ProviderError("provider down", code="api_error", status=500)
        return real(payment_id, amount)

    monkeypatch.setattr(payments, "capture", flaky)
    with pytest.raises(ProviderError):
        groupbuys.settle(gb.pk)
    done = GroupBuyParticipant.objects.filter(group_buy=gb, status="captured").count()
    assert 0 < done < 9
    monkeypatch.setattr(payments, "capture", real)
    settled = groupbuys.settle(gb.pk)
    assert settled.status == "settled"
    assert GroupBuyParticipant.objects.filter(group_buy=gb, status="captured").count() == 9
    assert Order.objects.filter(pk__in=GroupBuyParticipant.objects.filter(group_buy=gb).values("order_id"),
                                status="paid").count() == 9
    for p in GroupBuyParticipant.objects.filter(group_buy=gb):
        assert Payment.objects.filter(purpose=groupbuys.PURPOSE, reference=p.pk, status="captured").count() == 1


def test_batches_are_spaced_by_the_rate(settings):
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_RATE_LIMIT = 25
    assert tasks.batch_spacing() == tasks.GROUP_BUY_BATCH / 25
    settings.STRIPE_RATE_LIMIT = 100
    assert tasks.batch_spacing() == tasks.GROUP_BUY_BATCH / 100
    settings.PAYMENTS_PROVIDER = "sandbox"
    assert tasks.batch_spacing() == 0
