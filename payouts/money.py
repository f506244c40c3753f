"""The creator's money: tips, the balance ledger (sales, fees, refunds, disputes, payouts) and payouts.

Every ledger write goes through `_append`, keyed: a webhook, signal or click delivered twice finds its key
taken and adds nothing. Entries are never updated or deleted; the balance is their sum per currency.

Refund policy: a refund takes back the refunded money and gives back the platform fee in proportion
(cumulative fee reversed = fee charged × refunded_total / total, rounded half-up; a full refund returns
the whole fee exactly). Disputes: the disputed amount is held when opened and released when won; when
lost the hold is released and the same amount recorded as lost, so "held" shows open disputes only.
"""
import logging
import re
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from microstage.money import parse_amount
from microstage.errors import Conflict, Invalid, NotFound
from microstage.i18n import language_for
from microstage.models import EDIT_ROLES, Creator, TeamMembership
from microstage.payments.money import exponent, normalise_currency, validate_amount

from commerce import sellables
from commerce.models import Order, OrderLine
from commerce.signals import order_disputed

from .models import Dispute, LedgerEntry, Tip

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
TIP_KIND = "tip"
TIP_MIN, TIP_MAX = Decimal("0.50"), Decimal("1000.00")
TIP_MESSAGE_MAX = 200
_EVENT_ID = re.compile(r"^[a-z]{2,5}_[A-Za-z0-9]{1,34}$")
Kind = LedgerEntry.Kind


def platform_fee(amount: Decimal) -> Decimal:
    """The platform's cut of `amount`: PLATFORM_FEE_PERCENT, rounded half-up to the cent."""
    return (amount * Decimal(settings.PLATFORM_FEE_PERCENT) / 100).quantize(CENT, ROUND_HALF_UP)


def append_entry(*, creator_id: str, kind: str, amount: Decimal, currency: str, key: str,
                 order: Order | None = None, note: str = "", available_at=None) -> bool:
    """Append one entry unless its key exists; True when it was new."""
    _, created = LedgerEntry.objects.get_or_create(key=key[:120], defaults={
        "creator_id": creator_id, "kind": kind, "amount": amount, "currency": currency, "order": order,
        "note": note[:255], "available_at": available_at})
    return created


_append = append_entry


# --- tips --------------------------------------------------------------------------------------

def _tip_amount(value) -> Decimal:
    return parse_amount(value, field="amount", minimum=TIP_MIN, maximum=TIP_MAX)


def _tip_currency(value) -> str:
    currency = normalise_currency(value or settings.DEFAULT_CURRENCY)
    if exponent(currency) != 2:  # the amount limits are in cents; whole-unit currencies would need their own
        raise Invalid(_("Tips are not available in that currency."), fields={"currency": [_("Unsupported currency.")]})
    return currency


def tip_event(line) -> str:
    """The show a tip was given at (its line's options), for when the creator's money settles."""
    return (line.options or {}).get("event", "")


def tip_offer(item_id, quantity, buyer, options=None) -> sellables.Offer:
    """The "tip" sellable: the item is the creator, the amount comes from the line's options; no stock."""
    options = options or {}
    creator = Creator.objects.filter(pk=item_id).first() if isinstance(item_id, str) else None
    if creator is None:
        raise NotFound(_("No such creator."))
    if quantity != 1:
        raise Invalid(_("One tip at a time."), fields={"quantity": [_("A tip has a quantity of 1.")]})
    amount = _tip_amount(options.get("amount"))
    return sellables.Offer(kind=TIP_KIND, item_id=creator.pk, creator_id=creator.pk,
                           description=_("Tip for %(creator)s") % {"creator": creator.name}, unit_price=amount,
                           currency=_tip_currency(options.get("currency")))


def on_tip_paid(line: OrderLine) -> None:
    """Inside the payment's transaction: the Tip exists once per order (one-to-one)."""
    order = line.order
    Tip.objects.get_or_create(order=order, defaults={
        "creator_id": order.creator_id, "user_id": order.buyer_id, "event_id": line.options.get("event", ""),
        "amount": line.total, "currency": order.currency, "message": line.options.get("message", "")})


