"""Factories for events and ticket tiers: a published event on sale now, unless told otherwise."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from events.models import Event, TicketTier
from microstage.tests.factories import CreatorFactory


class EventFactory(factory.django.DjangoModelFactory):
    """A published in-person show next week; `venue_capacity` is None (no room limit) unless given."""

    class Meta:
        model = Event

    creator = factory.SubFactory(CreatorFactory)
    title = factory.Sequence(lambda n: f"Show {n}")
    slug = factory.Sequence(lambda n: f"show-{n}")
    description = "A small show."
    starts_at = factory.LazyFunction(lambda: tz.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    timezone = "Europe/Berlin"
    mode = Event.Mode.IN_PERSON
    venue_name = "The Room"
    venue_capacity = None
    status = Event.Status.PUBLISHED
    published_at = factory.LazyFunction(tz.now)


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketTier

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    kind = TicketTier.Kind.STANDARD
    price = Decimal("20.00")
    currency = "EUR"
    quantity = 10
    max_per_order = 10
