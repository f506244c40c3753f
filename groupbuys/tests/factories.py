"""Factories for group-buys: group-buys, their price tiers and participants."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce.tests.factories import EUR, OrderFactory
from catalog.tests.factories import ProductFactory
from groupbuys import models as m
from microstage.tests.factories import UserFactory


def _later(**delta):
    return factory.LazyFunction(lambda: tz.now() + timedelta(**delta))


class GroupBuyFactory(factory.django.DjangoModelFactory):
    """An open group-buy of a product, ending in two days."""

    class Meta:
        model = m.GroupBuy

    product = factory.SubFactory(ProductFactory)
    creator = factory.LazyAttribute(lambda o: o.product.creator)
    title = factory.Sequence(lambda n: f"Group-buy {n}")
    deadline = _later(days=2)
    max_quantity = 100
    currency = EUR


class GroupBuyPriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.GroupBuyPriceTier

    group_buy = factory.SubFactory(GroupBuyFactory)
    min_quantity = factory.Sequence(lambda n: n + 1)
    price = Decimal("20.00")


class GroupBuyParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.GroupBuyParticipant

    group_buy = factory.SubFactory(GroupBuyFactory)
    user = factory.SubFactory(UserFactory)
    quantity = 1
    order = factory.SubFactory(OrderFactory, creator=factory.SelfAttribute("..group_buy.creator"),
                               buyer=factory.SelfAttribute("..user"))
