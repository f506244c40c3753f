"""Factories for events: a published event on sale now unless told otherwise, its tiers, tickets and
check-ins, drops, waiting lists, bundles, perks, consent and notify-me requests."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce.tests.factories import OrderLineFactory
from catalog.tests.factories import ProductFactory
from events.models import (
    Bundle,
    BundleItem,
    CheckIn,
    ConsentAnswers,
    ConsentForm,
    Drop,
    Event,
    NotifyRequest,
    Ticket,
    TicketTier,
    TierPerk,
    WaitlistEntry,
)
from microstage.tests.factories import CreatorFactory, UserFactory


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


class TicketFactory(factory.django.DjangoModelFactory):
    """A valid ticket of a tier, sold through a paid order line."""

    class Meta:
        model = Ticket

    tier = factory.SubFactory(TierFactory)
    event = factory.LazyAttribute(lambda o: o.tier.event)
    order_line = factory.SubFactory(
        OrderLineFactory, kind="ticket", item_id=factory.SelfAttribute("..tier.pk"),
        order__creator=factory.SelfAttribute("...tier.event.creator"), order__status="paid")
    holder = factory.SubFactory(UserFactory)
    holder_email = factory.LazyAttribute(lambda o: o.holder.email if o.holder else "holder@example.com")


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    ticket = factory.SubFactory(TicketFactory)
    event = factory.LazyAttribute(lambda o: o.ticket.event)
    result = CheckIn.Result.OK
    scanned_at = factory.LazyFunction(tz.now)


class DropFactory(factory.django.DjangoModelFactory):
    """A drop of a product on an event, open now for an hour."""

    class Meta:
        model = Drop

    event = factory.SubFactory(EventFactory)
    product = factory.SubFactory(ProductFactory, creator=factory.SelfAttribute("..event.creator"))
    quantity = 20
    starts_at = factory.LazyFunction(tz.now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    tier = factory.SubFactory(TierFactory)
    user = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: n + 1)


class BundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bundle

    creator = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Night bundle {n}")
    price = Decimal("45.00")
    currency = "EUR"


class BundleItemFactory(factory.django.DjangoModelFactory):
    """One ticket of a tier of the bundle's creator."""

    class Meta:
        model = BundleItem

    bundle = factory.SubFactory(BundleFactory)
    tier = factory.SubFactory(TierFactory, event__creator=factory.SelfAttribute("...bundle.creator"))
    quantity = 1


class TierPerkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierPerk

    tier = factory.SubFactory(TierFactory)
    kind = TierPerk.Kind.REPLAY


class ConsentFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentForm

    event = factory.SubFactory(EventFactory)


class ConsentAnswersFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentAnswers

    ticket = factory.SubFactory(TicketFactory)
    holder_email = factory.LazyAttribute(lambda o: o.ticket.holder_email)
    submitted_at = factory.LazyFunction(tz.now)


class NotifyRequestFactory(factory.django.DjangoModelFactory):
    """A wish to hear when a tier's sales start."""

    class Meta:
        model = NotifyRequest

    user = factory.SubFactory(UserFactory)
    tier = factory.SubFactory(TierFactory)
