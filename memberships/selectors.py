"""Reads for memberships: who is a member in good standing, and which perks apply to them."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from microstage import hotsql

from .models import LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass


@dataclass(frozen=True)
class Perks:
    """The best of every perk from a fan's live memberships with one creator (none when not a member)."""

    is_member: bool = False
    early_access_hours: int = 0
    discount_percent: Decimal = Decimal("0")
    members_only_events: bool = False
    clip_access: bool = False
    replay_access: bool = False


NO_PERKS = Perks()
CENT = Decimal("0.01")


def live_membership(user, creator_id: str) -> Membership | None:
    """The fan's membership with the creator while its perks apply (active, or paid through period end)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    now = timezone.now()
    rows = hotsql.fetch(hotsql.statement(  # every ticket reservation asks, mostly to hear "not a member"
        "SELECT {m}, {p} FROM {m_table} m JOIN {p_table} p ON p.id = m.plan_id "
        "WHERE m.user_id = %s AND m.creator_id = %s AND m.status = ANY(%s)", m=Membership, p=MembershipPlan),
        [user.pk, creator_id, list(Membership.GOOD_STANDING)], (Membership, "m"), (MembershipPlan, "p"))
    for m, plan in rows:
        if m.status == Membership.Status.ACTIVE or (m.current_period_end and m.current_period_end > now):
            hotsql.attach(m, "plan", plan)
            return m
    return None


def perks_for(user, creator_id: str) -> Perks:
    membership = live_membership(user, creator_id)
    if membership is None:
        return NO_PERKS
    plan = membership.plan
    return Perks(True, plan.early_access_hours, plan.discount_percent, plan.members_only_events, plan.clip_access,
                 plan.replay_access)


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


# --- creator dashboard: members, MRR and churn --------------------------------------------------
# A membership counts ("is live") at a moment t when it had started by t, had not ended by t, and, if
# cancelled, its paid period had not run out by t: that is active + past due + cancelled-until-period-end.
# MRR counts monthly plans at their price and yearly plans at price / 12, at today's plan prices,
# summed per currency and rounded to the cent once.

CHURN_WINDOW = timedelta(days=30)
HISTORY_MONTHS = 6


def _live_at(t) -> Q:
    return (Q(started_at__isnull=False, started_at__lte=t) & (Q(ended_at__isnull=True) | Q(ended_at__gt=t))
            & ~Q(status=Membership.Status.PENDING)
            & ~Q(status=Membership.Status.ENDED, ended_at__isnull=True)
            & ~(Q(status=Membership.Status.CANCELLED)
                & (Q(current_period_end__isnull=True) | Q(current_period_end__lte=t))))


def live_members_at(creator_id: str, t) -> QuerySet[Membership]:
    return Membership.objects.filter(_live_at(t), creator_id=creator_id)


def mrr_at(creator_id: str, t) -> dict[str, Decimal]:
    """Monthly recurring revenue per currency at moment t: {"EUR": Decimal("14.17")}."""
    sums: dict[str, dict[str, Decimal]] = {}
    rows = (live_members_at(creator_id, t).values("plan__currency", "plan__interval")
            .annotate(total=Sum("plan__price")).order_by())
    for row in rows:
        per = sums.setdefault(row["plan__currency"], {"month": Decimal("0"), "year": Decimal("0")})
        per[row["plan__interval"]] += row["total"] or Decimal("0")
    return {cur: (per["month"] + per["year"] / 12).quantize(CENT, rounding=ROUND_HALF_UP)
            for cur, per in sorted(sums.items())}


def churn(creator_id: str, now=None) -> dict:
    """Memberships ended in the last 30 days ÷ members at the start of that window.
    `rate` is a Decimal fraction (0.25 = 25 %), None when nobody was a member at the start."""
    now = now or timezone.now()
    start = now - CHURN_WINDOW
    at_start = live_members_at(creator_id, start).count()
    ended = Membership.objects.filter(creator_id=creator_id, status=Membership.Status.ENDED,
                                      ended_at__gt=start, ended_at__lte=now).count()
    rate = (Decimal(ended) / Decimal(at_start)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) \
        if at_start else None
    return {"ended": ended, "at_start": at_start, "rate": rate,
            "percent": (rate * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if rate is not None else None}


def _history_points(now) -> list[tuple[str, datetime]]:
    """The end of each of the last HISTORY_MONTHS months (local time), the current month ending now."""
    local = timezone.localtime(now)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    points = [(local.strftime("%b %Y"), now)]
    for _ in range(HISTORY_MONTHS - 1):
        end = first  # the first instant of a month is the end of the previous one
        first = (first - timedelta(days=1)).replace(day=1)
        points.append(((end - timedelta(days=1)).strftime("%b %Y"), end))
    return list(reversed(points))


def membership_dashboard(creator_id: str, now=None) -> dict:
    """Counts by status, MRR, churn and a month-by-month history of live members and MRR."""
    now = now or timezone.now()
    counts = dict(Membership.objects.filter(creator_id=creator_id).values_list("status")
                  .annotate(n=Count("id")).order_by())
    history = []
    for label, t in _history_points(now):
        history.append({"label": label, "at": t, "members": live_members_at(creator_id, t).count(),
                        "mrr": mrr_at(creator_id, t)})
    mrr = mrr_at(creator_id, now)
    currencies = list(mrr) or list(MembershipPlan.objects.filter(creator_id=creator_id)
                                   .values_list("currency", flat=True).distinct()[:1])
    currency = currencies[0] if currencies else ""
    return {
        "active": counts.get(Membership.Status.ACTIVE, 0), "past_due": counts.get(Membership.Status.PAST_DUE, 0),
        "cancelled": counts.get(Membership.Status.CANCELLED, 0), "ended": counts.get(Membership.Status.ENDED, 0),
        "pending": counts.get(Membership.Status.PENDING, 0),
        "live": live_members_at(creator_id, now).count(), "mrr": mrr, "currency": currency,
        "churn": churn(creator_id, now), "history": history,
    }


def members_of(creator_id: str, *, status: str = "", q: str = "") -> QuerySet[Membership]:
    qs = (Membership.objects.filter(creator_id=creator_id).select_related("user", "plan")
          .order_by("-started_at", "-created_at"))
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(user__email__icontains=q) | Q(user__display_name__icontains=q))
    return qs
