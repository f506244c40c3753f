"""Factories for commerce: orders and their lines, inventory and holds, and store credit. Every default
makes a valid row; pass what a test cares about."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce import models as m
from commerce.models import inventory as stock_tables
from microstage.tests.factories import CreatorFactory, UserFactory

EUR = "EUR"


def _later(**delta):
    return factory.LazyFunction(lambda: tz.now() + timedelta(**delta))


class InventoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = stock_tables.Inventory

    key = factory.Sequence(lambda n: f"test:{n}")
    total = 10


class OrderFactory(factory.django.DjangoModelFactory):
    """A reserved order of nothing yet, held for 15 minutes."""

    class Meta:
        model = m.Order

    creator = factory.SubFactory(CreatorFactory)
    buyer = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.buyer.email if o.buyer else "guest@example.com")
    currency = EUR
    expires_at = _later(minutes=15)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.OrderLine

    order = factory.SubFactory(OrderFactory)
    kind = "product"
    item_id = factory.Sequence(lambda n: f"item_{n}")
    description = factory.Sequence(lambda n: f"Item {n}")
    unit_price = Decimal("10.00")
    list_price = factory.LazyAttribute(lambda o: o.unit_price)
    quantity = 1
    total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


class HoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = stock_tables.Hold

    line = factory.SubFactory(OrderLineFactory)
    order = factory.LazyAttribute(lambda o: o.line.order)
    inventory = factory.SubFactory(InventoryFactory)
    quantity = 1
    expires_at = factory.LazyAttribute(lambda o: o.order.expires_at)


class CreditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CreditEntry

    order = factory.SubFactory(OrderFactory)
    creator = factory.LazyAttribute(lambda o: o.order.creator)
    email = factory.LazyAttribute(lambda o: o.order.email)
    kind = "grant"
    amount = Decimal("10.00")
    currency = EUR
    key = factory.Sequence(lambda n: f"test-credit-{n}")
