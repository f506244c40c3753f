"""Web pages of the platform, through Django's test client: accounts (allauth), dashboard, team, settings."""
import io
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from microstage.middleware import SESSION_KEY
from microstage.models import Creator, Invitation, Role, TeamMembership, User

from .factories import PASSWORD, CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-lantern-harbour-42"


def html(response) -> str:
    return response.content.decode()


def signup(client, email="nia@example.com", password=NEW_PASSWORD, password2=None, **extra):
    data = {"email": email, "password1": password, "password2": password if password2 is None else password2}
    return client.post("/accounts/signup/", {**data, **extra})


def login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def png_bytes(size=(64, 64), fmt="PNG", color=(91, 61, 245)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def link_in(message, pattern=r"https?://\S+") -> str:
    match = re.search(pattern, message.body)
    assert match, message.body
    return match.group(0)


@pytest.fixture
def owner_client(client):
    """A logged-in owner of one creator."""
    creator = CreatorFactory(name="Night Owls")
    owner = team_member(creator, Role.OWNER)
    client.force_login(owner)
    client.creator, client.user = creator, owner
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- Account pages (allauth in Microstage's frame) ----------------------------------------------


class TestAccountPagesRender:
    @pytest.mark.parametrize("url", [
        "/accounts/login/", "/accounts/signup/", "/accounts/login/code/", "/accounts/password/reset/",
        "/accounts/password/reset/done/", "/accounts/confirm-email/",
    ])
    def test_anonymous_pages_use_the_site_frame_and_label_every_input(self, client, url):
        r = client.get(url)
        assert r.status_code == 200
        page = html(r)
        assert 'class="site-header"' in page and 'href="/static/css/microstage.css"' in page
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        for input_id in re.findall(r'<input[^>]*type="(?:email|password|text)"[^>]*id="([^"]+)"', page):
            assert f'<label for="{input_id}">' in page, input_id

    def test_login_offers_a_sign_in_code_and_a_password_reset(self, client):
        page = html(client.get("/accounts/login/"))
        assert 'href="/accounts/login/code/"' in page and "sign-in code" in page
        assert 'href="/accounts/password/reset/"' in page and "Forgot your password?" in page
        assert 'href="/accounts/signup/"' in page

    @pytest.mark.parametrize("url", ["/accounts/email/", "/accounts/password/change/", "/accounts/logout/"])
    def test_account_management_pages(self, client, user, url):
        client.force_login(user)
        r = client.get(url)
        assert r.status_code == 200
        page = html(r)
        assert 'aria-label="Account settings"' in page and 'class="card auth-card"' in page

    def test_email_management_lists_the_address(self, client, user):
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
        client.force_login(user)
        page = html(client.get("/accounts/email/"))
        assert user.email in page and "Unverified" in page
        assert 'type="radio"' in page and f'value="{user.email}"' in page


class TestSignup:
    def test_signup_creates_a_user_and_lands_on_the_welcome_page(self, client):
        r = signup(client, email="Nia@Example.com")
        assert r.status_code == 302 and r.url == "/dashboard/"
        user = User.objects.get(email="nia@example.com")
        assert user.check_password(NEW_PASSWORD)
        assert EmailAddress.objects.filter(user=user, email="nia@example.com", primary=True).exists()
        welcome = client.get(r.url)
        assert welcome.status_code == 200 and welcome.wsgi_request.user == user
        page = html(welcome)
        assert "Create your creator page" in page and 'action="/dashboard/creators/new/"' in page
        # Verification is optional, but the confirmation email goes out.
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nia@example.com"]
        assert "/accounts/confirm-email/" in mail.outbox[0].body

    def test_confirming_the_email_from_the_message_verifies_it(self, client):
        signup(client)
        url = link_in(mail.outbox[0], r"https?://\S+/accounts/confirm-email/\S+")
        path = url.split("://", 1)[1].split("/", 1)[1]
        confirm = client.get("/" + path)
        assert confirm.status_code == 200 and "Confirm" in html(confirm)
        r = client.post("/" + path)
        assert r.status_code == 302
        assert EmailAddress.objects.get(email="nia@example.com").verified

    def test_duplicate_email_is_refused(self, client):
        UserFactory(email="taken@example.com")
        r = signup(client, email="TAKEN@example.com")
        assert r.status_code in (200, 400)
        page = html(r)
        assert "already registered" in page
        assert 'role="alert"' in page and 'aria-invalid="true"' in page
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    @pytest.mark.parametrize("password, password2, message", [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "You must type the same password each time."),
        ("short", "short", "This password is too short."),
        ("12345678901", "12345678901", "This password is entirely numeric."),
        ("password123", "password123", "This password is too common."),
    ])
    def test_mismatched_or_weak_password_is_refused(self, client, password, password2, message):
        r = signup(client, password=password, password2=password2)
        assert r.status_code in (200, 400)
        page = html(r)
        assert message in page.replace("&#x27;", "'")
        assert 'role="alert"' in page and 'aria-invalid="true"' in page
        assert not User.objects.exists()

    def test_overlong_email_is_refused_without_a_server_error(self, client):
        email = "a" * 250 + "@example.com"
        r = signup(client, email=email)
        assert r.status_code in (200, 400)
        assert 'id="id_email_error"' in html(r)
        assert not User.objects.exists()

    @pytest.mark.parametrize("data, field", [
        ({"email": "", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "email"),
        ({"email": "nia@example.com", "password1": "", "password2": ""}, "password1"),
        ({"email": "not-an-email", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "email"),
        ({}, "email"),
    ])
    def test_missing_or_bad_fields_are_shown_next_to_the_field(self, client, data, field):
        r = client.post("/accounts/signup/", data)
        assert r.status_code in (200, 400)
        page = html(r)
        # The error sits next to its field, the input points at it and the summary is announced.
        assert f'id="id_{field}_error"' in page
        assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="id_{field}"', page)
        assert re.search(rf'<input[^>]*aria-describedby="[^"]*id_{field}_error[^"]*"', page)
        assert '<div class="form-errors" role="alert"' in page
        assert not User.objects.exists()

    def test_signup_page_redirects_logged_in_people(self, client, user):
        client.force_login(user)
        r = client.get("/accounts/signup/")
        assert r.status_code == 302 and r.url == "/dashboard/"


class TestLogin:
    def test_login_with_password(self, client, user):
        r = login(client, user.email)
        assert r.status_code == 302 and r.url == "/dashboard/"
        assert client.get("/dashboard/").wsgi_request.user == user

    def test_login_is_case_insensitive_for_the_email(self, client):
        user = UserFactory(email="mixed@example.com")
        r = login(client, "MIXED@example.com")
        assert r.status_code == 302
        assert client.get("/dashboard/").wsgi_request.user == user

    def test_wrong_password_shows_an_error(self, client, user):
        r = login(client, user.email, "not-the-password")
        assert r.status_code in (200, 400)
        page = html(r)
        assert "The email address and/or password you specified are not correct." in page
        assert 'role="alert"' in page
        assert "_auth_user_id" not in client.session

    def test_unknown_email_shows_the_same_error(self, client, db):
        page = html(login(client, "nobody@example.com", "whatever-password"))
        assert "The email address and/or password you specified are not correct." in page

    def test_failed_logins_are_rate_limited_per_account(self, client, user):
        for _ in range(5):
            page = html(login(client, user.email, "wrong-password"))
            assert "not correct" in page
        r = login(client, user.email, "wrong-password")
        assert "Too many failed login attempts" in html(r)
        # Even the right password is refused while the limit holds.
        r = login(client, user.email, PASSWORD)
        assert r.status_code != 302 and "Too many failed login attempts" in html(r)
        assert "_auth_user_id" not in client.session

    def test_failed_logins_are_rate_limited_per_ip(self, client, db):
        users = UserFactory.create_batch(11)
        for u in users[:10]:
            assert "not correct" in html(login(client, u.email, "wrong-password"))
        r = login(client, users[10].email, "wrong-password")
        assert "Too many failed login attempts" in html(r)

    def test_too_many_login_posts_get_a_friendly_429_page(self, client, db):
        statuses = [login(client, f"p{i}@example.com", "x").status_code for i in range(31)]
        assert statuses[:30] == [200] * 30 and statuses[30] == 429
        r = login(client, "p0@example.com", "x")
        assert r.status_code == 429
        page = html(r)
        assert "Too many attempts" in page and 'class="site-header"' in page and 'role="alert"' in page

    def test_a_successful_login_does_not_count_as_a_failure(self, client, user):
        for _ in range(4):
            login(client, user.email, "wrong-password")
        assert login(client, user.email).status_code == 302

    def test_login_by_emailed_code(self, client, user):
        r = client.get("/accounts/login/code/")
        assert r.status_code == 200 and 'name="email"' in html(r)
        r = client.post("/accounts/login/code/", {"email": user.email})
        assert r.status_code == 302 and r.url == "/accounts/login/code/confirm/"
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
        code = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4})\s*$", mail.outbox[0].body, re.M).group(1)
        confirm = client.get(r.url)
        assert confirm.status_code == 200 and 'name="code"' in html(confirm)
        r = client.post("/accounts/login/code/confirm/", {"code": code})
        assert r.status_code == 302 and r.url == "/dashboard/"
        assert client.get("/dashboard/").wsgi_request.user == user

    def test_a_wrong_sign_in_code_is_refused(self, client, user):
        client.post("/accounts/login/code/", {"email": user.email})
        r = client.post("/accounts/login/code/confirm/", {"code": "WRONG1"})
        assert r.status_code in (200, 400)
        page = html(r)
        assert "Incorrect code." in page and 'aria-invalid="true"' in page
        assert "_auth_user_id" not in client.session

    def test_logout_by_post(self, client, user):
        client.force_login(user)
        page = html(client.get("/dashboard/"))
        assert 'action="/accounts/logout/"' in page  # the header's log-out button
        r = client.post("/accounts/logout/")
        assert r.status_code == 302 and r.url == "/"
        assert "_auth_user_id" not in client.session
        r = client.get("/dashboard/")
        assert r.status_code == 302 and r.url.startswith("/accounts/login/")

    def test_logout_by_get_only_asks(self, client, user):
        client.force_login(user)
        r = client.get("/accounts/logout/")
        assert r.status_code == 200 and 'method="post"' in html(r)
        assert client.session.get("_auth_user_id") == str(user.pk)


class TestPasswordReset:
    def test_reset_email_and_link_set_a_new_password(self, client, user):
        r = client.post("/accounts/password/reset/", {"email": user.email})
        assert r.status_code == 302 and r.url == "/accounts/password/reset/done/"
        assert client.get(r.url).status_code == 200
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
        url = link_in(mail.outbox[0], r"https?://\S+/accounts/password/reset/key/\S+")
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        r = client.get(path)  # allauth moves the key into the session and redirects
        assert r.status_code == 302
        form = client.get(r.url)
        assert form.status_code == 200 and 'name="password1"' in html(form)
        r = client.post(r.url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert r.status_code == 302
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)

    def test_a_weak_new_password_is_refused(self, client, user):
        client.post("/accounts/password/reset/", {"email": user.email})
        url = link_in(mail.outbox[0], r"https?://\S+/accounts/password/reset/key/\S+")
        r = client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
        r = client.post(r.url, {"password1": "short", "password2": "short"})
        assert r.status_code in (200, 400) and "This password is too short." in html(r)
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_a_bad_reset_link_says_so(self, client, user):
        r = client.get("/accounts/password/reset/key/zz-not-a-real-key/", follow=True)
        assert r.status_code == 200 and "Bad Token" in html(r)

    def test_unknown_email_sends_nothing_useful(self, client, db):
        r = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
        assert r.status_code in (200, 302)
        assert not any("/accounts/password/reset/key/" in m.body for m in mail.outbox)


class TestAccountSettings:
    def test_change_password(self, client, user):
        client.force_login(user)
        r = client.post("/accounts/password/change/",
                        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert r.status_code == 302
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_change_password_needs_the_current_one(self, client, user):
        client.force_login(user)
        r = client.post("/accounts/password/change/",
                        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert r.status_code in (200, 400)
        assert 'id="id_oldpassword_error"' in html(r) and 'aria-invalid="true"' in html(r)
        user.refresh_from_db()
        assert user.check_password(PASSWORD)

    def test_add_an_overlong_email_is_refused(self, client, user):
        client.force_login(user)
        r = client.post("/accounts/email/", {"action_add": "", "email": "b" * 250 + "@example.com"})
        assert r.status_code in (200, 400) and "at most 254 characters" in html(r)
        assert not EmailAddress.objects.filter(user=user).exclude(email=user.email).exists()


# --- Dashboard ------------------------------------------------------------------------------


class TestDashboard:
    @pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/team/", "/dashboard/settings/",
                                     "/dashboard/creators/new/"])
    def test_anonymous_is_sent_to_login(self, client, url):
        r = client.get(url)
        assert r.status_code == 302 and r.url == f"/accounts/login/?next={url}"

    def test_welcome_empty_state_with_the_create_form(self, client, user):
        client.force_login(user)
        page = html(client.get("/dashboard/"))
        assert "Welcome" in page and "Create your creator page" in page
        for name in ("name", "slug", "bio"):
            assert f'<label for="id_{name}">' in page and f'name="{name}"' in page
        assert 'aria-label="Sections"' not in page  # no creator yet, so no section navigation

    def test_creating_a_creator_shows_the_overview(self, client, user):
        client.force_login(user)
        r = client.post("/dashboard/creators/new/", {"name": "Night Owls", "slug": "", "bio": "Late sets."})
        assert r.status_code == 302 and r.url == "/dashboard/"
        creator = Creator.objects.get(name="Night Owls")
        assert creator.slug == "night-owls" and creator.bio == "Late sets."
        assert TeamMembership.objects.get(creator=creator, user=user).role == Role.OWNER
        page = html(client.get("/dashboard/"))
        assert "<h1>Night Owls</h1>" in page and "Next steps" in page and "is ready" in page

    def test_creating_with_a_chosen_slug(self, client, user):
        client.force_login(user)
        client.post("/dashboard/creators/new/", {"name": "Owls", "slug": "owl-club"})
        assert Creator.objects.get(name="Owls").slug == "owl-club"

    @pytest.mark.parametrize("data, field, message", [
        ({"name": "", "slug": ""}, "name", "This field is required."),
        ({"name": "   ", "slug": ""}, "name", "This field is required."),
        ({"name": "Owls", "slug": "taken"}, "slug", "This slug is already taken."),
        ({"name": "Owls", "slug": "dashboard"}, "slug", "This slug is already taken."),
        ({"name": "Owls", "slug": "Bad Slug!"}, "slug", "Enter a valid “slug”"),
        ({"name": "Owls", "slug": "double--hyphen"}, "slug", "Use lower-case letters, digits and hyphens"),
        ({"name": "x" * 121, "slug": ""}, "name", "at most 120 characters"),
    ])
    def test_bad_creator_input_creates_nothing(self, client, user, data, field, message):
        CreatorFactory(slug="taken")
        client.force_login(user)
        r = client.post("/dashboard/creators/new/", data)
        assert r.status_code == 400
        page = html(r)
        assert message in page and f'id="id_{field}_error"' in page and 'role="alert"' in page
        assert Creator.objects.count() == 1 and not TeamMembership.objects.filter(user=user).exists()

    def test_switcher_moves_between_creators(self, client, user):
        first, second = CreatorFactory(name="Alpha Room"), CreatorFactory(name="Beta Room")
        team_member(first, Role.OWNER, user)
        team_member(second, Role.DOOR, user)
        client.force_login(user)
        page = html(client.get("/dashboard/"))
        assert "<h1>Alpha Room</h1>" in page and 'id="creator-switch"' in page and "Beta Room (Door)" in page
        r = client.post("/dashboard/switch/", {"creator": second.pk, "next": "/dashboard/team/"})
        assert r.status_code == 302 and r.url == "/dashboard/team/"
        assert client.session[SESSION_KEY] == second.pk
        page = html(client.get("/dashboard/"))
        assert "<h1>Beta Room</h1>" in page
        assert 'href="/dashboard/settings/"' not in page  # door staff do not edit the page
        client.post("/dashboard/switch/", {"creator": first.pk})
        assert "<h1>Alpha Room</h1>" in html(client.get("/dashboard/"))

    def test_switcher_refuses_a_creator_you_are_not_on(self, client, user):
        mine, theirs = CreatorFactory(name="Mine"), CreatorFactory(name="Theirs")
        team_member(mine, Role.OWNER, user)
        team_member(theirs, Role.OWNER)
        client.force_login(user)
        r = client.post("/dashboard/switch/", {"creator": theirs.pk, "next": "/dashboard/"}, follow=True)
        page = html(r)
        assert "You are not on that creator&#x27;s team." in page
        assert "<h1>Mine</h1>" in page and "Theirs" not in page
        assert client.session.get(SESSION_KEY) != theirs.pk

    def test_switcher_ignores_an_offsite_next(self, client, user):
        creator = CreatorFactory()
        team_member(creator, Role.OWNER, user)
        client.force_login(user)
        r = client.post("/dashboard/switch/", {"creator": creator.pk, "next": "https://evil.example/"})
        assert r.status_code == 302 and r.url == "/dashboard/"

    def test_switcher_needs_post(self, client, user):
        client.force_login(user)
        assert client.get("/dashboard/switch/").status_code == 405


class TestTeam:
    def test_owner_sees_the_team_and_the_invite_form(self, owner_client):
        page = html(owner_client.get("/dashboard/team/"))
        assert owner_client.user.email in page and "Invite someone" in page
        assert '<label for="id_email">' in page and '<label for="id_role">' in page

    def test_inviting_an_existing_user_sends_an_invitation_link_too(self, owner_client,
                                                                   django_capture_on_commit_callbacks):
        # An account is never added at once: it accepts from the emailed link with a verified address,
        # and the page says the same as for an unknown address.
        friend = UserFactory(email="friend@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            r = owner_client.post("/dashboard/team/", {"email": "Friend@Example.com", "role": Role.MANAGER})
        assert r.status_code == 302 and r.url == "/dashboard/team/"
        assert not TeamMembership.objects.filter(creator=owner_client.creator, user=friend).exists()
        invitation = Invitation.objects.get(creator=owner_client.creator, email="friend@example.com")
        assert invitation.role == Role.MANAGER and invitation.status == Invitation.Status.PENDING
        assert mail.outbox[-1].to == ["friend@example.com"] and "Night Owls" in mail.outbox[-1].subject
        assert f"/invitations/{invitation.token}/" in mail.outbox[-1].body
        page = html(owner_client.get("/dashboard/team/"))
        assert "Invitation sent to friend@example.com." in page and "friend@example.com" in page

    def test_inviting_an_unknown_email_sends_an_invitation_link(self, owner_client,
                                                                django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = owner_client.post("/dashboard/team/", {"email": "new@example.com", "role": Role.DOOR})
        assert r.status_code == 302
        invitation = Invitation.objects.get(creator=owner_client.creator, email="new@example.com")
        assert invitation.role == Role.DOOR and invitation.status == Invitation.Status.PENDING
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
        assert f"/invitations/{invitation.token}/" in mail.outbox[0].body
        page = html(owner_client.get("/dashboard/team/"))
        assert "Invitation sent to new@example.com." in page and "Invited" in page

    @pytest.mark.parametrize("data, field", [
        ({"email": "not-an-email", "role": Role.DOOR}, "email"),
        ({"email": "", "role": Role.DOOR}, "email"),
        ({"email": "x@example.com", "role": Role.OWNER}, "role"),
    ])
    def test_bad_invitations_show_errors(self, owner_client, data, field):
        r = owner_client.post("/dashboard/team/", data)
        assert r.status_code == 400 and f'id="id_{field}_error"' in html(r)
        assert not Invitation.objects.exists() and owner_client.creator.team.count() == 1

    def test_inviting_the_owner_again_is_refused(self, owner_client):
        r = owner_client.post("/dashboard/team/", {"email": owner_client.user.email, "role": Role.DOOR})
        assert r.status_code == 400 and "The owner&#x27;s role cannot be changed here." in html(r)
        assert TeamMembership.objects.get(user=owner_client.user).role == Role.OWNER

    def test_door_role_cannot_invite(self, client):
        creator = CreatorFactory()
        door = team_member(creator, Role.DOOR)
        client.force_login(door)
        page = html(client.get("/dashboard/team/"))
        assert "Invite someone" not in page and 'name="email"' not in page
        r = client.post("/dashboard/team/", {"email": "x@example.com", "role": Role.MANAGER}, follow=True)
        assert "Only owners and managers can invite people." in html(r)
        assert not Invitation.objects.exists() and creator.team.count() == 1 and not mail.outbox

    def test_door_role_cannot_change_or_remove(self, client):
        creator = CreatorFactory()
        door = team_member(creator, Role.DOOR)
        other = team_member(creator, Role.MODERATOR)
        membership = TeamMembership.objects.get(user=other)
        client.force_login(door)
        r = client.post(f"/dashboard/team/{membership.pk}/", {"action": "remove"}, follow=True)
        assert "cannot open that page" in html(r)
        assert TeamMembership.objects.filter(pk=membership.pk, role=Role.MODERATOR).exists()

    def test_change_role(self, owner_client):
        member = team_member(owner_client.creator, Role.DOOR)
        membership = TeamMembership.objects.get(user=member)
        r = owner_client.post(f"/dashboard/team/{membership.pk}/", {"role": Role.MODERATOR}, follow=True)
        assert "Role changed." in html(r)
        membership.refresh_from_db()
        assert membership.role == Role.MODERATOR

    def test_remove_member(self, owner_client):
        member = team_member(owner_client.creator, Role.MANAGER)
        membership = TeamMembership.objects.get(user=member)
        r = owner_client.post(f"/dashboard/team/{membership.pk}/", {"action": "remove"}, follow=True)
        assert "Removed from the team." in html(r)
        assert not TeamMembership.objects.filter(pk=membership.pk).exists()

    def test_owner_cannot_be_removed_or_demoted(self, owner_client):
        manager = team_member(owner_client.creator, Role.MANAGER)
        owner_membership = TeamMembership.objects.get(user=owner_client.user)
        r = owner_client.post(f"/dashboard/team/{owner_membership.pk}/", {"action": "remove"}, follow=True)
        assert "The owner cannot be removed from the team." in html(r)
        owner_client.force_login(manager)
        owner_client.post(f"/dashboard/team/{owner_membership.pk}/", {"role": Role.DOOR})
        owner_membership.refresh_from_db()
        assert owner_membership.role == Role.OWNER

    def test_a_member_of_another_creator_cannot_be_touched(self, owner_client):
        elsewhere = CreatorFactory()
        stranger = team_member(elsewhere, Role.MANAGER)
        membership = TeamMembership.objects.get(user=stranger)
        r = owner_client.post(f"/dashboard/team/{membership.pk}/", {"action": "remove"}, follow=True)
        assert "No such team member." in html(r)
        assert TeamMembership.objects.filter(pk=membership.pk).exists()

    def test_withdraw_invitation(self, owner_client):
        invitation = Invitation.objects.create(creator=owner_client.creator, email="later@example.com",
                                               role=Role.DOOR, invited_by=owner_client.user)
        r = owner_client.post(f"/dashboard/invitations/{invitation.pk}/revoke/", follow=True)
        assert "Invitation withdrawn." in html(r)
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.REVOKED


class TestInvitationPage:
    @pytest.fixture
    def invitation(self, db):
        creator = CreatorFactory(name="Night Owls")
        inviter = team_member(creator, Role.OWNER)
        return Invitation.objects.create(creator=creator, email="door@example.com", role=Role.DOOR,
                                         invited_by=inviter)

    def test_anonymous_sees_sign_up_and_log_in(self, client, invitation):
        page = html(client.get(f"/invitations/{invitation.token}/"))
        assert "Join Night Owls's team" in page
        assert f'href="/accounts/signup/?next=/invitations/{invitation.token}/' in page
        assert f'href="/accounts/login/?next=/invitations/{invitation.token}/' in page

    def test_wrong_account_is_refused(self, client, invitation):
        someone = UserFactory(email="someone@example.com")
        client.force_login(someone)
        r = client.post(f"/invitations/{invitation.token}/")
        assert r.status_code == 200
        assert "This invitation was sent to door@example.com." in html(r)
        assert not TeamMembership.objects.filter(user=someone).exists()
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.PENDING

    def test_right_account_joins(self, client, invitation):
        invitee = UserFactory(email="door@example.com")
        EmailAddress.objects.create(user=invitee, email="door@example.com", verified=True, primary=True)
        client.force_login(invitee)
        assert "Accept and open the dashboard" in html(client.get(f"/invitations/{invitation.token}/"))
        r = client.post(f"/invitations/{invitation.token}/")
        assert r.status_code == 302 and r.url == "/dashboard/"
        assert TeamMembership.objects.get(user=invitee, creator=invitation.creator).role == Role.DOOR
        page = html(client.get("/dashboard/"))
        assert "Welcome to Night Owls&#x27;s team." in page and "<h1>Night Owls</h1>" in page
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by == invitee

    def test_used_invitation_is_no_longer_valid(self, client, invitation):
        invitation.status = Invitation.Status.REVOKED
        invitation.save()
        client.force_login(UserFactory(email="door@example.com"))
        page = html(client.get(f"/invitations/{invitation.token}/"))
        assert "no longer valid" in page and "Accept and open" not in page

    def test_unknown_token_is_404(self, client, db):
        assert client.get("/invitations/tok_nope/").status_code == 404

    def test_sign_up_from_an_invitation_then_accept(self, client, invitation):
        r = client.post(f"/accounts/signup/?next=/invitations/{invitation.token}/",
                        {"email": "door@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                         "next": f"/invitations/{invitation.token}/"})
        assert r.status_code == 302 and r.url == f"/invitations/{invitation.token}/"
        refused = client.post(r.url)   # not verified yet: nothing granted, a confirmation link is sent
        assert refused.status_code == 200 and "We sent a confirmation link to door@example.com" in html(refused)
        assert not TeamMembership.objects.filter(user__email="door@example.com").exists()
        confirm = link_in(mail.outbox[-1], r"https?://\S+/accounts/confirm-email/\S+")
        back = client.post("/" + confirm.split("://", 1)[1].split("/", 1)[1])
        assert back.status_code == 302 and back.url == f"/invitations/{invitation.token}/"
        assert client.post(back.url).status_code == 302
        assert TeamMembership.objects.filter(user__email="door@example.com", role=Role.DOOR).exists()


class TestCreatorSettings:
    def test_settings_page_shows_the_current_values(self, owner_client):
        owner_client.creator.bio = "Late sets."
        owner_client.creator.save()
        page = html(owner_client.get("/dashboard/settings/"))
        assert 'value="Night Owls"' in page and "Late sets." in page
        assert 'enctype="multipart/form-data"' in page and '<label for="id_avatar">' in page

    def test_saves_name_and_bio(self, owner_client):
        r = owner_client.post("/dashboard/settings/", {"name": "Night Owls Collective", "bio": "New bio"})
        assert r.status_code == 302
        owner_client.creator.refresh_from_db()
        assert owner_client.creator.name == "Night Owls Collective" and owner_client.creator.bio == "New bio"

    def test_avatar_upload_accepts_a_real_png(self, owner_client, media):
        upload = SimpleUploadedFile("me.png", png_bytes((64, 64)), content_type="image/png")
        r = owner_client.post("/dashboard/settings/", {"name": "Night Owls", "bio": "", "avatar": upload})
        assert r.status_code == 302
        owner_client.creator.refresh_from_db()
        assert owner_client.creator.avatar.name.startswith("creators/avatars/")
        with Image.open(owner_client.creator.avatar.path) as img:
            assert img.size == (64, 64)
        page = html(owner_client.get("/dashboard/settings/"))
        assert owner_client.creator.avatar.url in page

    @pytest.mark.parametrize("name, content, message", [
        ("notes.png", b"this is not an image at all", "not an image we can read"),
        ("tiny.png", None, "between 32 and 4096 pixels"),
        ("anim.gif", "gif", "Use a JPEG, PNG or WebP image."),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024 + 1), "too large"),
    ])
    def test_avatar_upload_refuses_bad_files(self, owner_client, media, name, content, message):
        if content is None:
            content = png_bytes((10, 10))
        elif content == "gif":
            content = png_bytes((64, 64), fmt="GIF")
        upload = SimpleUploadedFile(name, content, content_type="image/png")
        r = owner_client.post("/dashboard/settings/", {"name": "Night Owls", "bio": "", "avatar": upload})
        assert r.status_code == 400
        page = html(r)
        assert message in page and 'id="id_avatar_error"' in page and 'role="alert"' in page
        owner_client.creator.refresh_from_db()
        assert not owner_client.creator.avatar
        assert not list(media.rglob("*"))

    def test_empty_name_is_refused(self, owner_client):
        r = owner_client.post("/dashboard/settings/", {"name": "", "bio": ""})
        assert r.status_code == 400 and 'id="id_name_error"' in html(r)
        owner_client.creator.refresh_from_db()
        assert owner_client.creator.name == "Night Owls"

    @pytest.mark.parametrize("role", [Role.DOOR, Role.MODERATOR])
    def test_door_and_moderator_cannot_open_settings(self, client, role):
        creator = CreatorFactory(name="Owls")
        member = team_member(creator, role)
        client.force_login(member)
        r = client.get("/dashboard/settings/")
        assert r.status_code == 302 and r.url == "/dashboard/"
        r = client.post("/dashboard/settings/", {"name": "Hijacked", "bio": ""}, follow=True)
        assert "cannot open that page" in html(r)
        creator.refresh_from_db()
        assert creator.name == "Owls"

    def test_without_a_creator_settings_goes_to_the_welcome_page(self, client, user):
        client.force_login(user)
        r = client.get("/dashboard/settings/")
        assert r.status_code == 302 and r.url == "/dashboard/"


def test_account_emails_name_microstage_not_example_com(client, user, mailoutbox):
    client.post("/accounts/password/reset/", {"email": user.email})
    assert mailoutbox, "no reset email sent"
    assert "example.com" not in mailoutbox[-1].body + mailoutbox[-1].subject
    assert "Microstage" in mailoutbox[-1].body + mailoutbox[-1].subject


def test_only_public_media_is_served_as_plain_files(client, settings):
    import shutil
    import uuid
    from pathlib import Path

    root, tag = Path(settings.MEDIA_ROOT), uuid.uuid4().hex  # the URLconf holds the real MEDIA_ROOT
    paths = [f"creators/avatars/{tag}.png", f"streams/{tag}/rec_y/master.m3u8"]
    try:
        for path in paths:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(b"x")
        assert client.get(f"/media/{paths[0]}").status_code == 200
        assert client.get(f"/media/{paths[1]}").status_code == 404
    finally:
        (root / paths[0]).unlink(missing_ok=True)
        shutil.rmtree(root / "streams" / tag, ignore_errors=True)
