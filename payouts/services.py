"""Creator payouts: the balance split into pending, available and held, the schedule, and payouts with statements.

Buckets, per currency, all net of the platform fee (sales, fees and refunds are ledger entries, see money.py):
- pending: sales (with their fees and refunds) whose `available_at` — the show's end plus the settling
  period — has not come yet;
- held: open disputes, and sales of orders waiting for a risk review;
- available: everything else, less what was paid out. It is exactly the sum of the ledger entries that are due
  and not yet covered by a payout, because a payout covers its entries and its own (negative) payout entry.

A payout covers every due, uncovered entry (PayoutLine, one per entry) and appends one payout entry for their
sum, in one transaction under the creator's row lock; the money then moves outside it (sandbox: at once;
Stripe Connect: a transfer of what the platform holds, then a payout from the creator's Stripe balance to their
bank), keyed by the payout's id so a retry never sends twice. A payout that fails gives its amount back to the
ledger (a positive payout entry), which the next payout covers.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext as _

from microstage.errors import Invalid, ServiceError
from microstage.models import EDIT_ROLES, Creator
from microstage.permissions import require_role

from commerce import gate
from commerce.models import Order

from .models import LedgerEntry, Payout, PayoutLine, PayoutProfile

log = logging.getLogger(__name__)
Kind = LedgerEntry.Kind
ORDER_KINDS = (Kind.SALE, Kind.FEE, Kind.REFUND)
ZERO = Decimal("0.00")
STALE_PENDING = timedelta(minutes=10)  # a payout still "being sent" after this was interrupted: send again


@dataclass(frozen=True)
class Split:
    currency: str
    pending: Decimal
    available: Decimal
    held: Decimal


def profile(creator_id: str) -> PayoutProfile:
    found, _ = PayoutProfile.objects.get_or_create(creator_id=creator_id)
    return found


def set_schedule(creator_id: str, schedule: str, *, actor) -> PayoutProfile:
    require_role(actor, creator_id, EDIT_ROLES)
    if schedule not in PayoutProfile.Schedule.values:
        raise Invalid(_("Choose weekly or after each show."), fields={"schedule": [_("Choose weekly or after_show.")]})
    found = profile(creator_id)
    found.schedule = schedule
    found.save(update_fields=["schedule"])
    return found


def _sum(qs) -> Decimal:
    return (qs.aggregate(s=Sum("amount"))["s"] or ZERO).quantize(Decimal("0.01"))


def currency_of(creator_id: str) -> str:
    """The creator's main currency: the one most of their ledger is in, else the platform default."""
    row = (LedgerEntry.objects.filter(creator_id=creator_id).values("currency").annotate(n=Count("id"))
           .order_by("-n", "currency").first())
    return row["currency"] if row else settings.DEFAULT_CURRENCY


def split(creator_id: str, currency: str, now: datetime | None = None) -> Split:
    now = now or timezone.now()
    entries = LedgerEntry.objects.filter(creator_id=creator_id, currency=currency)
    held_orders = gate.held_orders(creator_id)
    risk_held = entries.filter(kind__in=ORDER_KINDS, order_id__in=held_orders)
    pending = _sum(entries.filter(kind__in=ORDER_KINDS, available_at__gt=now).exclude(order_id__in=held_orders))
    disputes = -_sum(entries.filter(kind__in=(Kind.DISPUTE_HOLD, Kind.DISPUTE_RELEASE)))
    total = _sum(entries)
    risk = _sum(risk_held)
    return Split(currency, pending, total - pending - risk, risk + disputes)


def due_entries(creator_id: str, currency: str, now: datetime | None = None):
    """Entries a payout made now would cover: due, not held for a risk review, not yet covered."""
    now = now or timezone.now()
    return (LedgerEntry.objects.filter(creator_id=creator_id, currency=currency, payout_line__isnull=True)
            .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
            .exclude(kind__in=ORDER_KINDS, order_id__in=gate.held_orders(creator_id)))


# --- how money reaches the creator ------------------------------------------------------------------

def method_for(creator_id: str) -> tuple[str, str] | None:
    """(method, destination) by which this creator can be paid now, or None (money waits in the balance).

    The sandbox pays everyone (its "connected" state is for the dashboard). With Stripe, only over Connect,
    and only once Stripe has enabled payouts on the creator's account.
    """
    if settings.PAYMENTS_PROVIDER == "sandbox":
        return Payout.Method.SANDBOX, "sandbox"
    if settings.PAYMENTS_PROVIDER != "stripe" or not settings.STRIPE_CONNECT:
        return None
    account = Creator.objects.filter(pk=creator_id).values_list("stripe_account", flat=True).first()
    if not account or not PayoutProfile.objects.filter(creator_id=creator_id, payouts_enabled=True).exists():
        return None
    return Payout.Method.STRIPE, account


def _arrival(method: str) -> timedelta:
    return timedelta(0) if method == Payout.Method.SANDBOX else timedelta(days=settings.PAYOUT_ARRIVAL_DAYS)


