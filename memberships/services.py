"""Writes for memberships: subscriptions and their provider-driven states, passes, loyalty points,
referrals and rewards. Every balance or stock change happens under a row lock."""
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from microstage.errors import Conflict, Invalid, NotFound
from microstage.payments.models import Payment

from .models import (LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass, PassRedemption, Referral,
                     Reward, RewardRedemption)

log = logging.getLogger(__name__)
PURPOSE = "memberships.membership"
POINTS_PER_CURRENCY_UNIT = 1
ATTENDANCE_POINTS = 50
REFERRAL_POINTS = 100


# --- loyalty ledger ---------------------------------------------------------------------------

def _account(user, creator_id: str, *, lock: bool) -> LoyaltyAccount:
    LoyaltyAccount.objects.get_or_create(user=user, creator_id=creator_id)
    qs = LoyaltyAccount.objects.filter(user=user, creator_id=creator_id)
    return (qs.select_for_update() if lock else qs).get()


def award(*, user, creator_id: str, points: int, reason: str, key: str, note: str = "") -> LoyaltyEntry | None:
    """Add points once per `key` (a check-in, an order, a referral); None when already awarded."""
    if points <= 0:
        raise Invalid("Awards are positive.", fields={"points": ["Must be above zero."]})
    with transaction.atomic():
        account = _account(user, creator_id, lock=True)
        try:
            with transaction.atomic():
                entry = LoyaltyEntry.objects.create(account=account, points=points, reason=reason, key=key[:120],
                                                    note=note[:200])
        except IntegrityError:
            return None
        account.balance += points
        account.save(update_fields=["balance"])
        return entry


def _spend(account: LoyaltyAccount, points: int, *, key: str, note: str) -> LoyaltyEntry:
    """Take points from a locked account; never below zero."""
    if account.balance < points:
        raise Conflict(f"Not enough points: you have {account.balance}, this needs {points}.",
                       code="not_enough_points", balance=account.balance)
    entry = LoyaltyEntry.objects.create(account=account, points=-points, reason=LoyaltyEntry.Reason.REDEMPTION,
                                        key=key[:120], note=note[:200])
    account.balance -= points
    account.save(update_fields=["balance"])
    return entry


@transaction.atomic
def redeem_reward(*, user, reward_id: str) -> RewardRedemption:
    """Spend points on a reward. Locks the reward, then the fan's account (always in that order)."""
    reward = Reward.objects.select_for_update().filter(pk=reward_id, is_active=True).first()
    if reward is None:
        raise NotFound("No such reward.")
    if reward.stock < 1:
        raise Conflict("This reward is gone.", code="out_of_stock")
    account = _account(user, reward.creator_id, lock=True)
    redemption = RewardRedemption(reward=reward, account=account)
    _spend(account, reward.cost_points, key=f"reward:{redemption.pk}", note=reward.name)
    reward.stock -= 1
    reward.save(update_fields=["stock"])
    redemption.save()
    return redemption


def award_attendance(*, user, creator_id: str, ticket_id: str, event_title: str) -> None:
    if user is not None:
        award(user=user, creator_id=creator_id, points=ATTENDANCE_POINTS, reason=LoyaltyEntry.Reason.ATTENDANCE,
              key=f"checkin:{ticket_id}", note=event_title)


def award_purchase(*, user, creator_id: str, order_id: str, total) -> None:
    """Points for a paid order, and for whoever referred this fan if it is their first paid order here."""
    if user is None:
        return
    points = int(total) * POINTS_PER_CURRENCY_UNIT
    if points > 0:
        award(user=user, creator_id=creator_id, points=points, reason=LoyaltyEntry.Reason.PURCHASE,
              key=f"order:{order_id}", note=f"Order {order_id}")
    referral = (Referral.objects.select_for_update().filter(creator_id=creator_id, referred=user,
                                                            rewarded_at__isnull=True).first())
    if referral is not None:
        referral.rewarded_at = timezone.now()
        referral.save(update_fields=["rewarded_at"])
        award(user=referral.referrer, creator_id=creator_id, points=REFERRAL_POINTS,
              reason=LoyaltyEntry.Reason.REFERRAL, key=f"referral:{creator_id}:{user.pk}", note="A fan you invited")


