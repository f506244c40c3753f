"""Factories for memberships: plans and memberships, passes, loyalty, referrals, rewards and promo
codes. Every default makes a valid row; pass what a test cares about."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from memberships import models as m
from microstage.tests.factories import CreatorFactory, UserFactory

EUR = "EUR"


class MembershipPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MembershipPlan

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Inner circle {n}")
    price = Decimal("4.00")
    currency = EUR


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Membership

    plan = factory.SubFactory(MembershipPlanFactory)
    creator = factory.LazyAttribute(lambda o: o.plan.creator)
    user = factory.SubFactory(UserFactory)


class PassProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PassProduct

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Five-show pass {n}")
    credits = 5
    price = Decimal("60.00")
    currency = EUR


class PassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Pass

    product = factory.SubFactory(PassProductFactory)
    creator = factory.LazyAttribute(lambda o: o.product.creator)
    user = factory.SubFactory(UserFactory)
    credits_total = factory.LazyAttribute(lambda o: o.product.credits)
    credits_left = factory.LazyAttribute(lambda o: o.credits_total)
    expires_at = factory.LazyFunction(lambda: tz.now() + timedelta(days=180))
    order_line_id = factory.Sequence(lambda n: f"ol_pass_{n}")


class PassRedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PassRedemption

    pass_obj = factory.SubFactory(PassFactory)
    order_line_id = factory.Sequence(lambda n: f"ol_redeem_{n}")


class LoyaltyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LoyaltyAccount

    user = factory.SubFactory(UserFactory)
    creator = factory.SubFactory(CreatorFactory)


class LoyaltyEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LoyaltyEntry

    account = factory.SubFactory(LoyaltyAccountFactory)
    points = 10
    reason = "attendance"
    key = factory.Sequence(lambda n: f"test-points-{n}")


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Referral

    creator = factory.SubFactory(CreatorFactory)
    referrer = factory.SubFactory(UserFactory)
    referred = factory.SubFactory(UserFactory)


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Reward

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Backstage upgrade {n}")
    kind = "backstage_upgrade"
    cost_points = 100
    stock = 5


class RewardRedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.RewardRedemption

    reward = factory.SubFactory(RewardFactory)
    account = factory.SubFactory(LoyaltyAccountFactory, creator=factory.SelfAttribute("..reward.creator"))


class PromoCodeFactory(factory.django.DjangoModelFactory):
    """10 % off everything of the creator."""

    class Meta:
        model = m.PromoCode

    creator = factory.SubFactory(CreatorFactory)
    code = factory.Sequence(lambda n: f"SAVE{n}")
    percent_off = Decimal("10")


class PromoCodeUseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PromoCodeUse

    promo = factory.SubFactory(PromoCodeFactory)
    order_id = factory.Sequence(lambda n: f"ord_test_{n}")
