"""Team roles go only to whoever proves the invited address is theirs.

The squatter scenario from the outside review: an attacker registers `new-manager@company.example`
(without being able to verify it) before the owner invites that address as a manager. Before the
fix the invitation turned active at once and the attacker read the creator's analytics.
"""
import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from microstage.models import Invitation, Role, TeamMembership, User

from .factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db

SQUAT = "new-manager@company.example"
PASSWORD = "violet-lantern-harbour-42"


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def owner_api(make_api):
    owner = UserFactory()
    creator = CreatorFactory(name="Night Owls")
    team_member(creator, Role.OWNER, owner)
    api = make_api(owner)
    api.creator = creator
    return api


def invite(api, email, role="manager"):
    return post_json(api, f"/api/v1/creators/{api.creator.pk}/team", {"email": email, "role": role})


def link(message, pattern) -> str:
    match = re.search(pattern, message.body)
    assert match, message.body
    return "/" + match.group(0).split("://", 1)[1].split("/", 1)[1]


def test_squatter_on_an_unverified_address_gets_no_role(api, make_api, client, owner_api,
                                                         django_capture_on_commit_callbacks):
    r = post_json(api, "/api/v1/auth/register", {"email": SQUAT, "password": PASSWORD})
    assert r.status_code == 201
    squatter = User.objects.get(email=SQUAT)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        squatted = invite(owner_api, SQUAT)
        unknown = invite(owner_api, "nobody-yet@company.example")
    # The same answer whether or not an account exists.
    assert squatted.status_code == unknown.status_code == 201
    assert squatted.json()["status"] == unknown.json()["status"] == "invited"
    assert set(squatted.json()) == set(unknown.json()) and squatted.json()["role"] == "manager"

    # No role, no analytics for the squatter.
    assert not TeamMembership.objects.filter(user=squatter).exists()
    squatter_api = make_api(squatter)
    assert squatter_api.get(f"/api/v1/creators/{owner_api.creator.pk}/analytics").status_code == 404
    assert all(c["id"] != owner_api.creator.pk for c in squatter_api.get("/api/v1/me").json()["creators"])

    # Even holding the link (it went to the real mailbox) an unverified account cannot accept.
    invitation = Invitation.objects.get(email=SQUAT)
    client.force_login(squatter)
    page = client.post(f"/invitations/{invitation.token}/", follow=True)
    assert "We sent a confirmation link to" in page.content.decode()
    assert not TeamMembership.objects.filter(user=squatter).exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    # The confirmation goes to the address itself, i.e. to whoever really owns the mailbox.
    assert mail.outbox[-1].to == [SQUAT] and "/accounts/confirm-email/" in mail.outbox[-1].body


def test_the_owner_of_the_mailbox_verifies_then_accepts_from_the_link(client, owner_api,
                                                                     django_capture_on_commit_callbacks):
    person = UserFactory(email="door@company.example")
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(owner_api, "Door@Company.example", role="door").status_code == 201
    invitation_link = link(mail.outbox[-1], r"https?://\S+/invitations/\S+/")
    assert not TeamMembership.objects.filter(user=person).exists()   # nothing before accepting

    client.force_login(person)
    client.post(invitation_link)                                       # unverified: a confirmation is sent
    assert not TeamMembership.objects.filter(user=person).exists()
    confirm = link(mail.outbox[-1], r"https?://\S+/accounts/confirm-email/\S+")
    r = client.post(confirm)
    assert r.status_code == 302 and r.url == invitation_link            # back to the invitation
    assert EmailAddress.objects.get(user=person, email__iexact="door@company.example").verified
    assert not TeamMembership.objects.filter(user=person).exists()     # confirming alone grants nothing
    r = client.post(invitation_link)
    assert r.status_code == 302 and r.url == "/dashboard/"
    assert TeamMembership.objects.get(user=person, creator=owner_api.creator).role == Role.DOOR


def test_an_existing_verified_account_is_also_only_invited(owner_api, django_capture_on_commit_callbacks):
    friend = UserFactory(email="friend@example.com")
    EmailAddress.objects.create(user=friend, email=friend.email, verified=True, primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        r = invite(owner_api, "friend@example.com")
    assert r.status_code == 201 and r.json()["status"] == "invited"
    assert not TeamMembership.objects.filter(user=friend).exists()
    assert Invitation.objects.get(email="friend@example.com").status == Invitation.Status.PENDING
    assert mail.outbox[-1].to == ["friend@example.com"] and "/invitations/" in mail.outbox[-1].body
