"""Factories for analytics: visitors and page views, view batches, telemetry and experiments."""
import factory

from analytics import models as m
from microstage.tests.factories import CreatorFactory


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Visitor

    id = factory.Sequence(lambda n: f"v{n:039d}")  # the random first-party cookie id


class PageViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PageView

    visitor = factory.SubFactory(VisitorFactory)
    page = "event"


class PageViewBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PageViewBatch

    id = factory.Sequence(lambda n: f"batch-{n}")  # the Redis batch's id
    views = 10


class TelemetrySampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TelemetrySample

    event_id = factory.Sequence(lambda n: f"evt_{n}")
    kind = "player_startup_ms"
    value = 850.0


class ExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Experiment

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Price test {n}")
    target = "drop"
    target_id = factory.Sequence(lambda n: f"drp_{n}")
    variants = factory.LazyFunction(lambda: [{"key": "a", "weight": 50}, {"key": "b", "weight": 50}])
