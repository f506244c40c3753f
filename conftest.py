"""Shared pytest fixtures: API clients, users and creators on the real PostgreSQL and Redis, and
Playwright pages driving the system Chromium (never a downloaded one).

The Playwright browser lives for one test module only. Its sync API keeps an event loop running
in the main thread, which would break async_to_sync (Channels) and Django's async-safety checks
in tests that run afterwards; so the loop and DJANGO_ALLOW_ASYNC_UNSAFE end with the module.
"""
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

# Fixture modules every test may use by naming the fixture (no imports): payments (sandbox, Stripe
# settings, localstripe), commerce's catalogue and Stripe fakes, and streaming's media files.
pytest_plugins = [
    "microstage.tests.test_payments_helpers",
    "commerce.tests.helpers",
    "commerce.tests.money_helpers",
    "streaming.tests.media_helpers",
]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and sessions live in Redis; every test starts from an empty cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _live_counters_settled(request):
    """Live counters (microstage.realtime.publish_latest) read their values on timer threads up to
    0.3 s after a commit. After a transactional test the database is emptied (TRUNCATE): a counter's
    read still under way then deadlocks with it, and one that begins later reads another test's rows.
    So the test's database is set up before this fixture (and emptied after it), and this fixture
    first drops the counters not begun and waits for those under way."""
    from microstage import realtime

    if request.node.get_closest_marker("django_db") or "_django_db_helper" in request.fixturenames:
        request.getfixturevalue("_django_db_helper")
    yield
    realtime._coalescer.cancel_pending()


@pytest.fixture(autouse=True)
def order_emails_run_at_once(monkeypatch):
    """Commerce queues an order's email (paid, held, refunded) to the workers by task name once the
    order's transaction commits; with no worker in tests it runs at once, as a worker would (the same
    way groupbuys/tests/conftest.py runs its queued emails). Other tasks queued by name go where they
    went before. A test that holds queued tasks patches `send_task` over this."""
    from commerce import services, tasks
    from microstage.celery import app as celery_app

    assert services.EMAIL_TASK == tasks.send_order_email.name
    send_task = celery_app.send_task

    def send(name, args=None, kwargs=None, **options):
        if name == services.EMAIL_TASK:
            return celery_app.tasks[name].apply(args=args, kwargs=kwargs)
        return send_task(name, args, kwargs, **options)

    monkeypatch.setattr(celery_app, "send_task", send)


@pytest.fixture(autouse=True)
def _default_language():
    """A request in German leaves German active in its thread (LocaleMiddleware does not switch back):
    every test starts and ends in the default language, so one German page cannot make the next
    test's emails German."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user(db):
    from microstage.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def auth_api(user):
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture
def make_api():
    """An API client authenticated as the given user."""

    def make(u):
        client = APIClient()
        client.force_authenticate(u)
        client.user = u
        return client

    return make


# --- browser -------------------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need the system Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright Python package")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    # The test thread talks to the database while Playwright's loop runs in it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _page(browser, live_server, viewport, **options):
    context = browser.new_context(viewport=viewport, base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return context, page


@pytest.fixture
def phone(browser, live_server):
    """A page in a phone-sized window (390x844, touch) against the live server."""
    context, page = _page(browser, live_server, PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    yield page
    context.close()


@pytest.fixture
def desktop(browser, live_server):
    context, page = _page(browser, live_server, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- accessibility (axe-core) --------------------------------------------------------------
AXE_SOURCE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_SERIOUS = ("serious", "critical")


def _axe_report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(f"    at {', '.join(node['target'])}")
            lines.append(f"       {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("       " + node["failureSummary"].replace("\n", "\n       "))
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def axe_violations(page, *, impacts=AXE_SERIOUS) -> list[dict]:
    """Run axe-core (WCAG 2.x A and AA rules) on the page as it is now; the violations of the given impacts.

    axe is evaluated through the DevTools protocol, which the page's strict Content-Security-Policy does not
    govern (a <script> tag would be refused); it attaches itself to `window`."""
    if not AXE_SOURCE.exists():
        raise AssertionError(f"axe-core is missing at {AXE_SOURCE}: run `npm install` in the project")
    page.wait_for_load_state()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {\n" + AXE_SOURCE.read_text() + "\n}")
    result = page.evaluate("""async () => {
      const r = await window.axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
        resultTypes: ['violations'],
      });
      return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({target: n.target.map(String), html: n.html, failureSummary: n.failureSummary}))}));
    }""")
    return [v for v in result if v["impact"] in impacts]


def assert_accessible(page, label: str = "") -> None:
    """No serious or critical axe-core violation on the page; a readable list of them if there are."""
    violations = axe_violations(page)
    assert not violations, f"accessibility problems on {label or page.url}:\n{_axe_report(violations)}"


@pytest.fixture
def axe():
    """`axe(page, label)`: assert the page has no serious or critical accessibility violation (axe-core)."""
    return assert_accessible
