"""Factories for stock: places, movements in the ledger, overrides and pop-up till sales."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce.tests.factories import EUR
from catalog.tests.factories import ProductVariantFactory
from microstage.tests.factories import CreatorFactory, UserFactory
from stock import models as m


def _later(**delta):
    return factory.LazyFunction(lambda: tz.now() + timedelta(**delta))


class StockLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StockLocation

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Merch table {n}")


class StockMovementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StockMovement

    location = factory.SubFactory(StockLocationFactory)
    variant = factory.SubFactory(ProductVariantFactory, product__creator=factory.SelfAttribute("...location.creator"))
    quantity = 5
    reason = m.StockMovement.Reason.RECEIVED
    key = factory.Sequence(lambda n: f"test-move-{n}")


class StockOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StockOverride

    location = factory.SubFactory(StockLocationFactory)
    variant = factory.SubFactory(ProductVariantFactory, product__creator=factory.SelfAttribute("...location.creator"))
    quantity = 1
    expires_at = _later(hours=1)
    created_by = factory.SubFactory(UserFactory)


class PosSaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PosSale

    location = factory.SubFactory(StockLocationFactory)
    client_id = factory.Sequence(lambda n: f"till-sale-{n}")
    items = factory.LazyFunction(lambda: [{"variant": "var_test", "quantity": 1, "unit_price": "25.00"}])
    total = Decimal("25.00")
    currency = EUR
    payment_method = "cash"
    sold_at = factory.LazyFunction(tz.now)
    sold_by = factory.SubFactory(UserFactory)
