"""Factories for the catalog: products and their variants."""
from decimal import Decimal

import factory

from catalog import models as m
from commerce.tests.factories import EUR
from microstage.tests.factories import CreatorFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Product

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Tour shirt {n}")
    price = Decimal("25.00")
    currency = EUR


class ProductVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ProductVariant

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Size {n}")
    stock = 20
