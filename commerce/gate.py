"""The checkout gate: what another app plugs into the order flow without commerce importing it.

The risk app registers itself here (risk/apps.py): every checkout is checked, a paid
order may be held for a review, and a held or rejected order delivers nothing. Without a
registration checkout is not checked and every paid order is delivered. The payouts app registers
the connected-account charge (its parameters, and whether the creator can take charges yet) and the
chargebacks reported on orders' payments the same way (payouts/apps.py).
"""
import ipaddress
from collections.abc import Callable

from django.conf import settings

_checks: dict[str, Callable] = {}


def register(*, check_checkout: Callable, on_paid: Callable, is_delivered: Callable, is_held: Callable,
             held_orders: Callable) -> None:
    """Install the checkout review: `check_checkout(order_id, ip=)` may raise; `on_paid(order, payment)`
    returns something when the paid order waits for a review; `is_delivered(order)`, `is_held(order)`;
    `held_orders(creator_id)` is a subquery of the ids of the creator's orders that wait."""
    _checks.update(check_checkout=check_checkout, on_paid=on_paid, is_delivered=is_delivered, is_held=is_held,
                   held_orders=held_orders)


def register_charge_params(func: Callable) -> None:
    """Install `func(order) -> dict`: extra start_checkout arguments (a destination charge)."""
    _checks["charge_params"] = func


def register_charge_check(func: Callable) -> None:
    """Install `func(creator_id)`: raises when the creator cannot take charges yet."""
    _checks["require_charges"] = func


def register_disputes(*, opened: Callable, closed: Callable) -> None:
    """Install the payment gateway's chargeback callbacks for orders: `opened(payment, event)`, `closed(...)`."""
    _checks.update(dispute_opened=opened, dispute_closed=closed)


def check_checkout(order_id: str, *, ip: str = "") -> None:
    if "check_checkout" in _checks:
        _checks["check_checkout"](order_id, ip=ip)


def on_paid(order, payment):
    return _checks["on_paid"](order, payment) if "on_paid" in _checks else None


def is_delivered(order) -> bool:
    return _checks["is_delivered"](order) if "is_delivered" in _checks else True


def is_held(order) -> bool:
    return _checks["is_held"](order) if "is_held" in _checks else False


def held_orders(creator_id: str):
    """Ids of the creator's orders held for a review (none without a registration)."""
    if "held_orders" in _checks:
        return _checks["held_orders"](creator_id)
    from .models import Order

    return Order.objects.none().values("pk")


def charge_params(order) -> dict:
    return _checks["charge_params"](order) if "charge_params" in _checks else {}


def require_charges(creator_id: str) -> None:
    if "require_charges" in _checks:
        _checks["require_charges"](creator_id)


def dispute_opened(payment, event) -> None:
    if "dispute_opened" in _checks:
        _checks["dispute_opened"](payment, event)


def dispute_closed(payment, event) -> None:
    if "dispute_closed" in _checks:
        _checks["dispute_closed"](payment, event)


def client_ip(request) -> str:
    """The client's IP: REMOTE_ADDR, or, when RISK_TRUST_X_FORWARDED_FOR says a proxy of ours sits in
    front, the right-most X-Forwarded-For entry (the one that proxy appended; left ones are the
    client's to invent). "" when it is not an IP address."""
    raw = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "RISK_TRUST_X_FORWARDED_FOR", False):
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            raw = forwarded[-1]
    try:
        return str(ipaddress.ip_address(raw[:64]))
    except ValueError:
        return ""
