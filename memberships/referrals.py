"""Referrals that cannot be farmed: a new account, its first paid order above a minimum, once, undone on refund.

- A referral is recorded only for an account that is new: it signs up through the referral link
  (memberships.referral_views) and has never ordered from the creator. Opening `/r/<code>/` while
  logged in to an existing account records nothing.
- It pays the referrer once, at the referred person's first paid order with the creator, and only
  when that order's total reaches MICROSTAGE_REFERRAL_MIN_ORDER. Free orders never count (they do
  not use the referral up either); a first paid order below the minimum closes it unrewarded.
- A refund that takes the rewarded order below the minimum takes the points back (as far as the
  referrer still has them: a balance never goes below zero).
"""
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import LoyaltyAccount, LoyaltyEntry, Referral

REFERRAL_POINTS = 100
# An account counts as new for this long after sign-up (the link is followed at sign-up itself).
NEW_ACCOUNT_WINDOW = timedelta(hours=24)


def minimum_order() -> Decimal:
    return Decimal(str(settings.REFERRAL_MIN_ORDER))


def _orders_with(user, creator_id: str):
    from commerce.models import Order

    return Order.objects.filter(buyer=user, creator_id=creator_id)


def is_new_account(user, creator_id: str) -> bool:
    """Signed up recently and never ordered anything from this creator."""
    joined = getattr(user, "date_joined", None)
    if joined is None or joined < timezone.now() - NEW_ACCOUNT_WINDOW:
        return False
    return not _orders_with(user, creator_id).exists()


def record_referral(*, code: str, referred, creator_id: str | None = None) -> Referral | None:
    """Remember who invited this new fan (first link wins; nobody refers themselves; never an old account)."""
    account = LoyaltyAccount.objects.filter(referral_code=code).select_related("user").first()
    if account is None or referred is None or account.user_id == referred.pk:
        return None
    if creator_id and account.creator_id != creator_id:
        return None
    if not is_new_account(referred, account.creator_id):
        return None
    referral, _ = Referral.objects.get_or_create(creator_id=account.creator_id, referred=referred,
                                                 defaults={"referrer": account.user})
    return referral


def reward_for_order(*, user, creator_id: str, order_id: str, total) -> Referral | None:
    """At a paid order (inside its transaction): the referral this order rewards, if this is the referred
    fan's first paid order with the creator and it reaches the minimum (marked rewarded; the caller pays
    the referrer REFERRAL_POINTS through the loyalty ledger, memberships.services.award_purchase); the
    referral is closed otherwise. None when nothing is rewarded."""
    total = Decimal(str(total or 0))
    if user is None or total <= 0:
        return None  # a free order is no purchase: it neither earns nor uses up the referral
    referral = (Referral.objects.select_for_update()
                .filter(creator_id=creator_id, referred=user, status=Referral.Status.PENDING).first())
    if referral is None:
        return None
    earlier_paid = (_orders_with(user, creator_id).exclude(pk=order_id)
                    .filter(paid_at__isnull=False, total__gt=0, paid_at__lte=timezone.now()).exists())
    referral.order_id = order_id
    if earlier_paid or total < minimum_order():
        referral.status = Referral.Status.NOT_ELIGIBLE
        referral.save(update_fields=["status", "order_id"])
        return None
    referral.status = Referral.Status.REWARDED
    referral.rewarded_at = timezone.now()
    referral.save(update_fields=["status", "order_id", "rewarded_at"])
    return referral


def on_order_refunded(sender, order, amount=None, **kwargs) -> None:
    """commerce.signals.order_refunded receiver (order locked): a refund that takes the order that
    earned a referral below the minimum takes the referrer's points back, once."""
    kept = Decimal(order.total) - Decimal(order.refunded_total)
    if kept >= minimum_order() and kept > 0:
        return
    with transaction.atomic():
        referral = (Referral.objects.select_for_update()
                    .filter(order_id=order.pk, status=Referral.Status.REWARDED).first())
        if referral is None:
            return
        referral.status = Referral.Status.REVERSED
        referral.save(update_fields=["status"])
        account = (LoyaltyAccount.objects.select_for_update()
                   .filter(user_id=referral.referrer_id, creator_id=referral.creator_id).first())
        if account is None:
            return
        points = min(REFERRAL_POINTS, account.balance)  # points already spent cannot be taken back
        LoyaltyEntry.objects.create(account=account, points=-points, reason=LoyaltyEntry.Reason.ADJUSTMENT,
                                    key=f"referral-reversed:{referral.creator_id}:{referral.referred_id}",
                                    note=f"Referral reversed: order {order.pk} refunded")
        account.balance -= points
        account.save(update_fields=["balance"])
