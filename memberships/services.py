"""Writes for memberships: subscriptions and their provider-driven states, passes, loyalty points,
referrals and rewards. Every balance or stock change happens under a row lock."""
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from microstage.money import parse_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.payments import services as payments
from microstage.payments.events import Kind, PaymentEvent
from microstage.currencies import check_for_creator
from microstage.payments.money import normalise_currency, to_minor
from microstage.permissions import require_role
from microstage.payments.models import Payment
from microstage.payments.providers.base import ProviderError

from . import referrals
from .models import (LoyaltyAccount, LoyaltyEntry, Membership, MembershipPlan, Pass, PassProduct, PassRedemption,
                     Reward, RewardRedemption)

log = logging.getLogger(__name__)
PURPOSE = "memberships.membership"
POINTS_PER_CURRENCY_UNIT = 1
ATTENDANCE_POINTS = 50


# --- loyalty ledger ---------------------------------------------------------------------------

def _account(user, creator_id: str, *, lock: bool) -> LoyaltyAccount:
    """The fan's account with the creator (row-locked with `lock`), made on first use: one query when it
    exists; a new one is held by our own insert until the transaction ends, so it needs no second read.
    `user`: a User or its id (a paid order's `buyer_id`: nothing here needs the user's row).

    Not one INSERT … ON CONFLICT DO UPDATE: concurrent upserts of an existing account, while others hold
    its row lock, deadlock in PostgreSQL's speculative insertion (TestConcurrentRedemptions)."""
    user_id = getattr(user, "pk", user)
    qs = LoyaltyAccount.objects.filter(user_id=user_id, creator_id=creator_id)
    qs = qs.select_for_update() if lock else qs
    account = qs.first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LoyaltyAccount.objects.create(user_id=user_id, creator_id=creator_id)
    except IntegrityError:  # made meanwhile by another transaction (it waited for that one to commit)
        return qs.get()


