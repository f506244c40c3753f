"""API contract for accounts, creators and teams (API.md "Accounts and creators")."""
import json

import pytest
from django.core import mail

from microstage.models import Creator, Invitation, Role, TeamMembership, User

from .factories import PASSWORD, CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body) if not isinstance(body, str) else body,
                       content_type="application/json")


class TestRegister:
    def test_creates_account(self, api):
        r = post_json(api, "/api/v1/auth/register",
                      {"email": "New@Example.com", "password": PASSWORD, "display_name": "Nia"})
        assert r.status_code == 201
        body = r.json()
        assert body["email"] == "new@example.com"
        assert not body["id"].isdigit() and body["id"].startswith("usr_")
        user = User.objects.get(pk=body["id"])
        assert user.check_password(PASSWORD) and user.display_name == "Nia"

    def test_duplicate_email_is_refused_case_insensitively(self, api):
        UserFactory(email="taken@example.com")
        r = post_json(api, "/api/v1/auth/register", {"email": "TAKEN@example.com", "password": PASSWORD})
        assert r.status_code == 400
        assert r.json()["code"] == "invalid" and "email" in r.json()["fields"]
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    @pytest.mark.parametrize("body, field", [
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "123"}, "password"),
        ({"email": "a@example.com", "password": "password"}, "password"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": 12345678901}, "password"),
        ({"email": "x" * 250 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "display_name": "n" * 81}, "display_name"),
    ])
    def test_bad_input_is_a_clear_400_and_creates_nothing(self, api, body, field):
        r = post_json(api, "/api/v1/auth/register", body)
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid"
        assert field in r.json()["fields"]
        assert User.objects.count() == 0

    @pytest.mark.parametrize("raw", ["{not json", "[]", "null", '"a string"', ""])
    def test_malformed_json(self, api, raw):
        r = post_json(api, "/api/v1/auth/register", raw)
        assert r.status_code == 400
        assert r.json()["code"] in {"malformed_request", "invalid"}
        assert "detail" in r.json()
        assert User.objects.count() == 0

    def test_form_encoded_body_is_refused(self, api):
        r = api.post("/api/v1/auth/register", {"email": "a@example.com", "password": PASSWORD})
        assert r.status_code == 415
        assert r.json()["code"] == "unsupported_media_type"


class TestToken:
    def test_good_credentials_give_a_token_that_works(self, api, user):
        r = post_json(api, "/api/v1/auth/token", {"email": user.email.upper(), "password": PASSWORD})
        assert r.status_code == 200
        token = r.json()["token"]
        me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")
        assert me.status_code == 200 and me.json()["email"] == user.email

    def test_same_token_twice(self, api, user):
        a = post_json(api, "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}).json()["token"]
        b = post_json(api, "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}).json()["token"]
        assert a == b

    def test_wrong_password_is_400(self, api, user):
        r = post_json(api, "/api/v1/auth/token", {"email": user.email, "password": "wrong-password"})
        assert r.status_code == 400
        assert r.json()["code"] == "invalid_credentials"

    def test_unknown_email_is_400(self, api):
        r = post_json(api, "/api/v1/auth/token", {"email": "ghost@example.com", "password": PASSWORD})
        assert r.status_code == 400

    def test_failed_attempts_are_rate_limited(self, api, user):
        codes = [post_json(api, "/api/v1/auth/token", {"email": user.email, "password": "nope-nope"}).status_code
                 for _ in range(6)]
        assert codes[:5] == [400] * 5
        assert codes[5] == 429
        # even the right password is refused while the limit holds
        r = post_json(api, "/api/v1/auth/token", {"email": user.email, "password": PASSWORD})
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"

    def test_bad_token_is_401(self, api):
        r = api.get("/api/v1/me", HTTP_AUTHORIZATION="Token nonsense")
        assert r.status_code == 401
        assert r.json()["code"] == "authentication_failed"


class TestMe:
    def test_anonymous_is_401(self, api):
        r = api.get("/api/v1/me")
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"

    def test_lists_roles(self, auth_api):
        creator = CreatorFactory()
        team_member(creator, Role.DOOR, user=auth_api.user)
        body = auth_api.get("/api/v1/me").json()
        assert body["id"] == auth_api.user.id and body["email"] == auth_api.user.email
        assert body["display_name"] == auth_api.user.display_name
        assert body["creators"] == [{"id": creator.id, "slug": creator.slug, "name": creator.name, "role": "door"}]


class TestCreators:
    def test_create_makes_caller_owner(self, auth_api):
        r = post_json(auth_api, "/api/v1/creators", {"name": "Night Owls"})
        assert r.status_code == 201
        body = r.json()
        assert body["slug"] == "night-owls" and body["name"] == "Night Owls" and body["id"].startswith("cre_")
        assert TeamMembership.objects.get(creator_id=body["id"]).role == "owner"

    def test_slug_given_and_taken(self, auth_api):
        assert post_json(auth_api, "/api/v1/creators", {"name": "A", "slug": "owls"}).status_code == 201
        r = post_json(auth_api, "/api/v1/creators", {"name": "B", "slug": "owls"})
        assert r.status_code == 400 and "slug" in r.json()["fields"]
        assert Creator.objects.count() == 1

    def test_generated_slugs_stay_unique(self, auth_api):
        slugs = {post_json(auth_api, "/api/v1/creators", {"name": "Same Name"}).json()["slug"] for _ in range(3)}
        assert len(slugs) == 3

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 121},
                                      {"name": "A", "slug": "Not A Slug!"}, {"name": "A", "slug": "admin"},
                                      {"name": 5, "slug": {"a": 1}}])
    def test_bad_input(self, auth_api, body):
        r = post_json(auth_api, "/api/v1/creators", body)
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert Creator.objects.count() == 0

    def test_anonymous_is_401(self, api):
        assert post_json(api, "/api/v1/creators", {"name": "A"}).status_code == 401


