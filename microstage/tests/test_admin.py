"""Staff admin: list views with search and filters render for every platform model."""
import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids
from django.urls import reverse

from microstage.models import Invitation, Role

from .factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    creator = CreatorFactory(name="Owl Club")
    team_member(creator, Role.OWNER)
    Invitation.objects.create(creator=creator, email="invitee@example.com", role=Role.DOOR)
    return client


@pytest.mark.parametrize("model", ["user", "creator", "teammembership", "invitation"])
def test_changelists_search_and_filter(staff_client, model):
    url = reverse(f"admin:microstage_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "owl"}).status_code == 200


def test_user_list_shows_creator_count_and_filters(staff_client):
    r = staff_client.get(reverse("admin:microstage_user_changelist"), {"is_staff__exact": "1"})
    assert r.status_code == 200 and b"Creators" in r.content


def test_revoke_invitations_action(staff_client):
    inv = Invitation.objects.get()
    r = staff_client.post(reverse("admin:microstage_invitation_changelist"),
                          {"action": "revoke", "_selected_action": [inv.pk]}, follow=True)
    assert r.status_code == 200
    inv.refresh_from_db()
    assert inv.status == Invitation.Status.REVOKED


def test_creator_change_page_with_team_inline(staff_client):
    creator = CreatorFactory()
    assert staff_client.get(reverse("admin:microstage_creator_change", args=[quote(creator.pk)])).status_code == 200


def test_non_staff_cannot_open_admin(client):
    client.force_login(UserFactory())
    r = client.get(reverse("admin:microstage_user_changelist"))
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
