"""Demo memberships: the "Night Owls Club" plan with the demo fan as a member, a 5-show pass, two rewards, points,
and two promo codes (SPRING10, partner RADIO5)."""
from decimal import Decimal

from django.conf import settings

from microstage import demo

from . import services
from .models import LoyaltyEntry, Membership, MembershipPlan, PassProduct, Reward
from microstage.permissions import SYSTEM

PLAN_NAME = "Night Owls Club"


@demo.register
def load(ctx: dict) -> None:
    owner, fan, creator = ctx["owner"], ctx["fan"], ctx["creator"]
    cur = settings.DEFAULT_CURRENCY
    plan = MembershipPlan.objects.filter(creator=creator, name=PLAN_NAME).first()
    if plan is None:
        plan = services.create_plan(
            actor=owner, creator=creator, name=PLAN_NAME, price=Decimal("5.00"), currency=cur, interval="month",
            description="Be part of the room: earlier tickets, member prices, members-only sessions and every clip.",
            early_access_hours=48, discount_percent=Decimal("10"), members_only_events=True, clip_access=True)
    ctx["plan"] = plan
    live = Membership.objects.filter(user=fan, creator=creator).exclude(status=Membership.Status.ENDED).exists()
    if not live and settings.PAYMENTS_PROVIDER == "sandbox":
        services.subscribe(user=fan, plan_id=plan.pk)  # the sandbox activates at once
    if not PassProduct.objects.filter(creator=creator).exists():
        services.create_pass_product(creator=creator, name="5-show pass", credits=5, price=Decimal("75.00"),
                                     currency=cur, valid_days=365, is_active=True, actor=SYSTEM)
    if not Reward.objects.filter(creator=creator).exists():
        services.create_reward(creator=creator, name="10% off your next tickets", kind=Reward.Kind.DISCOUNT_CODE,
                               description="A code for 10% off one ticket order.", cost_points=100, stock=50,
                               discount_percent=Decimal("10"), is_active=True, actor=SYSTEM)
        services.create_reward(creator=creator, name="Backstage upgrade", kind=Reward.Kind.BACKSTAGE_UPGRADE,
                               description="Meet the band after the show: show your code at the door.",
                               cost_points=400, stock=5, is_active=True, actor=SYSTEM)
    from . import promos
    from .models import PromoCode

    if not PromoCode.objects.filter(creator=creator).exists():  # a promotion and a partner's code
        promos.create_promo_code(creator=creator, code="SPRING10", percent_off="10", max_uses=100, actor=SYSTEM)
        promos.create_promo_code(creator=creator, code="RADIO5", kind="partner", partner="Late Night Radio",
                                 amount_off="5.00", currency=cur, actor=SYSTEM)
    services.award(user=fan, creator_id=creator.pk, points=150, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                   key=f"demo:welcome:{creator.pk}", note="Welcome points")
