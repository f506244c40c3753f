"""Factories for platform data."""
import factory

from microstage.models import Creator, Role, TeamMembership, User

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


def team_member(creator: Creator, role: str = Role.OWNER, user: User | None = None) -> User:
    user = user or UserFactory()
    TeamMembership.objects.create(creator=creator, user=user, role=role)
    return user