def _period_key(creator_id: str, currency: str, schedule: str, now: datetime) -> str | None:
    """The payout key for this moment on the creator's schedule, or None when no payout is due now."""
    if schedule == PayoutProfile.Schedule.WEEKLY:
        if now.weekday() != settings.PAYOUT_WEEKDAY:
            return None
        year, week, _ = now.isocalendar()
        return f"weekly:{creator_id}:{currency}:{year}-W{week:02d}"
    return f"after_show:{creator_id}:{currency}:{now.date().isoformat()}"  # at most one a day


def create_payout(creator_id: str, currency: str, *, key: str, now: datetime | None = None) -> Payout | None:
    """Cover every due entry with one payout (once per key); None when nothing is due or there is no way to pay."""
    now = now or timezone.now()
    how = method_for(creator_id)
    if how is None:
        return None
    method, destination = how
    with transaction.atomic():
        if not Creator.objects.select_for_update().filter(pk=creator_id).exists():
            return None
        existing = Payout.objects.filter(key=key).first()
        if existing:
            return existing
        entries = list(due_entries(creator_id, currency, now).order_by("created_at", "id"))
        amount = sum((e.amount for e in entries), ZERO)
        if amount <= 0:
            return None
        payout = Payout.objects.create(creator_id=creator_id, amount=amount, currency=currency, method=method,
                                       schedule=profile(creator_id).schedule, key=key, destination=destination,
                                       expected_at=now + _arrival(method))
        own = LedgerEntry.objects.create(creator_id=creator_id, kind=Kind.PAYOUT, amount=-amount, currency=currency,
                                         key=f"payout:{payout.pk}", note=f"Payout {payout.pk}")
        PayoutLine.objects.bulk_create([PayoutLine(payout=payout, entry=e) for e in [*entries, own]])
    return payout


def _destination_charge(entry: LedgerEntry) -> bool:
    payment = entry.order.payment if entry.order_id and entry.order else None
    return bool(payment is not None and (payment.metadata or {}).get("transfer_destination"))


def _held_by_platform(payout: Payout) -> Decimal:
    """How much of a payout the platform holds (to transfer first): all but destination charges, which are in
    the creator's Stripe balance already, and money of failed payouts that had reached it."""
    total = ZERO
    lines = payout.lines.select_related("entry__order__payment").exclude(entry__key=f"payout:{payout.pk}")
    for line in lines:
        entry = line.entry
        if entry.kind == Kind.PAYOUT:
            failed = Payout.objects.filter(pk=entry.key.removeprefix("payout_failed:")).first()
            if failed is not None and failed.transfer_reference:
                continue  # transferred before: it came back to the creator's Stripe balance
        elif _destination_charge(entry):
            continue
        total += entry.amount
    return total


def send_payout(payout_id: str) -> Payout:
    """Move the money of a pending payout (idempotent: provider calls are keyed by the payout's id)."""
    from microstage.payments import connect

    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status != Payout.Status.PENDING:
            return payout
        now = timezone.now()
        if payout.method == Payout.Method.SANDBOX:
            payout.status, payout.paid_at, payout.provider_reference = Payout.Status.PAID, now, f"sandbox_{payout.pk}"
            payout.expected_at = now
            payout.save(update_fields=["status", "paid_at", "provider_reference", "expected_at"])
            return payout
        meta = {"payout": payout.pk, "creator": payout.creator_id}
        try:
            platform_part = _held_by_platform(payout)
            if platform_part > 0 and not payout.transfer_reference:
                payout.transfer_reference = connect.transfer(
                    amount=min(platform_part, payout.amount), currency=payout.currency,
                    destination=payout.destination, idempotency_key=f"{payout.pk}:transfer", metadata=meta)
                payout.save(update_fields=["transfer_reference"])
            reference, arrival = connect.payout(amount=payout.amount, currency=payout.currency,
                                                account=payout.destination, idempotency_key=f"{payout.pk}:payout",
                                                metadata=meta)
        except ServiceError as exc:
            _fail(payout, exc.detail)
            return payout
        payout.status, payout.provider_reference = Payout.Status.IN_TRANSIT, reference
        payout.expected_at = arrival or payout.expected_at
        payout.save(update_fields=["status", "provider_reference", "expected_at"])
    return payout


def _fail(payout: Payout, reason: str) -> None:
    """Inside a transaction, payout locked: failed, and its amount back in the balance (once)."""
    if payout.status == Payout.Status.FAILED:
        return
    payout.status, payout.failure_reason = Payout.Status.FAILED, reason[:255]
    payout.save(update_fields=["status", "failure_reason"])
    LedgerEntry.objects.get_or_create(key=f"payout_failed:{payout.pk}", defaults={
        "creator_id": payout.creator_id, "kind": Kind.PAYOUT, "amount": payout.amount, "currency": payout.currency,
        "note": f"Payout {payout.pk} failed and came back: {reason}"[:255]})


