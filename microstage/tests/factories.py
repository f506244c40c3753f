"""Factories for platform data: people, creators and their teams, payments and notifications."""
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone as tz

from microstage.models import (
    Creator,
    Invitation,
    Notification,
    NotificationPreference,
    Payment,
    ProcessedEvent,
    Role,
    TeamMembership,
    User,
)

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class CreatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creator

    name = factory.Sequence(lambda n: f"Creator {n}")
    slug = factory.Sequence(lambda n: f"creator-{n}")


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    creator = factory.SubFactory(CreatorFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    creator = factory.SubFactory(CreatorFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.DOOR
    expires_at = factory.LazyFunction(lambda: tz.now() + timedelta(days=7))


class PaymentFactory(factory.django.DjangoModelFactory):
    """A sandbox payment of €10 for a test purpose."""

    class Meta:
        model = Payment

    provider = "sandbox"
    amount = Decimal("10.00")
    currency = "EUR"
    purpose = "test"
    reference = factory.Sequence(lambda n: f"ref_{n}")


class ProcessedEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProcessedEvent

    provider = "stripe"
    event_id = factory.Sequence(lambda n: f"evt_test_{n}")
    kind = "payment_intent.succeeded"


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationPreference

    user = factory.SubFactory(UserFactory)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    recipient = factory.LazyAttribute(lambda o: o.user.email)
    address = factory.LazyAttribute(lambda o: o.user.email)
    kind = "doors_open"
    key = factory.Sequence(lambda n: f"test-notification-{n}")
    channel = "email"


def team_member(creator: Creator, role: str = Role.OWNER, user: User | None = None) -> User:
    user = user or UserFactory()
    TeamMembership.objects.create(creator=creator, user=user, role=role)
    return user
