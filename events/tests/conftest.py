"""Fixtures shared by the events tests: a creator with an owner's API client, a draft, a tier of a
published show with a buyer and their ticket, and a phone-sized Chromium for the door scanner."""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from events.models import Event
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .helpers import EventFactory, TierFactory, buy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture
def creator():
    return CreatorFactory()


@pytest.fixture
def owner_api(creator, make_api):
    return make_api(team_member(creator, Role.OWNER))


@pytest.fixture
def draft(creator):
    return EventFactory(creator=creator, status=Event.Status.DRAFT, published_at=None)


@pytest.fixture
def tier():
    return TierFactory(event=EventFactory())


@pytest.fixture
def event(tier):
    return tier.event


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def ticket(tier, buyer):
    return buy(tier, buyer)[0]


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    # The test thread talks to the database while Playwright's event loop runs in it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def door_phone(chromium, live_server):
    """A 390px phone context; log_in(user) gives it that user's session cookie."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2, base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.grant_permissions(["camera"])
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))

    def log_in(user):
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])

    page.log_in = log_in
    yield page
    context.close()
