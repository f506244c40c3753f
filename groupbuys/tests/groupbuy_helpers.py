"""Shared helpers for the group-buy tests (no tests of its own): products, group-buys, joiners."""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from groupbuys import services as groupbuys
from catalog.models import Product
from groupbuys.models import GroupBuy
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

TIERS = [{"min_quantity": 5, "price": Decimal("8.00")}, {"min_quantity": 10, "price": Decimal("6.00")}]


def product(creator=None, price="10.00", currency="EUR") -> Product:
    creator = creator or CreatorFactory()
    return Product.objects.create(creator=creator, name="Tour shirt", price=Decimal(price), currency=currency)


def group_buy(*, tiers=None, max_quantity=None, days=2, price="10.00", owner=None) -> GroupBuy:
    prod = product(price=price)
    owner = owner or team_member(prod.creator, Role.OWNER)
    gb = groupbuys.create_group_buy(actor=owner, creator_id=prod.creator_id, product_id=prod.pk,
                                    deadline=timezone.now() + timedelta(days=days),
                                    price_tiers=tiers if tiers is not None else TIERS, max_quantity=max_quantity)
    gb.owner = owner
    return gb


def join(gb: GroupBuy, quantity: int = 1, user=None, **kw):
    return groupbuys.join(group_buy_id=gb.pk, user=user or UserFactory(), quantity=quantity, **kw)


def past_deadline(gb: GroupBuy) -> None:
    GroupBuy.objects.filter(pk=gb.pk).update(deadline=timezone.now() - timedelta(minutes=1))
