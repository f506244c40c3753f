"""Checkout risk: record every attempt (keyed hashes only), score it 0-100, hold or refuse risky orders.

Every call of `commerce.services.checkout` for an open order writes a `CheckoutAttempt` (account,
email, keyed hash of the client IP, order) and scores it; the order's payment confirmation marks
its attempts succeeded, adds the card fingerprint's hash when the provider gave one, scores again
and, at or above `RISK_REVIEW_THRESHOLD` (env MICROSTAGE_RISK_REVIEW_THRESHOLD, default 70),
opens one `RiskReview` (pending) for staff: the order is paid but held until a decision
(`is_held`): nothing is delivered (no tickets, downloads, passes or fulfilment) and its sale is not
in the creator's ledger (so not available for payout); approving delivers it once, rejecting
refunds it in full. At or above `RISK_REFUSE_THRESHOLD` (env
MICROSTAGE_RISK_REFUSE_THRESHOLD, default 95) checkout is refused with 409 `risk_refused` before
any payment starts (the reservation simply lapses).

Weights (points added, the total capped at 100). "Other attempts" exclude the one being scored and
earlier attempts for the same order (a retry is the same purchase); an attempt counts as failed
while its order is not paid (refused, declined or abandoned):

| signal                                                  | points                              |
| ------------------------------------------------------- | ----------------------------------- |
| per identity (account, email, IP hash, card hash):      |                                     |
|   other attempts in the last hour beyond the first 2    | +8 each, at most 30 per identity    |
|   other attempts in the last day beyond the first 10    | +2 each, at most 10 per identity    |
| failed attempts in the last day by any of these         | +6 each beyond the first, max 30    |
| no account / account younger than 1 day / than 7 days   | +10 / +10 / +5                      |
| total > 5x (> 3x) the account's largest paid order      | +15 (+8), same currency only        |
| first purchase of the account and total >= 200          | +10                                 |

So one busy identity alone stays below review (30 + 10), a card tester hammering from one IP
with one email and failing reaches review, and with a fresh account refusal.

IPs and card fingerprints are never stored: only HMAC-SHA256 with a key derived from SECRET_KEY
(django.utils.crypto.salted_hmac), so equal values can be compared and nothing can be read back.
"""
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext as _

from microstage.errors import Conflict, NotFound
from microstage.permissions import SYSTEM

from commerce import services
from commerce.models import Order

from .models import CheckoutAttempt, RiskReview

HOUR_FREE, HOUR_POINTS, HOUR_CAP = 2, 8, 30
DAY_FREE, DAY_POINTS, DAY_CAP = 10, 2, 10
FAILED_FREE, FAILED_POINTS, FAILED_CAP = 1, 6, 30
GUEST, NEW_DAY, NEW_WEEK = 10, 10, 5
JUMP_5X, JUMP_3X, BIG_FIRST, BIG_FIRST_TOTAL = 15, 8, 10, Decimal("200")
REFUSED_MESSAGE = gettext_lazy("We could not accept this payment right now. Nothing was charged. "
                               "If you think this is a mistake, contact the creator or Microstage support.")


def keyed_hash(kind: str, value: str) -> str:
    """64 hex characters; "" for no value. `kind` separates the IP and card namespaces."""
    if not value:
        return ""
    return salted_hmac(f"microstage.risk.{kind}", value, algorithm="sha256").hexdigest()


def _same_order(attempt: CheckoutAttempt) -> Q:
    """An order's own earlier attempts (a second click on Pay, the sandbox's re-entry) are one purchase."""
    return Q(order_id=attempt.order_id) if attempt.order_id else Q(pk__in=[])


