"""Factories for risk: checkout attempts and reviews of held orders."""
import factory

from commerce.tests.factories import OrderFactory
from risk import models as m


class CheckoutAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CheckoutAttempt

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")


class RiskReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.RiskReview

    order = factory.SubFactory(OrderFactory)
    score = 50
    reasons = factory.LazyFunction(lambda: ["new_account"])
