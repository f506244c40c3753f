"""The memberships side of perks: perks_for (and so every perk) ends with the membership, and the rules
for a reward's discount code that events.ticket_offer asks — whose, which creator, which kind, once.

The perks on real ticket pages and the API (early access, members-only tiers and events, discounts,
codes and passes at the tier picker) are in events/tests/test_member_perks.py: the layering contract
keeps memberships, tests included, from importing events.
"""
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from commerce.tests.helpers import run_together
from memberships import services
from memberships.models import LoyaltyEntry, Membership, MembershipPlan, Reward, RewardRedemption
from memberships.selectors import NO_PERKS, perks_for
from microstage.errors import Conflict, Invalid, NotFound
from microstage.tests.factories import CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def member(creator, fan=None, status=Membership.Status.ACTIVE, period_end=timedelta(days=30), **perks):
    plan = MembershipPlan.objects.create(creator=creator, name="Club", price=Decimal("4.00"), currency="EUR",
                                         **perks)
    return Membership.objects.create(plan=plan, creator=creator, user=fan or UserFactory(), status=status,
                                     current_period_end=timezone.now() + period_end)


class TestPerksFollowTheMembership:
    def test_active_member_has_the_plans_perks(self):
        creator = CreatorFactory()
        m = member(creator, early_access_hours=48, discount_percent=Decimal("10"), members_only_events=True)
        perks = perks_for(m.user, creator.pk)
        assert perks.is_member and perks.early_access_hours == 48 and perks.members_only_events
        assert perks.discount_percent == Decimal("10")

    @pytest.mark.parametrize("status, period_end, has_perks", [
        (Membership.Status.ACTIVE, timedelta(days=-1), True),  # the provider says active: trust it
        (Membership.Status.PAST_DUE, timedelta(days=1), True),
        (Membership.Status.PAST_DUE, timedelta(seconds=-1), False),
        (Membership.Status.CANCELLED, timedelta(days=1), True),
        (Membership.Status.CANCELLED, timedelta(seconds=-1), False),
        (Membership.Status.ENDED, timedelta(days=1), False),
        (Membership.Status.PENDING, timedelta(days=1), False),
    ])
    def test_by_state(self, status, period_end, has_perks):
        creator = CreatorFactory()
        m = member(creator, status=status, period_end=period_end, discount_percent=Decimal("10"))
        assert (perks_for(m.user, creator.pk) != NO_PERKS) is has_perks

    def test_anonymous_and_other_creators(self):
        from django.contrib.auth.models import AnonymousUser

        creator = CreatorFactory()
        m = member(creator, discount_percent=Decimal("10"))
        assert perks_for(AnonymousUser(), creator.pk) == NO_PERKS
        assert perks_for(None, creator.pk) == NO_PERKS
        assert perks_for(m.user, CreatorFactory().pk) == NO_PERKS


def issued_code(creator, fan, percent="30", kind=Reward.Kind.DISCOUNT_CODE) -> RewardRedemption:
    reward = Reward.objects.create(creator=creator, name="Code", kind=kind, cost_points=10, stock=10,
                                   discount_percent=Decimal(percent) if percent else None)
    services.award(user=fan, creator_id=creator.pk, points=10, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                   key=f"seed:{reward.pk}")
    return services.redeem_reward(user=fan, reward_id=reward.pk)


class TestDiscountCodeRules:
    def test_the_buyers_code_for_this_creator(self):
        creator, fan = CreatorFactory(), UserFactory()
        code = issued_code(creator, fan).code
        assert services.code_discount(code=code, user=fan, creator_id=creator.pk) == Decimal("30")
        assert services.code_discount(code=code.upper(), user=fan, creator_id=creator.pk) == Decimal("30")

    def test_refusals(self):
        creator, fan = CreatorFactory(), UserFactory()
        code = issued_code(creator, fan).code
        with pytest.raises(NotFound):
            services.code_discount(code=code, user=UserFactory(), creator_id=creator.pk)
        with pytest.raises(NotFound):
            services.code_discount(code=code, user=None, creator_id=creator.pk)
        with pytest.raises(NotFound):
            services.code_discount(code="MS_nothing", user=fan, creator_id=creator.pk)
        with pytest.raises(Invalid):
            services.code_discount(code=code, user=fan, creator_id=CreatorFactory().pk)
        backstage = issued_code(creator, fan, percent=None, kind=Reward.Kind.BACKSTAGE_UPGRADE).code
        with pytest.raises(Invalid):
            services.code_discount(code=backstage, user=fan, creator_id=creator.pk)

    def test_used_once_the_same_order_may_repeat_it(self):
        creator, fan = CreatorFactory(), UserFactory()
        code = issued_code(creator, fan).code
        order = SimpleNamespace(pk="ord_a", paid_at=timezone.now())
        services.use_reward_code(code=code, user=fan, order=order)
        services.use_reward_code(code=code, user=fan, order=order)  # a second line of the same order
        with pytest.raises(Conflict) as exc:
            services.use_reward_code(code=code, user=fan, order=SimpleNamespace(pk="ord_b",
                                                                                paid_at=timezone.now()))
        assert exc.value.code == "code_used"
        with pytest.raises(Conflict) as exc:
            services.code_discount(code=code, user=fan, creator_id=creator.pk)
        assert exc.value.code == "code_used"

    def test_a_code_the_team_marked_used_is_used(self):
        creator, fan = CreatorFactory(), UserFactory()
        redemption = issued_code(creator, fan)
        services.mark_redemption_used(creator=creator, redemption_id=redemption.pk, actor=SYSTEM)
        with pytest.raises(Conflict):
            services.use_reward_code(code=redemption.code, user=fan,
                                     order=SimpleNamespace(pk="ord_a", paid_at=timezone.now()))


@pytest.mark.django_db(transaction=True)
def test_a_code_used_by_many_orders_at_once_is_used_once():
    creator, fan = CreatorFactory(), UserFactory()
    code = issued_code(creator, fan).code
    base = timezone.now()
    orders = [SimpleNamespace(pk=f"ord_{i}", paid_at=base + timedelta(microseconds=i)) for i in range(8)]
    results, errors = run_together([lambda o=o: services.use_reward_code(code=code, user=fan, order=o)
                                    for o in orders])
    assert len(results) == 1 and len(errors) == 7
    assert all(isinstance(e, Conflict) and e.code == "code_used" for e in errors), errors
    assert RewardRedemption.objects.get(code=code).status == RewardRedemption.Status.USED
