"""Factories for streaming: live streams and their incidents, recordings, clips, chat, mutes,
replay offers and content access. Every default makes a valid row; pass what a test cares about."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from commerce.tests.factories import OrderLineFactory
from events.tests.factories import EventFactory
from microstage.tests.factories import UserFactory
from streaming import models as m


class LiveStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LiveStream

    event = factory.SubFactory(EventFactory, mode="hybrid")


class StreamIncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StreamIncident

    stream = factory.SubFactory(LiveStreamFactory)
    kind = "low_bitrate"


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Recording

    stream = factory.SubFactory(LiveStreamFactory)
    source = "live"


class ClipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Clip

    recording = factory.SubFactory(RecordingFactory)
    event = factory.LazyAttribute(lambda o: o.recording.stream.event)
    title = factory.Sequence(lambda n: f"Encore {n}")
    start_seconds = 10.0
    end_seconds = 40.0
    created_by = factory.SubFactory(UserFactory)


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ChatMessage

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    text = "Hello from the back row"


class ChatMuteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ChatMute

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    until = factory.LazyFunction(lambda: tz.now() + timedelta(minutes=10))
    muted_by = factory.SubFactory(UserFactory)


class ReplayOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ReplayOffer

    event = factory.SubFactory(EventFactory)
    price = Decimal("6.00")
    currency = "EUR"


class ContentAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ContentAccess

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email)
    order_line = factory.SubFactory(OrderLineFactory, kind="replay", item_id=factory.SelfAttribute("..event.pk"),
                                    order__creator=factory.SelfAttribute("...event.creator"))