class TestTeam:
    @pytest.fixture
    def creator(self, auth_api):
        creator = CreatorFactory()
        team_member(creator, Role.OWNER, user=auth_api.user)
        return creator

    def test_existing_user_is_invited_like_anyone(self, auth_api, creator, django_capture_on_commit_callbacks):
        door = UserFactory(email="door@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            r = post_json(auth_api, f"/api/v1/creators/{creator.id}/team",
                          {"email": "DOOR@example.com", "role": "door"})
        assert r.status_code == 201
        assert r.json()["status"] == "invited" and r.json()["role"] == "door"
        assert not TeamMembership.objects.filter(creator=creator, user=door).exists()  # only once accepted
        assert len(mail.outbox) == 1 and creator.name in mail.outbox[0].subject
        assert Invitation.objects.get(email="door@example.com").token in mail.outbox[0].body

    def test_unknown_email_gets_an_invitation_link(self, auth_api, creator, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = post_json(auth_api, f"/api/v1/creators/{creator.id}/team",
                          {"email": "newbie@example.com", "role": "moderator"})
        assert r.status_code == 201 and r.json()["status"] == "invited"
        invitation = Invitation.objects.get(email="newbie@example.com")
        assert invitation.token in mail.outbox[0].body

    def test_manager_may_invite_but_door_may_not(self, make_api, creator):
        manager = team_member(creator, Role.MANAGER)
        door = team_member(creator, Role.DOOR)
        assert post_json(make_api(manager), f"/api/v1/creators/{creator.id}/team",
                         {"email": "x@example.com", "role": "door"}).status_code == 201
        r = post_json(make_api(door), f"/api/v1/creators/{creator.id}/team", {"email": "y@example.com", "role": "door"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert not Invitation.objects.filter(email="y@example.com").exists()

    def test_outsider_gets_404(self, make_api, creator):
        outsider = UserFactory()
        r = post_json(make_api(outsider), f"/api/v1/creators/{creator.id}/team", {"email": "z@example.com",
                                                                                  "role": "door"})
        assert r.status_code == 404 and r.json()["code"] == "not_found"

    def test_unknown_creator_404(self, auth_api):
        r = post_json(auth_api, "/api/v1/creators/cre_doesnotexist/team", {"email": "z@example.com", "role": "door"})
        assert r.status_code == 404

    @pytest.mark.parametrize("body", [{"email": "a@example.com", "role": "owner"}, {"email": "a@example.com"},
                                      {"email": "nope", "role": "door"}, {"role": "door"},
                                      {"email": "a@example.com", "role": "superhero"}])
    def test_bad_input(self, auth_api, creator, body):
        r = post_json(auth_api, f"/api/v1/creators/{creator.id}/team", body)
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert TeamMembership.objects.filter(creator=creator).count() == 1
        assert not Invitation.objects.exists()

    def test_owner_role_cannot_be_overwritten(self, auth_api, creator):
        r = post_json(auth_api, f"/api/v1/creators/{creator.id}/team", {"email": auth_api.user.email, "role": "door"})
        assert r.status_code == 409
        assert TeamMembership.objects.get(creator=creator, user=auth_api.user).role == "owner"

    def test_team_list(self, auth_api, creator):
        post_json(auth_api, f"/api/v1/creators/{creator.id}/team", {"email": "inv@example.com", "role": "door"})
        body = auth_api.get(f"/api/v1/creators/{creator.id}/team").json()
        assert {(e["email"], e["status"]) for e in body["results"]} == {
            (auth_api.user.email, "active"), ("inv@example.com", "invited")}


def test_openapi_schema_and_docs(api):
    r = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    schema = json.loads(r.content)
    assert "/api/v1/auth/register" in schema["paths"] and "/api/v1/creators/{creator_id}/team" in schema["paths"]
    assert api.get("/api/v1/docs/").status_code == 200


def test_unknown_api_path_is_json_404(api):
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
