"""Store credit a buyer holds with one creator: granted by purchases, spent on later orders, taken back
by refunds — every rule about it, once.

- `grant` is called by the app that sold a line carrying credit (a bundle), inside the payment's
  transaction; once per line (its key says so).
- `apply_to(order)` spends the buyer's balance on an open order of the same creator and currency at
  checkout: the order's total goes down by what was spent (`Order.credit_used`). An order that is
  then cancelled or lapses gives it back (`give_back`).
- `settle_refund` runs inside commerce.services.refund: credit spent on the order comes back first
  (as credit, never as money), then credit the refunded lines granted is taken back. Whatever of
  that was already spent is kept out of the money refunded, and the order's note says so.

Balances are per (account, creator, currency). A guest's credit is recorded under their email and
joins their account when they make one (`claim_for`). Changes to a balance lock the account's row
first, so two orders spending the same credit at once cannot both spend it.
"""
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from microstage.models import User

from .models import CreditEntry, Order, OrderLine

ZERO = Decimal("0.00")


def _owner(order: Order):
    if order.buyer_id:
        return order.buyer
    return User.objects.filter(email__iexact=order.email).first()


def _lock_user(user) -> None:
    if user is not None:
        User.objects.select_for_update().filter(pk=user.pk).first()


def balance(user, creator_id: str, currency: str) -> Decimal:
    if user is None or not getattr(user, "is_authenticated", False):
        return ZERO
    total = (CreditEntry.objects.filter(user=user, creator_id=creator_id, currency=currency)
             .aggregate(s=Sum("amount"))["s"])
    return (total or ZERO).quantize(Decimal("0.01"))


def balances_of(user) -> list[dict]:
    """[{creator, currency, balance}] with anything on them, for the attendee's account."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = (CreditEntry.objects.filter(user=user).values("creator_id", "creator__name", "creator__slug", "currency")
            .annotate(balance=Sum("amount")).order_by("creator__name"))
    return [{"creator_id": r["creator_id"], "creator_name": r["creator__name"], "creator_slug": r["creator__slug"],
             "currency": r["currency"], "balance": r["balance"]} for r in rows if r["balance"]]


def history_of(user, limit: int = 50):
    return CreditEntry.objects.filter(user=user).select_related("creator", "order")[:limit]


def _entry(order: Order, user, kind: str, amount: Decimal, key: str, line: OrderLine | None = None,
           note: str = "") -> CreditEntry | None:
    entry, created = CreditEntry.objects.get_or_create(key=key, defaults={
        "creator_id": order.creator_id, "user": user, "email": order.email, "kind": kind, "amount": amount,
        "currency": order.currency, "order": order, "line": line, "note": note[:255]})
    return entry if created else None


def grant(line: OrderLine, amount: Decimal, note: str = "") -> CreditEntry | None:
    """Credit a paid line adds to its buyer's balance with the creator; once per line."""
    if amount <= 0:
        return None
    order = line.order
    user = _owner(order)
    _lock_user(user)
    return _entry(order, user, CreditEntry.Kind.GRANT, amount, f"grant:{line.pk}", line, note)


def apply_to(order: Order) -> Decimal:
    """Spend the buyer's credit with the creator on an open order (locked by the caller). Once per order."""
    if order.credit_used > 0 or order.total <= 0 or not order.buyer_id:
        return ZERO
    user = order.buyer
    _lock_user(user)
    available = balance(user, order.creator_id, order.currency)
    spend = min(available, order.total)
    if spend <= 0:
        return ZERO
    if CreditEntry.objects.filter(key=f"spend:{order.pk}").exists():
        return ZERO  # spent and given back before (a lapsed checkout): the order is not charged twice
    _entry(order, user, CreditEntry.Kind.SPEND, -spend, f"spend:{order.pk}", note="Spent at checkout.")
    order.credit_used = spend
    order.total -= spend
    order.save(update_fields=["credit_used", "total"])
    return spend


def give_back(order: Order) -> None:
    """An unpaid order that spent credit was cancelled or lapsed: the credit returns. Once per order."""
    if order.credit_used <= 0:
        return
    _lock_user(order.buyer)
    _entry(order, order.buyer, CreditEntry.Kind.RETURN, order.credit_used, f"return:{order.pk}",
           note="Order not paid: credit given back.")


def spend_again(order: Order) -> None:
    """A lapsed order that gave its credit back was paid after all (a late payment that still found
    its stock): the credit it was priced with is spent again, even if that leaves the balance short."""
    if order.credit_used <= 0 or not CreditEntry.objects.filter(key=f"return:{order.pk}").exists():
        return
    _lock_user(order.buyer)
    _entry(order, order.buyer, CreditEntry.Kind.SPEND, -order.credit_used, f"respend:{order.pk}",
           note="Paid late: the credit is spent after all.")


def outstanding_on(order: Order) -> Decimal:
    """Credit the order has spent and not given back."""
    total = (CreditEntry.objects.filter(order=order, line__isnull=True,
                                        kind__in=[CreditEntry.Kind.SPEND, CreditEntry.Kind.RETURN])
             .aggregate(s=Sum("amount"))["s"] or ZERO)
    return max(ZERO, -total)


def settle_refund(order: Order, lines: list[OrderLine], amount: Decimal) -> tuple[Decimal, str]:
    """Inside a refund (order locked): `amount` is the refunded lines' worth. Returns (money to refund,
    a note for the buyer or "").

    Credit spent on the order comes back as credit (never as money): money is at most what was paid
    and not yet refunded. Then credit the lines granted is taken back; what of it was already spent
    is kept out of the money refunded.
    """
    user = _owner(order)
    _lock_user(user)
    paid_left = max(ZERO, order.total - order.refunded_total)
    money = min(amount, paid_left)
    notes = []
    credit_back = min(amount - money, outstanding_on(order))
    if credit_back > 0:
        n = CreditEntry.objects.filter(order=order, kind=CreditEntry.Kind.RETURN).count()
        _entry(order, user, CreditEntry.Kind.RETURN, credit_back, f"refund-return:{order.pk}:{n}",
               note="Refunded: the store credit spent on this order is back.")
        notes.append(f"{credit_back} {order.currency} paid with store credit went back to your credit.")
    for line in lines:
        granted = (CreditEntry.objects.filter(line=line, kind=CreditEntry.Kind.GRANT).aggregate(s=Sum("amount"))["s"]
                   or ZERO)
        if granted <= 0 or CreditEntry.objects.filter(key=f"revoke:{line.pk}").exists():
            continue
        have = balance(user, order.creator_id, order.currency) if user else ZERO
        if user is None:  # a guest's credit, never claimed
            have = (CreditEntry.objects.filter(user__isnull=True, email__iexact=order.email,
                                               creator_id=order.creator_id, currency=order.currency)
                    .aggregate(s=Sum("amount"))["s"] or ZERO)
        take = min(granted, max(ZERO, have))
        spent = granted - take
        _entry(order, user, CreditEntry.Kind.REVOKE, -take, f"revoke:{line.pk}", line,
               note=f"Refunded: the credit from “{line.description}” is taken back.")
        if spent > 0:
            cut = min(spent, money)
            money -= cut
            notes.append(f"The refund is {cut} {order.currency} less because that much of the store credit from "
                         f"“{line.description}” was already spent.")
    return money, " ".join(notes)


@transaction.atomic
def claim_for(user, order_ids) -> int:
    """Credit bought as a guest on these orders (shown to be theirs) joins the new account."""
    _lock_user(user)
    return CreditEntry.objects.filter(user__isnull=True, order_id__in=list(order_ids)).update(user=user)
