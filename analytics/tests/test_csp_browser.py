"""The Content-Security-Policy in Chromium: every main page, anonymous and logged in, runs its scripts
under the strict policy (nonces, no inline script) without a single violation.

The demo data gives a creator, an event with tiers, a drop and a group-buy, memberships and a fan.
Each persona starts from a few pages and follows the links it finds (same site, GET only), so new
pages are checked without listing them here. On every page: no `securitypolicyviolation` event and no
CSP console message, the site module ran (html[data-js=ready]), and the page's own module marked its
root ready where it has one.
"""
import io
import re
from collections import deque

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
# Page modules that mark their root when they have wired everything.
READY = {"#door": "door", "#pos": "pos", "#watch": "watch", "#control": "control room"}
SKIP = re.compile(r"^/(admin|api|static|media|accounts/logout|payments/stripe)|logout|\.(csv|json|pdf|png|svg|zip)$"
                  r"|\.ics$|/download|/export|/qr|\?")
MAX_PAGES = 45


def _session(user):
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _context(browser, live_server, user=None):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_init_script(COLLECT_VIOLATIONS)
    if user is not None:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": _session(user), "url": live_server.url}])
    return context


def _check(page, path, problems, console):
    console.clear()
    try:
        response = page.goto(path, wait_until="load")
    except Exception as exc:  # a download (a calendar file, a ticket PDF) is not a page
        if "Download is starting" in str(exc):
            return []
        raise
    if response is None or response.status >= 400 or "text/html" not in (response.headers.get("content-type") or ""):
        return []
    policy = response.headers.get("content-security-policy", "")
    script_src = (re.search(r"script-src ([^;]*)", policy) or [None, ""])[1]
    if "'unsafe-inline'" in script_src or "'nonce-" not in script_src or "'strict-dynamic'" not in script_src:
        problems.append(f"{path}: weak or missing policy: {policy!r}")
    try:
        page.wait_for_selector("html[data-js='ready']", state="attached", timeout=5_000)
    except Exception:
        problems.append(f"{path}: the site module did not run")
    for selector, name in READY.items():
        if page.locator(selector).count():
            try:
                page.wait_for_selector(f"{selector}[data-ready='true']", state="attached", timeout=8_000)
            except Exception:
                problems.append(f"{path}: the {name} module did not run")
    page.wait_for_timeout(150)  # late loads (charts, players) report too
    violations = page.evaluate("window.__csp || []") + console
    problems.extend(f"{path}: {v}" for v in violations)
    return page.eval_on_selector_all("a[href^='/']", "els => els.map(a => a.getAttribute('href'))")


def _crawl(browser, live_server, user, seeds):
    context = _context(browser, live_server, user)
    page = context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(f"{page.url}: {exc}"))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    problems: list[str] = []
    seen: set[str] = set()
    queue = deque(seeds)
    visited = []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft().split("#")[0]
        if not path or path in seen or SKIP.search(path):
            continue
        seen.add(path)
        visited.append(path)
        for link in _check(page, path, problems, console):
            if link.split("#")[0] not in seen:
                queue.append(link)
    context.close()
    return visited, problems, js_errors


@pytest.fixture
def demo(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    call_command("demo", stdout=io.StringIO())
    from stock import services as stock
    from catalog.models import Product
    from events.demo import DEMO_EVENT_SLUG
    from events.models import Event
    from microstage import demo as platform_demo
    from microstage.models import User

    event = Event.objects.get(slug=DEMO_EVENT_SLUG)
    owner = User.objects.get(email=platform_demo.CREATOR_EMAIL)
    fan = User.objects.get(email=platform_demo.FAN_EMAIL)
    popup = stock.create_location(creator=event.creator, name="Merch table", actor=SYSTEM)
    variant = Product.objects.filter(creator=event.creator).first().variants.first()
    stock.receive(location=popup, variant=variant, quantity=3, actor=SYSTEM)
    return {"event": event, "owner": owner, "fan": fan, "popup": popup}


def test_anonymous_pages_run_under_the_policy(browser, live_server, demo):
    event = demo["event"]
    visited, problems, js_errors = _crawl(browser, live_server, None, [
        "/", event.get_absolute_url(), f"{event.get_absolute_url()}watch/", f"/c/{event.creator.slug}/shop/",
        f"/c/{event.creator.slug}/membership/", "/accounts/login/", "/accounts/signup/"])
    assert len(visited) >= 7
    assert problems == []
    assert js_errors == []


def test_attendee_pages_and_sandbox_checkout_run_under_the_policy(browser, live_server, demo):
    from commerce import services as commerce
    from events.models import TICKET_KIND

    event, fan = demo["event"], demo["fan"]
    tier = event.tiers.order_by("price").first()
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 1)], buyer=fan)
    visited, problems, js_errors = _crawl(browser, live_server, fan, [
        f"/orders/{order.pk}/", "/tickets/", "/orders/", "/account/memberships/", event.get_absolute_url(),
        f"{event.get_absolute_url()}watch/"])
    assert f"/orders/{order.pk}/" in visited
    assert problems == []
    assert js_errors == []

    # The sandbox checkout itself: pay from the order page and land back on it.
    context = _context(browser, live_server, fan)
    page = context.new_page()
    page.goto(f"/orders/{order.pk}/")
    page.locator("form button.pay, form button[type=submit]").filter(has_text=re.compile("pay", re.I)).first.click()
    page.wait_for_load_state("load")
    for _ in range(3):  # the sandbox page, then back to the order
        button = page.get_by_role("button", name=re.compile(r"^(Pay|Approve|Succeed|Complete)", re.I))
        if not button.count():
            break
        button.first.click()
        page.wait_for_load_state("load")
    assert page.evaluate("window.__csp") == []
    context.close()


def test_creator_pages_door_till_and_analytics_run_under_the_policy(browser, live_server, demo):
    event, popup = demo["event"], demo["popup"]
    visited, problems, js_errors = _crawl(browser, live_server, demo["owner"], [
        f"/door/{event.pk}/", f"/dashboard/products/pos/{popup.pk}/", f"/dashboard/analytics/{event.pk}/",
        "/dashboard/analytics/", "/dashboard/memberships/", "/dashboard/", f"/dashboard/events/{event.pk}/",
        f"/dashboard/live/{event.pk}/control/", "/dashboard/money/"])
    for must in (f"/door/{event.pk}/", f"/dashboard/products/pos/{popup.pk}/", f"/dashboard/analytics/{event.pk}/"):
        assert must in visited
    assert len(visited) >= 20
    assert problems == []
    assert js_errors == []


def test_an_injected_inline_script_is_refused_and_reported(browser, live_server, demo):
    """What an XSS that slipped into a page would do: inline script and an inline event handler."""
    context = _context(browser, live_server)
    page = context.new_page()
    url = demo["event"].get_absolute_url()

    def inject(route):
        response = route.fetch()
        body = response.text().replace(
            "</main>", '<script>window.__pwned = 1</script><img src="/nope.png" onerror="window.__pwned = 2"></main>')
        route.fulfill(response=response, body=body)  # the page's own headers, its CSP included

    page.route(f"**{url}", inject)
    page.goto(url)
    page.wait_for_selector("html[data-js='ready']", state="attached")  # our nonced modules still run
    page.wait_for_function("() => window.__csp.length >= 2")
    assert page.evaluate("() => window.__pwned === undefined")
    assert all("script-src" in v for v in page.evaluate("() => window.__csp"))
    context.close()

