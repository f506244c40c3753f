"""Factories for fulfilment: shipping batches, shipments, pickup windows, pickups and costs."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce.tests.factories import EUR, OrderFactory
from fulfilment import models as m
from microstage.tests.factories import CreatorFactory


def _later(**delta):
    return factory.LazyFunction(lambda: tz.now() + timedelta(**delta))


class ShippingBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ShippingBatch

    creator = factory.SubFactory(CreatorFactory)


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Shipment

    order = factory.SubFactory(OrderFactory)
    address = "Musterstraße 1\n10115 Berlin"


class PickupWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PickupWindow

    creator = factory.SubFactory(CreatorFactory)
    place = "At the merch table"
    starts_at = _later(days=7)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))


class PickupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Pickup

    window = factory.SubFactory(PickupWindowFactory)
    order = factory.SubFactory(OrderFactory, creator=factory.SelfAttribute("..window.creator"))


class FulfilmentCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.FulfilmentCost

    order = factory.SubFactory(OrderFactory)
    kind = "postage"
    amount = Decimal("4.50")
    currency = EUR