def record_referral(*, code: str, referred, creator_id: str | None = None) -> Referral | None:
    """Remember who invited this fan (first link wins; nobody refers themselves)."""
    account = LoyaltyAccount.objects.filter(referral_code=code).select_related("user").first()
    if account is None or referred is None or account.user_id == referred.pk:
        return None
    if creator_id and account.creator_id != creator_id:
        return None
    referral, _ = Referral.objects.get_or_create(creator_id=account.creator_id, referred=referred,
                                                 defaults={"referrer": account.user})
    return referral


def referral_code(user, creator_id: str) -> str:
    return _account(user, creator_id, lock=False).referral_code


# --- passes -----------------------------------------------------------------------------------

@transaction.atomic
def use_pass_credits(*, pass_id: str, user, order_line_id: str, credits: int = 1) -> PassRedemption:
    """Spend credits of a pass on a ticket line (once per line); refused when none are left or expired."""
    existing = PassRedemption.objects.filter(order_line_id=order_line_id).first()
    if existing:
        return existing
    pass_obj = Pass.objects.select_for_update().filter(pk=pass_id, user=user).first()
    if pass_obj is None:
        raise NotFound("No such pass.")
    if pass_obj.expires_at <= timezone.now():
        raise Conflict("This pass has expired.", code="pass_expired")
    if pass_obj.credits_left < credits:
        raise Conflict("Not enough credits left on this pass.", code="no_credits", credits_left=pass_obj.credits_left)
    pass_obj.credits_left -= credits
    pass_obj.save(update_fields=["credits_left"])
    return PassRedemption.objects.create(pass_obj=pass_obj, order_line_id=order_line_id)


@transaction.atomic
def return_pass_credits(*, order_line_id: str, credits: int = 1) -> bool:
    """A refunded ticket paid with a pass gives its credit back (once)."""
    redemption = PassRedemption.objects.select_for_update().filter(order_line_id=order_line_id,
                                                                   returned_at__isnull=True).first()
    if redemption is None:
        return False
    pass_obj = Pass.objects.select_for_update().get(pk=redemption.pass_obj_id)
    pass_obj.credits_left = min(pass_obj.credits_total, pass_obj.credits_left + credits)
    pass_obj.save(update_fields=["credits_left"])
    redemption.returned_at = timezone.now()
    redemption.save(update_fields=["returned_at"])
    return True


# --- membership states, driven by the payments gateway ----------------------------------------

def _period(plan: MembershipPlan) -> timedelta:
    return timedelta(days=365) if plan.interval == MembershipPlan.Interval.YEAR else timedelta(days=30)


def _locked_membership(reference: str) -> Membership | None:
    return Membership.objects.select_for_update().select_related("plan").filter(pk=reference).first()


def on_period_paid(payment: Payment) -> None:
    """A period's invoice is paid: the membership is active until the end of that period."""
    membership = _locked_membership(payment.reference)
    if membership is None or membership.status == Membership.Status.ENDED:
        log.warning("payment %s for unknown or ended membership %s", payment.pk, payment.reference)
        return
    now = timezone.now()
    start = max(now, membership.current_period_end or now)
    membership.current_period_end = start + _period(membership.plan)
    if membership.status != Membership.Status.CANCELLED:
        membership.status = Membership.Status.ACTIVE
    membership.started_at = membership.started_at or now
    membership.provider = payment.provider
    membership.subscription = payment.subscription or membership.subscription
    membership.save()


def on_period_failed(payment: Payment) -> None:
    membership = _locked_membership(payment.reference)
    if membership is not None and membership.status == Membership.Status.ACTIVE:
        membership.status = Membership.Status.PAST_DUE
        membership.save(update_fields=["status", "updated_at"])


def on_subscription_ended(payment: Payment) -> None:
    membership = _locked_membership(payment.reference)
    if membership is not None and membership.status != Membership.Status.ENDED:
        membership.status = Membership.Status.ENDED
        membership.ended_at = timezone.now()
        membership.save(update_fields=["status", "ended_at", "updated_at"])


def on_order_paid(sender, order, **kwargs) -> None:
    """commerce.signals.order_paid receiver: purchase and referral points (idempotent by order)."""
    award_purchase(user=order.buyer, creator_id=order.creator_id, order_id=order.pk, total=order.total)