def _velocity(field: str, value, attempt: CheckoutAttempt) -> tuple[int, list[str]]:
    if not value:
        return 0, []
    now = attempt.created_at
    counts = (CheckoutAttempt.objects.filter(**{field: value}, created_at__gt=now - timedelta(days=1),
                                             created_at__lte=now).exclude(pk=attempt.pk).exclude(_same_order(attempt))
              .aggregate(day=Count("pk"), hour=Count("pk", filter=Q(created_at__gt=now - timedelta(hours=1)))))
    label = {"user": "account", "email": "email", "ip_hash": "IP", "card_fingerprint_hash": "card"}[field]
    points, reasons = 0, []
    hour = min(HOUR_CAP, HOUR_POINTS * max(0, counts["hour"] - HOUR_FREE))
    if hour:
        points += hour
        reasons.append(f"{label}: {counts['hour']} other checkout attempts in the last hour (+{hour})")
    day = min(DAY_CAP, DAY_POINTS * max(0, counts["day"] - DAY_FREE))
    if day:
        points += day
        reasons.append(f"{label}: {counts['day']} other checkout attempts in the last day (+{day})")
    return points, reasons


def score(attempt: CheckoutAttempt, order: Order) -> tuple[int, list[str]]:
    """The attempt's risk, 0-100, and why (human-readable reasons, one per signal that added points)."""
    total, reasons = 0, []
    identities = [("user", attempt.user_id), ("email", attempt.email), ("ip_hash", attempt.ip_hash),
                  ("card_fingerprint_hash", attempt.card_fingerprint_hash)]
    for field, value in identities:
        points, why = _velocity(field, value, attempt)
        total, reasons = total + points, reasons + why
    who = Q()
    for field, value in identities:
        if value:
            who |= Q(**{field: value})
    if who:
        failed = (CheckoutAttempt.objects.filter(who, succeeded=False, created_at__lte=attempt.created_at,
                                                 created_at__gt=attempt.created_at - timedelta(days=1))
                  .exclude(pk=attempt.pk).exclude(_same_order(attempt)).count())
        points = min(FAILED_CAP, FAILED_POINTS * max(0, failed - FAILED_FREE))
        if points:
            total += points
            reasons.append(f"{failed} failed checkout attempts in the last day (+{points})")
    buyer = order.buyer
    if buyer is None:
        total += GUEST
        reasons.append(f"no account (+{GUEST})")
    else:
        age = attempt.created_at - buyer.date_joined
        if age < timedelta(days=1):
            total += NEW_DAY
            reasons.append(f"account less than a day old (+{NEW_DAY})")
        elif age < timedelta(days=7):
            total += NEW_WEEK
            reasons.append(f"account less than a week old (+{NEW_WEEK})")
        largest = (Order.objects.filter(buyer=buyer, status__in=Order.SETTLED, currency=order.currency)
                   .exclude(pk=order.pk).aggregate(m=Max("total"))["m"])
        if largest is None:
            if order.total >= BIG_FIRST_TOTAL:
                total += BIG_FIRST
                reasons.append(f"first purchase of {order.total} {order.currency} (+{BIG_FIRST})")
        elif largest > 0 and order.total > 5 * largest:
            total += JUMP_5X
            reasons.append(f"total over 5x the account's largest order ({largest}) (+{JUMP_5X})")
        elif largest > 0 and order.total > 3 * largest:
            total += JUMP_3X
            reasons.append(f"total over 3x the account's largest order ({largest}) (+{JUMP_3X})")
    return min(100, total), reasons


