"""Reads for memberships: who is a member in good standing, and which perks apply to them."""
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from .models import LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass


@dataclass(frozen=True)
class Perks:
    """The best of every perk from a fan's live memberships with one creator (none when not a member)."""

    is_member: bool = False
    early_access_hours: int = 0
    discount_percent: Decimal = Decimal("0")
    members_only_events: bool = False
    clip_access: bool = False


NO_PERKS = Perks()


def live_membership(user, creator_id: str) -> Membership | None:
    """The fan's membership with the creator while its perks apply (active, or paid through period end)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    now = timezone.now()
    for m in (Membership.objects.filter(user=user, creator_id=creator_id, status__in=Membership.GOOD_STANDING)
              .select_related("plan")):
        if m.status == Membership.Status.ACTIVE or (m.current_period_end and m.current_period_end > now):
            return m
    return None


def perks_for(user, creator_id: str) -> Perks:
    membership = live_membership(user, creator_id)
    if membership is None:
        return NO_PERKS
    plan = membership.plan
    return Perks(True, plan.early_access_hours, plan.discount_percent, plan.members_only_events, plan.clip_access)


def plans_of(creator_id: str, *, active_only: bool = True) -> QuerySet[MembershipPlan]:
    qs = MembershipPlan.objects.filter(creator_id=creator_id)
    return qs.filter(is_active=True) if active_only else qs


def memberships_of(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("plan", "creator").order_by("-created_at")


def usable_passes(user, creator_id: str) -> QuerySet[Pass]:
    return Pass.objects.filter(user=user, creator_id=creator_id, credits_left__gt=0,
                               expires_at__gt=timezone.now()).order_by("expires_at")


def loyalty_of(user, creator_id: str | None = None) -> dict:
    """Balance and entries (newest first) across creators, or for one creator."""
    accounts = LoyaltyAccount.objects.filter(user=user).select_related("creator")
    if creator_id:
        accounts = accounts.filter(creator_id=creator_id)
    accounts = list(accounts)
    entries = (LoyaltyEntry.objects.filter(account__in=accounts).select_related("account__creator")
               .order_by("-created_at", "-id")[:200])
    return {"balance": sum(a.balance for a in accounts), "accounts": accounts, "entries": list(entries)}
