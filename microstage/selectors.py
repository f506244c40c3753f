"""Reads about users, creators and team roles."""
from django.db.models import QuerySet

from .models import Creator, Role, TeamMembership, User


def team_roles(user: User) -> QuerySet[TeamMembership]:
    """The creators a user works for, with their role, for switchers and /me."""
    if not user.is_authenticated:
        return TeamMembership.objects.none()
    return TeamMembership.objects.filter(user=user).select_related("creator").order_by("creator__name")


def role_of(user: User, creator: Creator | str) -> str | None:
    if not user.is_authenticated:
        return None
    creator_id = creator.pk if isinstance(creator, Creator) else creator
    return TeamMembership.objects.filter(user=user, creator_id=creator_id).values_list("role", flat=True).first()


def team_of(creator: Creator) -> QuerySet[TeamMembership]:
    return creator.team.select_related("user").order_by("role", "user__email")


def is_owner(user: User, creator: Creator) -> bool:
    return role_of(user, creator) == Role.OWNER


def has_verified_email(user: User, email: str) -> bool:
    """True when `user` has proven they receive mail at `email` (allauth's verified EmailAddress)."""
    from allauth.account.models import EmailAddress

    if not getattr(user, "is_authenticated", False) or not email:
        return False
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()