def on_provider_payout(reference: str, status: str, reason: str = "") -> Payout | None:
    """A provider told us how a payout ended ("paid" or "failed"); replays change nothing."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(provider_reference=reference).first() if reference else None
        if payout is None or payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return payout
        if status == "paid":
            payout.status, payout.paid_at = Payout.Status.PAID, timezone.now()
            payout.save(update_fields=["status", "paid_at"])
        elif status == "failed":
            _fail(payout, reason or "The bank refused the payout.")
    return payout


def run_due_payouts(now: datetime | None = None) -> int:
    """The beat's work: pay every creator whose schedule says so and who has money due; resend stale ones."""
    now = now or timezone.now()
    made = 0
    for payout_id in Payout.objects.filter(status=Payout.Status.PENDING, created_at__lt=now - STALE_PENDING
                                           ).values_list("pk", flat=True):
        send_payout(payout_id)
    due = (LedgerEntry.objects.filter(payout_line__isnull=True)
           .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
           .values_list("creator_id", "currency").distinct())
    schedules = dict(PayoutProfile.objects.values_list("creator_id", "schedule"))
    for creator_id, currency in sorted(set(due)):
        key = _period_key(creator_id, currency, schedules.get(creator_id, PayoutProfile.Schedule.WEEKLY), now)
        if key is None:
            continue
        try:
            payout = create_payout(creator_id, currency, key=key, now=now)
            if payout is not None and payout.status == Payout.Status.PENDING:
                send_payout(payout.pk)
                made += 1
        except Exception:  # one creator's trouble must not stop everyone else's payout
            log.exception("payout for %s in %s failed", creator_id, currency)
    return made


# --- what the creator sees -----------------------------------------------------------------------------

def next_payout(creator_id: str, currency: str, now: datetime | None = None) -> dict | None:
    """{amount, expected_at} of the next scheduled payout, counting what settles by then; None if nothing."""
    now = now or timezone.now()
    how = method_for(creator_id)
    if how is None:
        return None
    schedule = profile(creator_id).schedule
    available = split(creator_id, currency, now).available
    pending = (LedgerEntry.objects.filter(creator_id=creator_id, currency=currency, kind__in=ORDER_KINDS,
                                          available_at__gt=now)
               .exclude(order_id__in=gate.held_orders(creator_id)))
    first = pending.order_by("available_at").values_list("available_at", flat=True).first()
    start = now if available > 0 else first
    if start is None:
        return None
    if schedule == PayoutProfile.Schedule.WEEKLY:
        days = (settings.PAYOUT_WEEKDAY - start.weekday()) % 7
        run_at = start if days == 0 else (start + timedelta(days=days)).replace(hour=0, minute=0, second=0,
                                                                                  microsecond=0)
        if days == 0 and Payout.objects.filter(key=_period_key(creator_id, currency, schedule, start)).exists():
            run_at = (start + timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        run_at = start
    amount = available + _sum(pending.filter(available_at__lte=run_at))
    if amount <= 0:
        return None
    return {"amount": amount, "currency": currency, "expected_at": run_at + _arrival(how[0])}


def payouts_for(creator_id: str):
    return Payout.objects.filter(creator_id=creator_id).prefetch_related("lines__entry__order__tip")


def payout_for_team(creator_id: str, payout_id: str) -> Payout | None:
    return payouts_for(creator_id).filter(pk=payout_id).first()


def _line_type(entry: LedgerEntry, payout: Payout) -> str:
    if entry.kind == Kind.SALE:
        order: Order | None = entry.order
        return "tip" if order is not None and hasattr(order, "tip") else "order"
    if entry.kind == Kind.FEE:
        return "fee" if entry.amount < 0 else "fee_returned"
    if entry.kind == Kind.REFUND:
        return "refund"
    if entry.kind in (Kind.DISPUTE_HOLD, Kind.DISPUTE_RELEASE, Kind.DISPUTE_LOSS):
        return entry.kind
    if entry.key == f"payout:{payout.pk}":
        return "payout"
    return "payout_returned" if entry.amount > 0 else "earlier_payout"


TYPE_LABELS = {"order": gettext_lazy("Order"), "tip": gettext_lazy("Tip"), "fee": gettext_lazy("Platform fee"),
               "fee_returned": gettext_lazy("Fee returned"), "refund": gettext_lazy("Refund"),
               "dispute_hold": gettext_lazy("Dispute: held"), "dispute_release": gettext_lazy("Dispute: released"),
               "dispute_loss": gettext_lazy("Dispute: lost"), "payout": gettext_lazy("This payout"),
               "payout_returned": gettext_lazy("Failed payout returned"),
               "earlier_payout": gettext_lazy("Payout made earlier")}


def statement(payout: Payout) -> list[dict]:
    """What a payout covers, oldest first: the orders, tips, fees, refunds and disputes, then the payout itself."""
    rows = []
    for line in payout.lines.all():
        entry = line.entry
        kind = _line_type(entry, payout)
        rows.append({"type": kind, "label": str(TYPE_LABELS[kind]), "amount": entry.amount, "currency": entry.currency,
                     "order": entry.order_id or "", "note": entry.note, "created_at": entry.created_at,
                     "entry": entry.pk})
    rows.sort(key=lambda r: (r["type"] == "payout", r["created_at"], r["entry"]))
    return rows
