"""Reads for selling: live availability, orders as their buyer or the creator's team sees them."""
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _

from microstage.errors import NotFound
from microstage.models import EDIT_ROLES
from microstage.selectors import role_of

from . import inventory
from .models import Order, OrderLine


def availability_by_key(keys: list[str], now=None) -> dict[str, int]:
    """Units left per pool: total − sold − active unexpired holds. Unknown pools are not listed."""
    return inventory.availability_by_key(keys, now)


def availability(keys: list[str], totals: dict[str, int] | None = None, now=None) -> int:
    """What one line drawing on all `keys` can still get: the tightest pool decides (commerce.inventory)."""
    return inventory.availability(keys, totals, now)


def order_for(order_id: str, user) -> tuple[Order, bool]:
    """The order and whether `user` sees it as the creator's team; NotFound for anyone else."""
    order = (Order.objects.select_related("creator", "payment")
             .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("position")))
             .filter(pk=order_id).first())
    if order is None or not user.is_authenticated:
        raise NotFound(_("No such order."))
    is_team = role_of(user, order.creator_id) in EDIT_ROLES
    if not is_team and order.buyer_id != user.pk:
        raise NotFound(_("No such order."))
    return order, is_team


def with_lines(order: Order) -> Order:
    """An order in hand with its lines read in position order (one query): what an answer about it needs."""
    prefetch_related_objects([order], Prefetch("lines", queryset=OrderLine.objects.order_by("position")))
    return order


def orders_of(user):
    return (Order.objects.filter(buyer=user).select_related("creator")
            .prefetch_related("lines").order_by("-created_at"))