def award(*, user, creator_id: str, points: int, reason: str, key: str, note: str = "") -> LoyaltyEntry | None:
    """Add points once per `key` (a check-in, an order, a referral); None when already awarded."""
    if points <= 0:
        raise Invalid(_("Awards are positive."), fields={"points": [_("Must be above zero.")]})
    # No savepoint of its own inside a caller's transaction (a paid order's): an error rolls that back
    # anyway. The entry's insert keeps its savepoint: a duplicate key there means "awarded already".
    with transaction.atomic(savepoint=False):
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
        raise Conflict(_("Not enough points: you have %(balance)d, this needs %(points)d.")
                       % {"balance": account.balance, "points": points},
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
        raise NotFound(_("No such reward."))
    if reward.stock < 1:
        raise Conflict(_("This reward is gone."), code="out_of_stock")
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
    """Points for a paid order, and for whoever referred this fan if it qualifies (memberships.referrals).
    `user`: the buyer or their id (the paid order's `buyer_id`: nothing needs the user's row)."""
    if user is None:
        return
    points = int(total) * POINTS_PER_CURRENCY_UNIT
    if points > 0:
        award(user=user, creator_id=creator_id, points=points, reason=LoyaltyEntry.Reason.PURCHASE,
              key=f"order:{order_id}", note=f"Order {order_id}")
    # Referral rules (new accounts only, first paid order above a minimum, reversed on refund): referrals.py.
    referral = referrals.reward_for_order(user=user, creator_id=creator_id, order_id=order_id, total=total)
    if referral is not None:
        award(user=referral.referrer, creator_id=creator_id, points=referrals.REFERRAL_POINTS,
              reason=LoyaltyEntry.Reason.REFERRAL, key=f"referral:{creator_id}:{getattr(user, 'pk', user)}",
              note="A fan you invited")


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
        raise NotFound(_("No such pass."))
    if pass_obj.expires_at <= timezone.now():
        raise Conflict(_("This pass has expired."), code="pass_expired")
    if pass_obj.credits_left < credits:
        raise Conflict(_("Not enough credits left on this pass."), code="no_credits",
                       credits_left=pass_obj.credits_left)
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


# --- plans and subscriptions ------------------------------------------------------------------

MAX_PLAN_PRICE = Decimal("10000")
MIN_PLAN_PRICE = Decimal("0.50")  # below this card providers refuse the charge
MAX_EARLY_ACCESS_HOURS = 24 * 90
PLAN_FIELDS = ("name", "description", "price", "currency", "interval", "early_access_hours", "discount_percent",
               "members_only_events", "clip_access", "replay_access", "is_active")
LIVE_STATUSES = (Membership.Status.PENDING, Membership.Status.ACTIVE, Membership.Status.PAST_DUE,
                 Membership.Status.CANCELLED)


@dataclass(frozen=True)
class Subscribed:
    """What subscribe started: an active membership (sandbox), or a hosted page to pay on first (Stripe)."""

    membership: Membership
    status: str                  # "active" | "awaiting_payment"
    checkout_url: str = ""


def _plan_creator(actor, creator) -> str:
    """The creator's id when `actor` is its owner or manager (NotFound for outsiders, Forbidden for other roles)."""
    creator_id = getattr(creator, "pk", creator)
    return require_role(actor, str(creator_id or ""), EDIT_ROLES).pk


def _money(value, field: str) -> Decimal:
    """A decimal amount; the caller checks its own bounds (with their own messages)."""
    return parse_amount(value, field=field, minimum=Decimal("-1e9"), maximum=Decimal("1e9"))


def _check_plan(plan: MembershipPlan) -> None:
    """Every rule of a plan, as field errors (the model's validators plus the ones a price needs)."""
    errors: dict[str, list[str]] = {}
    plan.price = _money(plan.price, "price")
    plan.discount_percent = _money(plan.discount_percent, "discount_percent")
    if not MIN_PLAN_PRICE <= plan.price <= MAX_PLAN_PRICE:
        errors["price"] = [_("Between %(low)s and %(high)s.") % {"low": MIN_PLAN_PRICE, "high": MAX_PLAN_PRICE}]
    if not Decimal("0") <= plan.discount_percent <= Decimal("100"):
        errors["discount_percent"] = [_("Between 0 and 100.")]
    hours = plan.early_access_hours
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= MAX_EARLY_ACCESS_HOURS:
        errors["early_access_hours"] = [_("A whole number of hours from 0 to %(max)d.")
                                        % {"max": MAX_EARLY_ACCESS_HOURS}]
    if plan.interval not in MembershipPlan.Interval.values:
        errors["interval"] = [_("Use month or year.")]
    try:
        plan.currency = normalise_currency(plan.currency or settings.DEFAULT_CURRENCY)
        plan.currency = check_for_creator(plan.creator_id, plan.currency)
    except Invalid as exc:
        errors["currency"] = exc.fields.get("currency") or [_("Use a three-letter ISO 4217 code like EUR.")]
    if not errors:
        try:
            to_minor(plan.price, plan.currency)  # e.g. 450.50 JPY cannot be charged
        except Invalid as exc:
            errors["price"] = [exc.detail]
    if not errors:
        try:
            plan.full_clean(exclude=["creator"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors = {k if k != NON_FIELD_ERRORS else "non_field_errors": list(v) for k, v in exc.message_dict.items()}
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


@transaction.atomic
def create_plan(*, actor, creator, name: str, price, currency: str | None = None, interval: str = "month",
                **fields) -> MembershipPlan:
    """A new plan of `creator` (a Creator or its id); only its owners and managers may."""
    creator_id = _plan_creator(actor, creator)
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    plan = MembershipPlan(creator_id=creator_id, name=name, price=price, currency=currency or "", interval=interval,
                          **fields)
    _check_plan(plan)
    plan.save()
    return plan


@transaction.atomic
def update_plan(*, actor, plan_id: str, **changes) -> MembershipPlan:
    """Change a plan. A new price applies to new members; running subscriptions keep the price they started at."""
    plan = MembershipPlan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("No such plan."))
    _plan_creator(actor, plan.creator_id)
    for key, value in changes.items():
        if key not in PLAN_FIELDS:
            raise Invalid(_("Unknown field."), fields={key: [_("Unknown field.")]})
        setattr(plan, key, value)
    _check_plan(plan)
    plan.save()
    return plan


def _return_url() -> str:
    try:
        path = reverse("my-memberships")
    except NoReverseMatch:
        path = "/"
    return settings.SITE_URL + path


def _end_now(membership: Membership) -> None:
    membership.status = Membership.Status.ENDED
    membership.ended_at = timezone.now()
    membership.cancel_at_period_end = False
    membership.save(update_fields=["status", "ended_at", "cancel_at_period_end", "updated_at"])


def subscribe(*, user, plan_id: str, success_url: str = "", cancel_url: str = "") -> Subscribed:
    """Make `user` a member on `plan_id`. One live membership per fan and creator (409 already_member):
    switching plans is cancel, then subscribe once the old one ended. The sandbox charges the first period at
    once; other providers answer with a hosted page, and the first paid invoice activates the membership."""
    plan = MembershipPlan.objects.select_related("creator").filter(pk=plan_id, is_active=True).first()
    if plan is None:
        raise NotFound(_("No such plan."))
    now = timezone.now()
    with transaction.atomic():
        membership = (Membership.objects.select_for_update()
                      .filter(user=user, creator_id=plan.creator_id, status__in=LIVE_STATUSES).first())
        if (membership is not None and membership.status == Membership.Status.CANCELLED
                and (membership.current_period_end is None or membership.current_period_end <= now)):
            _end_now(membership)  # lapsed; the renewal task or the provider's notice would end it anyway
            membership = None
        if membership is not None and membership.status != Membership.Status.PENDING:
            raise Conflict(_("You are already a member of %(creator)s. To switch plans, cancel first.")
                           % {"creator": plan.creator.name},
                           code="already_member", membership=membership.pk)
        if membership is None:
            try:
                with transaction.atomic():
                    membership = Membership.objects.create(plan=plan, creator_id=plan.creator_id, user=user,
                                                           provider=settings.PAYMENTS_PROVIDER)
            except IntegrityError:  # a simultaneous subscribe won
                raise Conflict(_("You are already a member of %(creator)s.") % {"creator": plan.creator.name},
                               code="already_member")
        else:  # an unpaid earlier attempt: start again on this plan
            membership.plan, membership.provider = plan, settings.PAYMENTS_PROVIDER
            membership.save(update_fields=["plan", "provider", "updated_at"])
        description = f"{plan.creator.name} — {plan.name}"[:255]
        if settings.PAYMENTS_PROVIDER == "sandbox":
            customer = payments.create_customer(email=user.email, name=getattr(user, "display_name", "") or "")
            payments.create_subscription(customer=customer, amount=plan.price, currency=plan.currency,
                                         interval=plan.interval, description=description, purpose=PURPOSE,
                                         reference=membership.pk)
            membership.refresh_from_db()
            if membership.status == Membership.Status.ACTIVE:
                return Subscribed(membership, "active")
            return Subscribed(membership, "awaiting_payment")
        started = payments.start_subscription_checkout(
            amount=plan.price, currency=plan.currency, interval=plan.interval, description=description,
            purpose=PURPOSE, reference=membership.pk, success_url=success_url or _return_url(),
            cancel_url=cancel_url or _return_url(), customer_email=user.email)
        return Subscribed(membership, "awaiting_payment", started.checkout_url)


def _own_membership(user, membership_id: str) -> Membership:
    membership = (Membership.objects.select_for_update().select_related("plan", "creator")
                  .filter(pk=membership_id, user=user).first())
    if membership is None:
        raise NotFound(_("No such membership."))
    return membership


@transaction.atomic
def cancel_membership(*, user, membership_id: str) -> Membership:
    """Stop renewing: the perks stay until the paid period ends, then the membership ends. Repeating is harmless;
    an unpaid (pending) membership ends at once."""
    membership = _own_membership(user, membership_id)
    status = membership.status
    if status == Membership.Status.ENDED:
        raise Conflict(_("This membership has already ended."), code="ended")
    if status == Membership.Status.CANCELLED:
        return membership
    if status == Membership.Status.PENDING:
        _end_now(membership)
        return membership
    if membership.subscription:
        payments.set_cancel_at_period_end(membership.subscription, True, provider=membership.provider or None)
    membership.status = Membership.Status.CANCELLED
    membership.cancel_at_period_end = True
    membership.save(update_fields=["status", "cancel_at_period_end", "updated_at"])
    return membership


@transaction.atomic
def resume_membership(*, user, membership_id: str) -> Membership:
    """Undo a cancel before the paid period ends: renewing again, active. Repeating is harmless."""
    membership = _own_membership(user, membership_id)
    if membership.status in (Membership.Status.ACTIVE, Membership.Status.PAST_DUE):
        return membership
    period_end = membership.current_period_end
    if membership.status != Membership.Status.CANCELLED or period_end is None or period_end <= timezone.now():
        raise Conflict(_("Only a cancelled membership whose paid period has not ended can be resumed."),
                       code="not_resumable")
    if membership.subscription:
        payments.set_cancel_at_period_end(membership.subscription, False, provider=membership.provider or None)
    membership.status = Membership.Status.ACTIVE
    membership.cancel_at_period_end = False
    membership.save(update_fields=["status", "cancel_at_period_end", "updated_at"])
    return membership


def renew_due_sandbox_memberships(now=None) -> dict[str, int]:
    """The sandbox's billing clock (real providers renew by themselves and tell us by webhook): every sandbox
    membership whose period is over is renewed through the gateway's renewal path, or ended when set to cancel.
    Idempotent: a period is renewed once (the event id names it), and a second run finds nothing due."""
    now = now or timezone.now()
    due = list(Membership.objects.filter(provider="sandbox", current_period_end__lte=now,
                                         status__in=Membership.GOOD_STANDING).values_list("pk", flat=True))
    counts = {"renewed": 0, "ended": 0}
    for membership_id in due:
        outcome = _renew_or_end(membership_id, now)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic
def _renew_or_end(membership_id: str, now) -> str | None:
    membership = Membership.objects.select_for_update().select_related("plan").filter(pk=membership_id).first()
    if (membership is None or membership.status not in Membership.GOOD_STANDING
            or membership.current_period_end is None or membership.current_period_end > now):
        return None  # another run got there first
    if membership.status == Membership.Status.CANCELLED or membership.cancel_at_period_end:
        if membership.subscription:
            payments.cancel_subscription(membership.subscription, provider="sandbox")
        membership.refresh_from_db()
        if membership.status != Membership.Status.ENDED:
            _end_now(membership)
        return "ended"
    if not membership.subscription:
        log.warning("sandbox membership %s has no subscription to renew", membership.pk)
        return None
    last = (Payment.objects.filter(provider="sandbox", subscription=membership.subscription)
            .order_by("-created_at").first())
    stamp = int(membership.current_period_end.timestamp())
    payments.handle_event(PaymentEvent(
        "sandbox", f"renew:{membership.subscription}:{stamp}", Kind.SUBSCRIPTION_PAID,
        subscription=membership.subscription, invoice=f"sbin_{membership.subscription}_{stamp}"[:255],
        amount=last.amount if last else membership.plan.price,
        currency=last.currency if last else membership.plan.currency))
    return "renewed"


# --- membership states, driven by the payments gateway ----------------------------------------

def _period(plan: MembershipPlan) -> timedelta:
    """The sandbox's own billing clock (it has no provider subscription to read a period from)."""
    return timedelta(days=365) if plan.interval == MembershipPlan.Interval.YEAR else timedelta(days=30)


def provider_period_end(payment: Payment):
    """When the period `payment` paid for ends, as the provider says: told with the payment (the invoice's
    period, the created subscription), else read from the provider's subscription. None when it cannot say."""
    told = (payment.metadata or {}).get("period_end")
    if told:
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(str(told))
        if parsed is not None:
            return parsed
    if payment.provider == "sandbox" or not payment.subscription:
        return None
    try:
        return payments.subscription_period_end(payment.subscription, provider=payment.provider)
    except ProviderError:
        log.warning("could not read the period end of subscription %s", payment.subscription, exc_info=True)
        return None


def _locked_membership(reference: str) -> Membership | None:
    return Membership.objects.select_for_update().select_related("plan").filter(pk=reference).first()


def on_period_paid(payment: Payment) -> None:
    """A period's invoice is paid: the membership is active until the end of that period."""
    membership = _locked_membership(payment.reference)
    if membership is None or membership.status == Membership.Status.ENDED:
        log.warning("payment %s for unknown or ended membership %s", payment.pk, payment.reference)
        return
    now = timezone.now()
    period_end = provider_period_end(payment)
    if period_end is None:
        if payment.provider != "sandbox":  # the provider could not be read: the next subscription update corrects it
            log.warning("membership %s: no period end from %s; estimating one", membership.pk, payment.provider)
        period_end = max(now, membership.current_period_end or now) + _period(membership.plan)
    # A late notice for an older period never shortens a newer one.
    membership.current_period_end = max(period_end, membership.current_period_end or period_end)
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


def on_subscription_updated(payment: Payment, event) -> None:
    """The provider's subscription changed: its current period end is the truth (a renewal, a date moved)."""
    membership = _locked_membership(payment.reference)
    if membership is None or membership.status in (Membership.Status.ENDED, Membership.Status.PENDING):
        return
    if event.period_end and event.period_end != membership.current_period_end:
        membership.current_period_end = event.period_end
        membership.save(update_fields=["current_period_end", "updated_at"])


def on_subscription_ended(payment: Payment) -> None:
    membership = _locked_membership(payment.reference)
    if membership is not None and membership.status != Membership.Status.ENDED:
        membership.status = Membership.Status.ENDED
        membership.ended_at = timezone.now()
        membership.save(update_fields=["status", "ended_at", "updated_at"])


def on_order_paid(sender, order, **kwargs) -> None:
    """commerce.signals.order_paid receiver: purchase and referral points (idempotent by order)."""
    award_purchase(user=order.buyer_id, creator_id=order.creator_id, order_id=order.pk, total=order.total)


def on_order_refunded(sender, order, amount, **kwargs) -> None:
    """commerce.signals.order_refunded receiver: take back the purchase points of the refunded share."""
    if order.total <= 0 or amount <= 0:
        return
    before = max(Decimal("0"), order.refunded_total - amount)
    reverse_purchase_points(order=order, share_before=min(before / order.total, Decimal("1")),
                            share_after=min(order.refunded_total / order.total, Decimal("1")),
                            key=f"reversal:{order.pk}:refund:{order.refunded_total}",
                            note=f"Order {order.pk} refunded")


def on_order_disputed(sender, order, dispute, outcome: str, **kwargs) -> None:
    """commerce.signals.order_disputed receiver: a chargeback takes the disputed share's purchase
    points back when opened; a dispute the creator wins gives back what it took."""
    if order.total <= 0:
        return
    key = f"reversal:{order.pk}:dispute:{dispute.pk}"
    if outcome == "opened":
        reverse_purchase_points(order=order, share_before=Decimal("0"),
                                share_after=min(dispute.amount / order.total, Decimal("1")), key=key,
                                note=f"Order {order.pk}: chargeback opened")
    elif outcome == "won":
        taken = LoyaltyEntry.objects.filter(key=key).values_list("points", flat=True).first()
        if taken:
            entry = LoyaltyEntry.objects.get(key=key)
            award(user=entry.account.user, creator_id=entry.account.creator_id, points=-taken,
                  reason=LoyaltyEntry.Reason.ADJUSTMENT, key=f"restored:{order.pk}:dispute:{dispute.pk}",
                  note=f"Order {order.pk}: chargeback won, points restored")


def reverse_purchase_points(*, order, share_before: Decimal, share_after: Decimal, key: str,
                            note: str) -> LoyaltyEntry | None:
    """Take back, once per `key`, the purchase points of the share of `order` between the two shares
    (0..1), as a "reversal" entry in the fan's ledger. Never more than the order earned in all, and
    never below zero: points the fan already redeemed stay spent. None when there is nothing to take."""
    earned = LoyaltyEntry.objects.filter(key=f"order:{order.pk}", reason=LoyaltyEntry.Reason.PURCHASE).first()
    if earned is None or earned.points <= 0:
        return None  # no points were earned on it (a guest, a held order, a zero total)
    with transaction.atomic():
        account = LoyaltyAccount.objects.select_for_update().get(pk=earned.account_id)
        if LoyaltyEntry.objects.filter(key=key[:120]).exists():
            return None
        due = int(earned.points * share_after) - int(earned.points * share_before)
        reversed_so_far = -(LoyaltyEntry.objects.filter(account=account, key__startswith=f"reversal:{order.pk}:")
                            .aggregate(s=Sum("points"))["s"] or 0)
        restored = (LoyaltyEntry.objects.filter(account=account, key__startswith=f"restored:{order.pk}:")
                    .aggregate(s=Sum("points"))["s"] or 0)
        take = max(0, min(due, earned.points - reversed_so_far + restored, account.balance))
        if take <= 0:
            return None
        entry = LoyaltyEntry.objects.create(account=account, points=-take, reason=LoyaltyEntry.Reason.REVERSAL,
                                            key=key[:120], note=note[:200])
        account.balance -= take
        account.save(update_fields=["balance"])
        return entry


# --- creator management: rewards and pass products ---------------------------------------------

REWARD_FIELDS = ("name", "description", "kind", "cost_points", "stock", "discount_percent", "is_active")
PASS_PRODUCT_FIELDS = ("name", "credits", "price", "currency", "valid_days", "is_active")


def _validate_model(obj, fields: tuple[str, ...]) -> None:
    """Run the model's validators on `fields` and turn their complaints into Invalid(fields=...)."""
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean(exclude=[f.name for f in obj._meta.fields if f.name not in fields])
    except ValidationError as exc:
        errors = {name: [str(m) for m in msgs] for name, msgs in exc.message_dict.items()}
        raise Invalid(_("Please correct the marked fields."), fields=errors) from exc


def _reward_rules(reward: Reward) -> None:
    if reward.kind == Reward.Kind.DISCOUNT_CODE:
        if reward.discount_percent is None:
            raise Invalid(_("A discount code needs its percent off."),
                          fields={"discount_percent": [_("Give a percent from 1 to 100.")]})
    else:
        reward.discount_percent = None  # only discount codes take a percent off


def _set_fields(obj, values: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise Invalid(_("Unknown fields."), fields={name: [_("Unknown field.")] for name in sorted(unknown)})
    for name, value in values.items():
        setattr(obj, name, value.strip() if isinstance(value, str) and name != "kind" else value)


def _checked_save(obj, values: dict, allowed: tuple[str, ...], rules):
    """Set the allowed fields, apply the object's rules and model validation, then save."""
    _set_fields(obj, values, allowed)
    rules(obj)
    _validate_model(obj, allowed)
    obj.save()
    return obj


@transaction.atomic
def create_reward(*, creator, actor, **values) -> Reward:
    """A reward the creator offers for points (stock, cost; a percent off for discount codes)."""
    require_role(actor, creator, EDIT_ROLES)
    return _checked_save(Reward(creator=creator), values, REWARD_FIELDS, _reward_rules)


@transaction.atomic
def update_reward(*, creator, actor, reward_id: str, **values) -> Reward:
    """Change a reward of this creator (redemptions already issued keep what they were)."""
    require_role(actor, creator, EDIT_ROLES)
    reward = Reward.objects.select_for_update().filter(pk=reward_id, creator=creator).first()
    if reward is None:
        raise NotFound(_("No such reward."))
    return _checked_save(reward, values, REWARD_FIELDS, _reward_rules)


@transaction.atomic
def mark_redemption_used(*, creator, actor, redemption_id: str) -> RewardRedemption:
    """The creator's team took a fan's code (backstage, free item, discount): mark it used, once."""
    require_role(actor, creator, EDIT_ROLES)
    redemption = (RewardRedemption.objects.select_for_update().select_related("reward")
                  .filter(pk=redemption_id, reward__creator=creator).first())
    if redemption is None:
        raise NotFound(_("No such redemption."))
    if redemption.status == RewardRedemption.Status.USED:
        raise Conflict(_("Code %(code)s was already used.") % {"code": redemption.code}, code="already_used")
    redemption.status = RewardRedemption.Status.USED
    redemption.used_at = timezone.now()
    redemption.save(update_fields=["status", "used_at"])
    return redemption


def _pass_product_rules(product: PassProduct) -> None:
    from microstage.payments.money import normalise_currency, to_minor

    try:
        product.currency = normalise_currency(product.currency)
    except Invalid as exc:
        raise Invalid(_("Use a three-letter currency code like EUR."),
                      fields={"currency": [_("Use a three-letter currency code like EUR.")]}) from exc
    product.currency = check_for_creator(product.creator_id, product.currency)
    if product.price is not None:
        try:
            to_minor(Decimal(product.price), product.currency)
        except Invalid as exc:
            raise Invalid(exc.detail, fields={"price": [_("Too many decimal places for this currency.")]}) from exc


@transaction.atomic
def create_pass_product(*, creator, actor, **values) -> PassProduct:
    """A punch card the creator sells: so many show credits for a price, valid so many days."""
    require_role(actor, creator, EDIT_ROLES)
    return _checked_save(PassProduct(creator=creator), values, PASS_PRODUCT_FIELDS, _pass_product_rules)


@transaction.atomic
def update_pass_product(*, creator, actor, product_id: str, **values) -> PassProduct:
    """Change a pass product; passes already sold keep their credits and expiry."""
    require_role(actor, creator, EDIT_ROLES)
    product = PassProduct.objects.select_for_update().filter(pk=product_id, creator=creator).first()
    if product is None:
        raise NotFound(_("No such pass."))
    return _checked_save(product, values, PASS_PRODUCT_FIELDS, _pass_product_rules)


# --- passes and codes as sellables -------------------------------------------------------------
# Passes are sold through commerce as kind "pass"; a ticket line may be paid with a pass ({"pass": id})
# or carry a reward's discount code ({"code": code}). events.services.tickets.ticket_offer asks the checks below
# before commerce reserves, and the ticket's callbacks spend the credits or the code when it is paid.

PASS_KIND = "pass"


def _open_lines_with(option: str, value: str, *, exclude_order_id: str | None = None):
    """Order lines of open, unexpired reservations that mean to pay with this pass or code."""
    from commerce.models import Order, OrderLine

    qs = OrderLine.objects.filter(**{f"options__{option}": value}, order__status__in=Order.OPEN,
                                  order__expires_at__gt=timezone.now())
    return qs.exclude(order_id=exclude_order_id) if exclude_order_id else qs


def pass_for_redemption(*, pass_id: str, user, creator_id: str, quantity: int) -> Pass:
    """The buyer's pass if it may pay for `quantity` tickets of this creator now; raises otherwise."""
    from django.db.models import Sum

    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound(_("No such pass."))
    pass_obj = Pass.objects.filter(pk=pass_id, user=user).first()
    if pass_obj is None:
        raise NotFound(_("No such pass."))
    if pass_obj.creator_id != creator_id:
        raise Invalid(_("This pass is for another creator's shows."), fields={"pass": [_("Not valid for this show.")]})
    if pass_obj.expires_at <= timezone.now():
        raise Conflict(_("This pass has expired."), code="pass_expired")
    # Credits already promised to the buyer's other open reservations are not free again until those end.
    held = _open_lines_with("pass", pass_obj.pk).aggregate(n=Sum("quantity"))["n"] or 0
    if pass_obj.credits_left - held < quantity:
        left = max(0, pass_obj.credits_left - held)
        detail = ngettext("This pass has %(left)d credit left; this needs %(need)d.",
                          "This pass has %(left)d credits left; this needs %(need)d.", left) % {
            "left": left, "need": quantity}
        if held:
            detail += " " + _("Some credits are held by another open reservation: finish or cancel it first.")
        raise Conflict(detail, code="no_credits", credits_left=left)
    return pass_obj


def code_discount(*, code: str, user, creator_id: str) -> Decimal:
    """The percent off a fan's discount-code reward gives on this creator's tickets; raises when not usable."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound(_("No such code."))
    redemption = (RewardRedemption.objects.select_related("reward", "account")
                  .filter(code__iexact=code, account__user=user).first())
    if redemption is None:
        raise NotFound(_("No such code."))
    reward = redemption.reward
    if reward.creator_id != creator_id:
        raise Invalid(_("This code is for another creator's shows."), fields={"code": [_("Not valid for this show.")]})
    if reward.kind != Reward.Kind.DISCOUNT_CODE or not reward.discount_percent:
        raise Invalid(_("This code is not a discount code."), fields={"code": [_("Not a discount code.")]})
    if redemption.status != RewardRedemption.Status.ISSUED:
        raise Conflict(_("This code was already used."), code="code_used")
    if _open_lines_with("code", redemption.code).exists() or _open_lines_with("code", code).exists():
        raise Conflict(_("This code is held by another open reservation: finish or cancel it first."),
                       code="code_held")
    return reward.discount_percent


def pass_limit(pass_id: str) -> dict:
    """The pass's credits as a cap that reserve holds with the order, under its locks: credits promised
    to open reservations are taken from it until they end, so concurrent orders never overspend."""
    from commerce.sellables import OPEN_LIMIT_PREFIX, Limit

    def credits_left() -> int:  # read by reserve after it has locked the pool
        return Pass.objects.filter(pk=pass_id, expires_at__gt=timezone.now()).values_list(
            "credits_left", flat=True).first() or 0

    return {f"{OPEN_LIMIT_PREFIX}pass:{pass_id}": Limit(
        total=credits_left, code="no_credits",
        detail=_("This pass has {left} credit(s) free for this order; others are used or held by an open "
                 "reservation."))}


def code_limit(*, code: str, user) -> dict:
    """A single-use code as a cap of one, held by the order that reserves it (once per order) and
    sold when it is paid: a second order, concurrent or later, cannot take it, and an order paid
    after its hold lapsed gets the code back only if nobody used it meanwhile."""
    from commerce.sellables import LIMIT_PREFIX, Limit

    redemption_id = (RewardRedemption.objects.filter(code__iexact=code, account__user=user)
                     .values_list("pk", flat=True).first())
    if redemption_id is None:
        raise NotFound(_("No such code."))
    return {f"{LIMIT_PREFIX}code:{redemption_id}": Limit(
        total=1, per_order=True, code="code_held",
        detail=_("This code is already used or held by another open reservation."))}


@transaction.atomic
def use_reward_code(*, code: str, user, order) -> RewardRedemption:
    """Mark a discount code used by a paid order. Several lines of the same order may share it (they
    are marked with the order's paid_at); any other use raises Conflict. A creator's promo code spends
    one of its uses instead (see promos.consume)."""
    from . import promos

    creator_id = getattr(order, "creator_id", None)  # callers may pass a bare paid-at record
    promo = promos.find(creator_id, code) if creator_id else None
    if promo is not None:
        return promos.consume(promo.pk, order)
    redemption = (RewardRedemption.objects.select_for_update().filter(code__iexact=code, account__user=user)
                  .select_related("reward").first())
    if redemption is None:
        raise NotFound(_("No such code."))
    if redemption.status == RewardRedemption.Status.USED:
        if order.paid_at is not None and redemption.used_at == order.paid_at:
            return redemption  # another line of this order, or the same line confirmed twice
        raise Conflict(_("This code was already used."), code="code_used")
    redemption.status = RewardRedemption.Status.USED
    redemption.used_at = order.paid_at or timezone.now()
    redemption.save(update_fields=["status", "used_at"])
    return redemption


def pass_offer(item_id: str, quantity: int, buyer):
    """commerce offer for kind "pass": a pass product at its price, no stock; one pass per line."""
    from commerce.sellables import Offer

    product = PassProduct.objects.filter(pk=item_id, is_active=True).first() if isinstance(item_id, str) else None
    if product is None:
        raise NotFound(_("No such pass."))
    if buyer is None or not getattr(buyer, "is_authenticated", False):
        raise Invalid(_("Log in to buy a pass: it is kept on your account."), fields={"buyer": [_("Log in first.")]})
    if quantity != 1:
        raise Conflict(_("One pass per order line."), code="limit_exceeded", max_per_order=1)
    return Offer(kind=PASS_KIND, item_id=product.pk, creator_id=product.creator_id,
                 description=ngettext("%(name)s — %(count)d show credit", "%(name)s — %(count)d show credits",
                                      product.credits) % {"name": product.name, "count": product.credits},
                 unit_price=product.price,
                 currency=product.currency)


def issue_pass(line) -> Pass:
    """Paid: the buyer gets the pass (once per order line)."""
    product = PassProduct.objects.get(pk=line.item_id)
    pass_obj, _ = Pass.objects.get_or_create(
        order_line_id=line.pk,
        defaults={"creator_id": product.creator_id, "user_id": line.order.buyer_id, "product": product,
                  "credits_total": product.credits, "credits_left": product.credits,
                  "expires_at": timezone.now() + timedelta(days=product.valid_days)})
    return pass_obj


def void_pass(line, quantity: int = 1) -> None:
    """Refunded: the unused credits are gone and the pass ends (tickets it already paid for stay)."""
    pass_obj = Pass.objects.select_for_update().filter(order_line_id=line.pk).first()
    if pass_obj is None:
        return
    pass_obj.credits_left = 0
    pass_obj.expires_at = min(pass_obj.expires_at, timezone.now())
    pass_obj.save(update_fields=["credits_left", "expires_at"])


def register_sellables() -> None:
    from commerce import sellables

    sellables.register(PASS_KIND, offer=pass_offer, on_paid=issue_pass, on_refunded=void_pass)
