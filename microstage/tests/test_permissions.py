"""require_role: strangers get NotFound, a role that may not gets Forbidden, the right role (and SYSTEM)
pass, and a missing actor is a programming error, never "trusted"."""
import pickle

import pytest
from django.contrib.auth.models import AnonymousUser

from microstage.errors import Forbidden, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES, MODERATION_ROLES, Role
from microstage.permissions import ANY_ROLE, SYSTEM, require_role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db


def test_a_stranger_gets_not_found_as_if_the_creator_did_not_exist():
    creator = CreatorFactory()
    with pytest.raises(NotFound) as exc:
        require_role(UserFactory(), creator, EDIT_ROLES)
    assert exc.value.status == 404 and str(exc.value.detail) == "No such creator."
    with pytest.raises(NotFound):
        require_role(UserFactory(), "no-such-creator", EDIT_ROLES)


def test_anonymous_is_a_stranger():
    with pytest.raises(NotFound):
        require_role(AnonymousUser(), CreatorFactory(), ANY_ROLE)


def test_a_team_member_of_another_creator_is_a_stranger_here():
    mine, theirs = CreatorFactory(), CreatorFactory()
    owner = team_member(mine, Role.OWNER)
    with pytest.raises(NotFound):
        require_role(owner, theirs, EDIT_ROLES)


@pytest.mark.parametrize("role, roles", [(Role.DOOR, EDIT_ROLES), (Role.MODERATOR, EDIT_ROLES),
                                         (Role.MODERATOR, DOOR_ROLES), (Role.DOOR, MODERATION_ROLES)])
def test_a_role_that_may_not_gets_forbidden_with_the_role_named(role, roles):
    creator = CreatorFactory()
    with pytest.raises(Forbidden) as exc:
        require_role(team_member(creator, role), creator, roles)
    assert exc.value.status == 403
    assert exc.value.detail == f"Your role ({Role(role).label}) does not allow this."


def test_the_caller_may_name_the_object_in_the_messages():
    creator = CreatorFactory()
    with pytest.raises(NotFound) as missing:
        require_role(UserFactory(), creator, EDIT_ROLES, not_found="No such event.")
    with pytest.raises(Forbidden) as refused:
        require_role(team_member(creator, Role.DOOR), creator, EDIT_ROLES, forbidden="Only owners.")
    assert (missing.value.detail, refused.value.detail) == ("No such event.", "Only owners.")


@pytest.mark.parametrize("role, roles", [(Role.OWNER, EDIT_ROLES), (Role.MANAGER, EDIT_ROLES),
                                         (Role.DOOR, DOOR_ROLES), (Role.MODERATOR, MODERATION_ROLES),
                                         (Role.DOOR, ANY_ROLE)])
def test_the_right_role_gets_the_creator(role, roles):
    creator = CreatorFactory()
    user = team_member(creator, role)
    assert require_role(user, creator, roles) == creator
    assert require_role(user, creator.pk, roles) == creator  # an id works as well as the object


def test_system_may_act_for_every_creator():
    creator = CreatorFactory()
    assert require_role(SYSTEM, creator, EDIT_ROLES) is creator
    assert require_role(SYSTEM, creator.pk, EDIT_ROLES) == creator
    with pytest.raises(NotFound):
        require_role(SYSTEM, "no-such-creator", EDIT_ROLES)


def test_system_is_nobody_in_audit_fields_and_stays_itself_when_pickled():
    assert not SYSTEM.is_authenticated and SYSTEM.pk is None and repr(SYSTEM) == "SYSTEM"
    assert pickle.loads(pickle.dumps(SYSTEM)) is SYSTEM


def test_no_actor_is_a_programming_error_not_trusted_code():
    with pytest.raises(TypeError):
        require_role(None, CreatorFactory(), EDIT_ROLES)


def test_the_roles_are_always_named():
    creator = CreatorFactory()
    with pytest.raises(TypeError):
        require_role(team_member(creator, Role.OWNER), creator, None)


def test_staff_are_checked_like_anyone_else():
    creator = CreatorFactory()
    with pytest.raises(NotFound):
        require_role(UserFactory(is_staff=True, is_superuser=True), creator, EDIT_ROLES)


def test_a_role_fetched_with_the_object_decides_the_same_way_without_another_query(django_assert_num_queries):
    from microstage.models import TeamMembership
    from microstage.permissions import team_role

    creator = CreatorFactory()
    door, stranger = team_member(creator, Role.DOOR), UserFactory()

    def fetched(actor):
        return TeamMembership.objects.filter(creator=creator).annotate(
            actor_role=team_role(actor)).values_list("actor_role", flat=True).first()

    with django_assert_num_queries(0):
        assert require_role(door, creator, DOOR_ROLES, fetched_role=Role.DOOR) is creator
        with pytest.raises(Forbidden):
            require_role(door, creator, EDIT_ROLES, fetched_role=Role.DOOR)
        with pytest.raises(NotFound):
            require_role(stranger, creator, EDIT_ROLES, fetched_role=None)
        with pytest.raises(NotFound):  # a role read for someone else never lets the anonymous in
            require_role(AnonymousUser(), creator, EDIT_ROLES, fetched_role=Role.OWNER)
    assert (fetched(door), fetched(stranger), fetched(AnonymousUser())) == (Role.DOOR, None, None)
