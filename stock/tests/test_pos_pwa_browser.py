"""The pop-up till as an installable app: reloaded with no network, it sells for cash from the
catalogue it kept, and the sale reaches the server when the network is back."""
import pytest
from django.conf import settings
from django.test import Client

from stock.models import PosSale
from stock.tests.test_pos import make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pos_manifest_and_worker(client):
    sw = client.get("/dashboard/products/pos/sw.js")
    assert sw.status_code == 200 and sw["Service-Worker-Allowed"] == "/dashboard/products/pos/"
    manifest = client.get("/dashboard/products/pos/loc_abc/manifest.webmanifest").json()
    assert manifest["start_url"] == "/dashboard/products/pos/loc_abc/"


def test_till_reloads_offline_sells_and_syncs(browser, live_server):
    from playwright.sync_api import expect

    shop = make_shop()
    client = Client()
    client.force_login(shop["owner"])
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url, service_workers="allow")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"/dashboard/products/pos/{shop['popup'].pk}/")
        expect(page.locator("#pos")).to_have_attribute("data-offline", "ready", timeout=30_000)

        context.set_offline(True)
        page.reload()
        expect(page.locator("#pos")).to_have_attribute("data-ready", "true")
        expect(page.locator("#pos-net")).to_have_attribute("data-state", "offline")
        page.locator(f".pos-item[data-variant='{shop['l'].pk}']").click()
        page.click("#pay-cash")
        expect(page.locator("#pending-count")).to_have_text("1")
        assert not PosSale.objects.exists()

        context.set_offline(False)
        expect(page.locator("#pending")).to_be_hidden(timeout=20_000)
        sale = PosSale.objects.get()
        assert sale.total == 20
        assert errors == []
    finally:
        context.close()
