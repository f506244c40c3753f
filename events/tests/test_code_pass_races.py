"""Single-use codes and pass credits under concurrent orders: they are held with the order under
reserve's locks, so they are spent at most once — also when orders are paid through the provider."""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services as commerce
from commerce.models import Order
from commerce.tests.helpers import run_together
from events.models import Ticket
from memberships.models import Pass, RewardRedemption
from memberships.tests.test_perks import issued_code
from microstage.errors import Conflict
from microstage.tests.factories import CreatorFactory, UserFactory

from .factories import EventFactory, TierFactory
from .test_member_perks import make_pass, reserve
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_count(monkeypatch):
    """Dawdle after counting holds inside reserve's transaction: widens any race window."""
    original = commerce._lock_and_count

    def slow(totals, now):
        result = original(totals, now)
        time.sleep(0.05)
        return result

    monkeypatch.setattr(commerce, "_lock_and_count", slow)


@pytest.fixture
def setup(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.MAX_OPEN_ORDERS_PER_ACCOUNT = 100  # this test is about codes and credits, not the open-order cap
    creator = CreatorFactory()
    event = EventFactory(creator=creator)
    return creator, TierFactory(event=event, price=Decimal("20.00"), quantity=100)


def reserve_and_pay(tier, fan, **options):
    order = reserve(tier, fan, 1, **options)
    return commerce.sandbox_pay(order.pk)


def test_ten_orders_with_one_single_use_code_discount_exactly_one(setup, slow_count):
    creator, tier = setup
    fan = UserFactory()
    code = issued_code(creator, fan, percent="10").code
    results, errors = run_together([lambda: reserve_and_pay(tier, fan, code=code) for _ in range(10)])
    paid = Order.objects.filter(status=Order.Status.PAID)
    discounted = [o for o in paid if o.discount > 0]
    assert len(discounted) == 1, [(o.pk, o.total, o.discount) for o in paid]
    assert discounted[0].total == Decimal("18.00")
    assert len(results) == 1
    assert errors and all(isinstance(e, Conflict) and e.code in ("code_held", "code_used") for e in errors), errors
    assert RewardRedemption.objects.get(code=code).status == RewardRedemption.Status.USED


def test_a_five_credit_pass_pays_for_at_most_five_tickets(setup, slow_count):
    creator, tier = setup
    fan = UserFactory()
    pass_obj = make_pass(creator, fan, credits=5)
    other = TierFactory(event=tier.event, price=Decimal("5.00"), quantity=100)

    def mixed_order():  # a pass line plus a paid line: the order is paid through the provider
        order = commerce.reserve(requests=[
            commerce.LineRequest("ticket", tier.pk, 1, (("pass", pass_obj.pk),)),
            commerce.LineRequest("ticket", other.pk, 1)], buyer=fan)
        return commerce.sandbox_pay(order.pk)

    results, errors = run_together([mixed_order for _ in range(8)])
    assert Ticket.objects.filter(tier=tier).count() <= 5
    assert Ticket.objects.filter(tier=tier).count() == len(results) == 5
    assert all(isinstance(e, Conflict) and e.code == "no_credits" for e in errors), errors
    pass_obj.refresh_from_db()
    assert pass_obj.credits_left == 0


def test_a_late_payment_does_not_keep_a_code_someone_else_used(setup):
    """An order whose hold lapsed is paid through the provider after another order used its code:
    it cannot take the code again, so it is refunded instead of keeping an unreserved discount."""
    creator, tier = setup
    fan = UserFactory()
    code = issued_code(creator, fan, percent="10").code
    late = reserve(tier, fan, 1, code=code)
    started = commerce.checkout(late.pk)
    past = timezone.now() - timedelta(seconds=1)
    Order.objects.filter(pk=late.pk).update(expires_at=past)
    late.holds.update(expires_at=past)
    second = reserve_and_pay(tier, fan, code=code)
    assert second.status == Order.Status.PAID and second.discount > 0
    from microstage.payments import services as payments

    payments.sandbox_complete(started.order.payment, "pay")
    late.refresh_from_db()
    assert late.status == Order.Status.REFUNDED
    assert Order.objects.filter(status=Order.Status.PAID, discount__gt=0).count() == 1


def test_credits_held_by_an_order_come_back_when_it_ends(setup):
    creator, tier = setup
    fan = UserFactory()
    pass_obj = make_pass(creator, fan, credits=2)
    first = reserve(tier, fan, 1, **{"pass": pass_obj.pk})
    reserve(tier, fan, 1, **{"pass": pass_obj.pk})
    with pytest.raises(Conflict) as exc:
        reserve(tier, fan, 1, **{"pass": pass_obj.pk})
    assert exc.value.code == "no_credits"
    commerce.cancel(first.pk, actor=SYSTEM)
    assert reserve(tier, fan, 1, **{"pass": pass_obj.pk}).total == 0
    assert Pass.objects.get(pk=pass_obj.pk).credits_left == 2  # nothing spent until paid