def create_tip_order(*, user, creator_id: str, amount, currency: str = "", event_id: str = "",
                     message: str = "") -> Order:
    """Reserve an order with one tip line; the Tip itself is created when the order is paid."""
    from commerce.services import LineRequest, reserve

    amount, currency = _tip_amount(amount), _tip_currency(currency)
    message = " ".join(str(message or "").split())
    if len(message) > TIP_MESSAGE_MAX:
        raise Invalid(_("The message is too long."),
                      fields={"message": [_("At most %(count)d characters.") % {"count": TIP_MESSAGE_MAX}]})
    event_id = str(event_id or "")
    if event_id and not _EVENT_ID.match(event_id):
        raise Invalid(_("Unknown show."), fields={"event": [_("Unknown show.")]})
    options = [("amount", str(amount)), ("currency", currency)] + ([("event", event_id)] if event_id else [])
    with transaction.atomic():
        order = reserve(requests=[LineRequest(TIP_KIND, creator_id, 1, tuple(options))], buyer=user)
        if message:  # longer than line options allow through reserve; kept on the line with the rest
            line = order.lines.get()
            line.options = {**line.options, "message": message}
            line.save(update_fields=["options"])
    return order


def tips_for(creator_id: str, event_id: str = "", limit: int = 50):
    qs = Tip.objects.filter(creator_id=creator_id).select_related("user", "order")
    return qs.filter(event_id=event_id)[:limit] if event_id else qs[:limit]


# --- the ledger ---------------------------------------------------------------------------------

def settles_at(order: Order):
    """When the money of a paid order stops being pending: the end of the latest show its lines belong to
    (or the payment, for things sold outside a show), plus the settling period."""
    event_ids = {sellables.event_of(line) for line in order.lines.all()} - {""}
    ends = [t for t in sellables.show_ends(event_ids).values() if t is not None] if event_ids else []
    base = max([order.paid_at or timezone.now(), *ends])
    return base + timedelta(hours=settings.PAYOUT_SETTLING_HOURS)


def record_sale(sender=None, *, order: Order, **kwargs) -> None:
    """order_paid receiver (inside the transaction that marks it paid): sale and platform fee, once.

    Both stay pending until `settles_at`; a destination charge (Stripe Connect) already sits in the
    creator's Stripe balance, and the scheduled payout sends it on to their bank with the rest.
    """
    if order.total <= 0:
        return
    payment = order.payment
    meta = payment.metadata if payment is not None else {}
    # A destination charge: the provider kept exactly the application fee we asked for.
    fee = Decimal(meta["application_fee"]) if meta.get("transfer_destination") else platform_fee(order.total)
    available_at = settles_at(order)
    entries = [LedgerEntry(creator_id=order.creator_id, kind=Kind.SALE, amount=order.total, currency=order.currency,
                           key=f"sale:{order.pk}", order=order, available_at=available_at,
                           note=f"Sent to {meta['transfer_destination']} by Stripe Connect (destination charge)"
                           if meta.get("transfer_destination") else "")]
    if fee:
        entries.append(LedgerEntry(creator_id=order.creator_id, kind=Kind.FEE, amount=-fee, currency=order.currency,
                                   key=f"fee:{order.pk}", order=order, available_at=available_at,
                                   note=f"{settings.PLATFORM_FEE_PERCENT}% platform fee"))
    # One INSERT for both; the unique keys keep each entry once (ON CONFLICT DO NOTHING), as `_append` does.
    LedgerEntry.objects.bulk_create(entries, ignore_conflicts=True)


def record_refund(sender=None, *, order: Order, amount: Decimal, **kwargs) -> None:
    """order_refunded receiver (order locked): the refund and the proportional fee reversal, once per step."""
    if amount <= 0 or not LedgerEntry.objects.filter(key=f"sale:{order.pk}").exists():
        return  # never recorded as a sale (paid before the ledger, or a late payment refunded at once)
    step = f"{order.pk}:{order.refunded_total}"
    # Taken from the same bucket as the sale: pending while the sale is, else from what is available.
    available_at = LedgerEntry.objects.filter(key=f"sale:{order.pk}").values_list("available_at", flat=True).first()
    _append(creator_id=order.creator_id, kind=Kind.REFUND, amount=-amount, currency=order.currency,
            key=f"refund:{step}", order=order, available_at=available_at)
    charged = -(LedgerEntry.objects.filter(key=f"fee:{order.pk}").values_list("amount", flat=True).first()
                or Decimal("0"))
    if charged <= 0 or order.total <= 0:
        return
    target = (charged * min(order.refunded_total, order.total) / order.total).quantize(CENT, ROUND_HALF_UP)
    done = (LedgerEntry.objects.filter(order=order, kind=Kind.FEE, key__startswith=f"fee_refund:{order.pk}:")
            .aggregate(s=Sum("amount"))["s"] or Decimal("0"))
    if target - done > 0:
        _append(creator_id=order.creator_id, kind=Kind.FEE, amount=target - done, currency=order.currency,
                key=f"fee_refund:{step}", order=order, note="Platform fee returned with the refund",
                available_at=available_at)


