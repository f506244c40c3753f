"""One account cannot hoard a tier: a per-person cap on unpaid units of a tier, a per-account cap on
open orders, and a shorter hold when the last units go (commerce/holdlimits.py)."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services as commerce
from commerce.tests.helpers import run_together
from microstage.errors import Conflict
from microstage.tests.factories import UserFactory

from .factories import EventFactory, TierFactory
from .test_member_perks import api_for, reserve
from microstage.permissions import SYSTEM


@pytest.fixture
def tier(db, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    return TierFactory(event=EventFactory(), price=Decimal("10.00"), quantity=30, max_per_order=6)


def post(user, tier, quantity):
    return api_for(user).post("/api/v1/orders", data=json.dumps({"lines": [{"tier": tier.pk, "quantity": quantity}]}),
                              content_type="application/json")


class TestPerPersonTierCap:
    def test_six_orders_of_six_hold_six_not_the_tier(self, tier):
        hoarder = UserFactory()
        assert post(hoarder, tier, 6).status_code == 201
        for _ in range(5):
            r = post(hoarder, tier, 6)
            assert r.status_code == 409 and r.json()["code"] == "limit_exceeded", r.content
        r = post(hoarder, tier, 1)
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
        assert post(UserFactory(), tier, 6).status_code == 201  # everyone else still buys

    def test_paying_or_cancelling_frees_the_cap(self, tier):
        fan = UserFactory()
        first = reserve(tier, fan, 6)
        commerce.sandbox_pay(first.pk)
        second = reserve(tier, fan, 6)  # paid tickets are not a hold
        commerce.cancel(second.pk, actor=SYSTEM)
        assert reserve(tier, fan, 6).status == "reserved"

    def test_the_setting_lowers_it(self, tier, settings):
        settings.PER_PERSON_HOLD_LIMIT = 2
        fan = UserFactory()
        with pytest.raises(Conflict) as exc:
            reserve(tier, fan, 3)
        assert exc.value.code == "limit_exceeded"
        reserve(tier, fan, 2)

    @pytest.mark.django_db(transaction=True)
    def test_concurrent_orders_of_one_account_hold_one_orders_worth(self, settings):
        settings.PAYMENTS_PROVIDER = "sandbox"
        tier = TierFactory(event=EventFactory(), quantity=30, max_per_order=6)
        hoarder = UserFactory()
        results, errors = run_together([lambda: reserve(tier, hoarder, 6) for _ in range(6)])
        assert len(results) == 1
        assert all(isinstance(e, Conflict) and e.code == "limit_exceeded" for e in errors), errors


class TestOpenOrdersPerAccount:
    def test_capped_then_freed_by_paying(self, tier, settings):
        settings.MAX_OPEN_ORDERS_PER_ACCOUNT = 3
        fan = UserFactory()
        tiers = [TierFactory(event=tier.event, quantity=30) for _ in range(4)]
        orders = [reserve(t, fan, 1) for t in tiers[:3]]
        r = post(fan, tiers[3], 1)
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded", r.content
        commerce.sandbox_pay(orders[0].pk)
        assert post(fan, tiers[3], 1).status_code == 201

    def test_several_lines_count_as_one_order(self, tier, settings):
        settings.MAX_OPEN_ORDERS_PER_ACCOUNT = 1
        fan = UserFactory()
        other = TierFactory(event=tier.event, quantity=30)
        order = commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 2),
                                           commerce.LineRequest("ticket", other.pk, 2)], buyer=fan)
        assert order.lines.count() == 2
        with pytest.raises(Conflict):
            reserve(other, fan, 1)


class TestRushHold:
    def test_plenty_left_gets_the_normal_hold(self, tier, settings):
        order = reserve(tier, UserFactory(), 1)
        assert abs(order.expires_at - (timezone.now() + timedelta(seconds=settings.HOLD_SECONDS))) < timedelta(
            seconds=5)

    def test_the_last_units_are_held_shorter(self, db, settings):
        settings.RUSH_HOLD_SECONDS = 120
        tier = TierFactory(event=EventFactory(), quantity=10, max_per_order=10)
        order = reserve(tier, UserFactory(), 9)  # leaves 1 of 10: under 20 %
        assert abs(order.expires_at - (timezone.now() + timedelta(seconds=120))) < timedelta(seconds=5)
        assert order.holds.first().expires_at == order.expires_at