def check_checkout(order_id: str, *, ip: str = "") -> CheckoutAttempt | None:
    """Record a checkout attempt for an open order and score it; Conflict("risk_refused", 409) when
    the score reaches RISK_REFUSE_THRESHOLD. Orders with nothing to pay now (missing, settled,
    lapsed, free — a pass or a zero price moves no money — or paid by a group-buy) are left to
    `checkout` to answer and are not recorded."""
    order = Order.objects.select_related("buyer").filter(pk=order_id).first()
    if order is None or order.status not in Order.OPEN or order.expires_at <= timezone.now() or order.total == 0:
        return None
    if order.lines.filter(kind="group_buy").exists():
        return None
    ip_hash = keyed_hash("ip", ip)
    if not ip_hash:  # a server-side re-entry (sandbox pay) continues the order's last known client
        ip_hash = (CheckoutAttempt.objects.filter(order=order).exclude(ip_hash="").order_by("-created_at", "-pk")
                   .values_list("ip_hash", flat=True).first() or "")
    attempt = CheckoutAttempt.objects.create(user=order.buyer, email=order.email, ip_hash=ip_hash, order=order)
    points, _ = score(attempt, order)
    if points >= settings.RISK_REFUSE_THRESHOLD:
        raise Conflict(str(REFUSED_MESSAGE), code="risk_refused")
    return attempt


def on_paid(order: Order, payment=None) -> RiskReview | None:
    """The order's payment confirmed (inside its transaction, order locked): its attempts succeeded;
    a score at or above RISK_REVIEW_THRESHOLD opens one pending review. Orders never checked out
    (no attempt: group-buy settlements, point of sale) are not scored."""
    attempt = CheckoutAttempt.objects.filter(order=order).order_by("-created_at", "-pk").first()
    if attempt is None:
        return None
    fingerprint = str((payment.metadata or {}).get("card_fingerprint", "")) if payment is not None else ""
    if fingerprint and not attempt.card_fingerprint_hash:
        attempt.card_fingerprint_hash = keyed_hash("card", fingerprint[:255])
        attempt.save(update_fields=["card_fingerprint_hash"])
    CheckoutAttempt.objects.filter(order=order, succeeded=False).update(succeeded=True)
    points, reasons = score(attempt, order)
    if points < settings.RISK_REVIEW_THRESHOLD:
        return None
    review, _ = RiskReview.objects.get_or_create(order=order, defaults={"score": points, "reasons": reasons})
    return review


def is_held(order: Order) -> bool:
    """Paid but waiting for a staff decision: nothing is delivered, fulfilled or paid out yet."""
    return RiskReview.objects.filter(order=order, status=RiskReview.Status.PENDING).exists()


def held_orders(creator_id: str):
    """The creator's orders waiting for a review, as a subquery of order ids (kept out of payouts)."""
    return RiskReview.objects.filter(order__creator_id=creator_id, status=RiskReview.Status.PENDING
                                     ).values("order_id")


def is_delivered(order: Order) -> bool:
    """Whether the order's lines were delivered when paid: not while its review is pending, never
    after a rejection (so a refund has no tickets, passes or credits to take back)."""
    return not RiskReview.objects.filter(order=order).exclude(status=RiskReview.Status.APPROVED).exists()


def _decide(review_id, actor, status: str) -> RiskReview:
    review = RiskReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None:
        raise NotFound(_("No such review."))
    if review.status != RiskReview.Status.PENDING:
        raise Conflict(f"This review was already decided ({review.get_status_display()}).", code="already_decided")
    decided_by = actor if getattr(actor, "is_authenticated", False) else None  # SYSTEM is nobody
    review.status, review.decided_by, review.decided_at = status, decided_by, timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at"])
    return review


def approve(review_id, *, actor) -> RiskReview:
    """Release a held order: it is delivered now (tickets, downloads, passes), once, and its sale
    reaches the creator's ledger. An order refunded meanwhile is only marked."""
    with transaction.atomic():
        review = _decide(review_id, actor, RiskReview.Status.APPROVED)
        order = services.lock_order(review.order_id)
        if order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
            services.deliver_paid_order(order)
    return review


def reject(review_id, *, actor) -> RiskReview:
    """Refuse a held order: refunded in full through commerce.services.refund (an order already
    refunded some other way is only marked)."""
    with transaction.atomic():
        review = _decide(review_id, actor, RiskReview.Status.REJECTED)
        order = review.order
        if order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
            services.refund(order.pk, actor=SYSTEM, reason="Refunded after a risk review.")
    return review