# --- disputes -----------------------------------------------------------------------------------

def _dispute_for(payment, event, order: Order) -> tuple[Dispute, bool]:
    amount = event.amount if event.amount else payment.captured_amount
    return Dispute.objects.get_or_create(provider_reference=event.dispute[:255], defaults={
        "order": order, "amount": amount, "currency": (event.currency or order.currency).upper(),
        "reason": event.metadata.get("reason", "")[:120]})


def _hold(dispute: Dispute, order: Order) -> None:
    _append(creator_id=order.creator_id, kind=Kind.DISPUTE_HOLD, amount=-dispute.amount, currency=dispute.currency,
            key=f"dispute_hold:{dispute.pk}", order=order, note=f"Dispute {dispute.provider_reference} opened")


def _flag(order: Order, text: str) -> None:
    order.note = text[:255]
    order.save(update_fields=["note"])


def on_dispute_opened(payment, event) -> None:
    """Gateway callback: flag the order, hold the amount, tell the creator's owners and managers — once."""
    order = Order.objects.select_for_update().filter(pk=payment.reference).first()
    if order is None:
        return
    dispute, created = _dispute_for(payment, event, order)
    if not created:
        return  # told twice, or its closing arrived first (which already held and resolved it)
    _hold(dispute, order)
    order_disputed.send(sender=Order, order=order, dispute=dispute, outcome="opened")
    _flag(order, f"Disputed by the payer's bank ({dispute.reason or 'no reason given'}): "
                 f"{dispute.amount} {dispute.currency} held until resolved.")
    transaction.on_commit(lambda: _send_dispute_email(dispute.pk, "opened"))


def on_dispute_closed(payment, event) -> None:
    """Gateway callback: won releases the hold; lost turns it into a loss. A closing without an opening
    creates the dispute already closed, with its hold recorded once."""
    order = Order.objects.select_for_update().filter(pk=payment.reference).first()
    if order is None:
        return
    dispute, _ = _dispute_for(payment, event, order)
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status != Dispute.Status.OPEN:
        return
    _hold(dispute, order)
    won = event.outcome != "lost"
    dispute.status = Dispute.Status.WON if won else Dispute.Status.LOST
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "resolved_at"])
    # A closing may come without its opening: receivers hear both (they act once per dispute and outcome).
    order_disputed.send(sender=Order, order=order, dispute=dispute, outcome="opened")
    order_disputed.send(sender=Order, order=order, dispute=dispute, outcome="won" if won else "lost")
    _append(creator_id=order.creator_id, kind=Kind.DISPUTE_RELEASE, amount=dispute.amount, currency=dispute.currency,
            key=f"dispute_release:{dispute.pk}", order=order,
            note=f"Dispute {dispute.provider_reference} {'won' if won else 'lost'}: hold released")
    if won:
        _flag(order, f"Dispute won: {dispute.amount} {dispute.currency} released.")
    else:
        _append(creator_id=order.creator_id, kind=Kind.DISPUTE_LOSS, amount=-dispute.amount,
                currency=dispute.currency, key=f"dispute_loss:{dispute.pk}", order=order,
                note=f"Dispute {dispute.provider_reference} lost")
        _flag(order, f"Dispute lost: {dispute.amount} {dispute.currency} returned to the payer by their bank.")
    transaction.on_commit(lambda: _send_dispute_email(dispute.pk, "closed"))


def _send_dispute_email(dispute_id: str, what: str) -> None:
    try:
        dispute = Dispute.objects.select_related("order__creator").get(pk=dispute_id)
        team = TeamMembership.objects.filter(creator_id=dispute.order.creator_id, role__in=EDIT_ROLES)
        by_language: dict[str, set[str]] = {}  # one email per language the team reads
        for email, language in team.values_list("user__email", "user__language"):
            by_language.setdefault(language_for(SimpleNamespace(language=language)), set()).add(email)
        context = {"dispute": dispute, "order": dispute.order, "creator": dispute.order.creator,
                   "url": settings.SITE_URL + "/dashboard/money/"}
        for language, emails in sorted(by_language.items()):
            with translation.override(language):
                subject = " ".join(render_to_string(f"commerce/email/dispute_{what}_subject.txt", context).split())
                body = render_to_string(f"commerce/email/dispute_{what}.txt", context)
            send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, sorted(emails))
    except Exception:  # an email problem must not undo the hold; logged for staff
        log.exception("dispute email %s for %s failed", what, dispute_id)


def open_disputes(creator_id: str):
    return Dispute.objects.filter(order__creator_id=creator_id, status=Dispute.Status.OPEN).select_related("order")


