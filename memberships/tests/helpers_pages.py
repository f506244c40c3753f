"""Helpers for the memberships page, dashboard and admin tests: plans, members at given dates, rewards."""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from memberships.models import LoyaltyEntry, Membership, MembershipPlan, PassProduct, Reward
from memberships.services import award
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member


def make_plan(creator, **fields) -> MembershipPlan:
    values = {"name": "Club", "price": Decimal("5.00"), "currency": "EUR", "interval": "month",
              "early_access_hours": 48, "discount_percent": Decimal("10"), "members_only_events": True,
              "clip_access": True}
    values.update(fields)
    return MembershipPlan.objects.create(creator=creator, **values)


def make_member(plan, *, status="active", started_days=10, ended_days=None, period_end_days=20, user=None,
                now=None) -> Membership:
    """A membership as the provider would have left it: started so many days ago, maybe ended."""
    now = now or timezone.now()
    return Membership.objects.create(
        plan=plan, creator=plan.creator, user=user or UserFactory(), status=status, provider="sandbox",
        started_at=now - timedelta(days=started_days) if started_days is not None else None,
        ended_at=now - timedelta(days=ended_days) if ended_days is not None else None,
        current_period_end=now + timedelta(days=period_end_days) if period_end_days is not None else None,
        cancel_at_period_end=status == "cancelled")


def make_reward(creator, **fields) -> Reward:
    values = {"name": "10% code", "kind": Reward.Kind.DISCOUNT_CODE, "cost_points": 100, "stock": 3,
              "discount_percent": Decimal("10")}
    values.update(fields)
    return Reward.objects.create(creator=creator, **values)


def make_pass_product(creator, **fields) -> PassProduct:
    values = {"name": "5-show pass", "credits": 5, "price": Decimal("75.00"), "currency": "EUR", "valid_days": 365}
    values.update(fields)
    return PassProduct.objects.create(creator=creator, **values)


def give_points(user, creator, points: int, key: str = "test") -> None:
    award(user=user, creator_id=creator.pk, points=points, reason=LoyaltyEntry.Reason.ADJUSTMENT,
          key=f"{key}:{user.pk}:{creator.pk}")


def creator_with_team():
    creator = CreatorFactory(name="Night Owls", slug="night-owls")
    return creator, {role: team_member(creator, role) for role in (Role.OWNER, Role.MANAGER, Role.DOOR,
                                                                  Role.MODERATOR)}
