"""The door scanner as an installable app: with its service worker it reloads with no network at all,
checks a ticket on the phone, and syncs the check-in when the network is back."""
import pytest
from django.test import Client

from events.models import CheckIn
from events.tests.test_door import buy, make_show
from microstage.models import Role
from microstage.tests.factories import team_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manifest_and_worker_are_served_for_the_door_scope(client):
    sw = client.get("/door/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"].startswith("text/javascript")
    assert sw["Service-Worker-Allowed"] == "/door/" and "__VERSION__" not in sw.content.decode()
    manifest = client.get("/door/evt_0123456789abcdef/manifest.webmanifest").json()
    assert manifest["start_url"] == "/door/evt_0123456789abcdef/" and manifest["scope"] == "/door/"
    assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    assert client.get("/door/bad%20id/manifest.webmanifest").status_code == 404


def test_door_reloads_offline_scans_and_syncs(browser, live_server):
    from playwright.sync_api import expect

    event, tier = make_show(title="Offline Night")
    ticket, = buy(tier, 1)
    client = Client()
    client.force_login(team_member(event.creator, Role.DOOR))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url, service_workers="allow")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"/door/{event.pk}/")
        expect(page.locator("#door")).to_have_attribute("data-offline", "ready", timeout=30_000)
        expect(page.locator("#bundle-status")).to_contain_text("Offline list: 1 tickets")
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert page.evaluate("document.querySelector('link[rel=manifest]').href").endswith("/manifest.webmanifest")
        # Chromium would offer to install it (a test browser context is always incognito, which it names).
        cdp = context.new_cdp_session(page)
        errors_found = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert [e["errorId"] for e in errors_found if e["errorId"] != "in-incognito"] == []
        assert cdp.send("Page.getAppManifest")["errors"] == []

        # No network at all: the page, its modules and the signed bundle come from the service worker.
        context.set_offline(True)
        # Truly offline, for the service worker too: an in-scope URL it never stored cannot be reached.
        probe = f"fetch('/door/{event.pk}/sync').then(() => 'reached', () => 'offline')"
        assert page.evaluate(probe) == "offline"
        page.reload()
        expect(page.locator("#door")).to_have_attribute("data-ready", "true")
        expect(page.locator("#door-net")).to_contain_text("Offline")
        page.fill("#manual-code", ticket.pk)  # the ticket id printed under the QR code
        page.press("#manual-code", "Enter")
        result = page.locator("#door-result")
        expect(result).to_have_attribute("data-result", "ok")
        expect(result).to_contain_text("offline")
        expect(page.locator("#pending-count")).to_have_text("1")
        ticket.refresh_from_db()
        assert ticket.checked_in_at is None

        # Back online: the queued scan reaches the server.
        context.set_offline(False)
        expect(page.locator("#pending")).to_be_hidden(timeout=20_000)
        ticket.refresh_from_db()
        assert ticket.checked_in_at is not None
        assert CheckIn.objects.filter(ticket=ticket, result=CheckIn.Result.OK, offline=True).exists()
        assert errors == []
    finally:
        context.close()