# --- balances and payouts -------------------------------------------------------------------------

@dataclass(frozen=True)
class Balance:
    currency: str
    gross: Decimal
    fees: Decimal          # negative: charged less returned
    refunds: Decimal       # negative
    disputes_held: Decimal  # negative while disputes are open
    disputes_lost: Decimal  # negative
    payouts: Decimal       # negative
    net: Decimal           # earned: gross + fees + refunds + disputes (before payouts)
    available: Decimal     # net + payouts: what can still be paid out


def _balance(currency: str, sums: dict[str, Decimal]) -> Balance:
    z = Decimal("0.00")
    g = {k: sums.get(k, z) for k in Kind.values}
    held = g[Kind.DISPUTE_HOLD] + g[Kind.DISPUTE_RELEASE]
    net = g[Kind.SALE] + g[Kind.FEE] + g[Kind.REFUND] + held + g[Kind.DISPUTE_LOSS]
    return Balance(currency, g[Kind.SALE], g[Kind.FEE], g[Kind.REFUND], held, g[Kind.DISPUTE_LOSS], g[Kind.PAYOUT],
                   net, net + g[Kind.PAYOUT])


def balances(creator_id: str) -> list[Balance]:
    """One balance per currency the creator has entries in."""
    per: dict[str, dict] = {}
    for row in LedgerEntry.objects.filter(creator_id=creator_id).values("currency", "kind").annotate(s=Sum("amount")):
        per.setdefault(row["currency"], {})[row["kind"]] = row["s"]
    return [_balance(cur, sums) for cur, sums in sorted(per.items())]


def balance(creator_id: str, currency: str) -> Balance:
    return next((b for b in balances(creator_id) if b.currency == currency), _balance(currency, {}))


def net_by_day(creator_id: str, currency: str, days: int = 30) -> list[tuple]:
    """(date, net revenue) for each of the last `days` days, payouts excluded, zero-filled."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (LedgerEntry.objects.filter(creator_id=creator_id, currency=currency,
                                       created_at__date__gte=start).exclude(kind=Kind.PAYOUT)
            .annotate(day=TruncDate("created_at")).values("day").annotate(s=Sum("amount")))
    found = {r["day"]: r["s"] for r in rows}
    return [(start + timedelta(days=i), found.get(start + timedelta(days=i), Decimal("0.00"))) for i in range(days)]


def record_payout(*, creator_id: str, amount, currency: str, key: str, note: str = "") -> LedgerEntry:
    """A payout made outside the platform (bank transfer): never more than the available balance.

    The creator row is locked, so two payouts at once are checked one after the other; `key` (the form's
    one-time token) makes a double submit one payout.
    """
    amount, currency = validate_amount(amount), normalise_currency(currency)
    if not key or len(key) > 64:
        raise Invalid(_("Missing payout key."), fields={"key": [_("Reload the page and try again.")]})
    with transaction.atomic():
        if not Creator.objects.select_for_update().filter(pk=creator_id).exists():
            raise NotFound(_("No such creator."))
        existing = LedgerEntry.objects.filter(key=f"payout:{key}").first()
        if existing:
            return existing
        available = balance(creator_id, currency).available
        if amount > available:
            raise Conflict(_("Only %(amount)s %(currency)s is available to pay out.")
                           % {"amount": available, "currency": currency}, code="insufficient_balance")
        _append(creator_id=creator_id, kind=Kind.PAYOUT, amount=-amount, currency=currency, key=f"payout:{key}",
                note=note or "Manual payout")
        return LedgerEntry.objects.get(key=f"payout:{key}")


def ledger_entries(creator_id: str, limit: int = 100):
    return LedgerEntry.objects.filter(creator_id=creator_id).select_related("order")[:limit]


# --- Stripe Connect ------------------------------------------------------------------------------

def connected_account_for(creator_id: str) -> str:
    """The creator's Stripe Connect account id (Creator.stripe_account, from onboarding or the admin), or ""."""
    return Creator.objects.filter(pk=creator_id).values_list("stripe_account", flat=True).first() or ""


def connect_params(order: Order) -> dict:
    """Extra start_checkout arguments for a destination charge, when Connect is on and the creator has an account.

    With Connect on, a creator whose account cannot take charges yet is refused (409 payouts_not_set_up)."""
    from .connect import require_charges

    require_charges(order.creator_id)
    if not getattr(settings, "STRIPE_CONNECT", False) or settings.PAYMENTS_PROVIDER != "stripe":
        return {}
    account = connected_account_for(order.creator_id)
    if not account:
        return {}
    return {"transfer_destination": account, "application_fee": platform_fee(order.total)}
