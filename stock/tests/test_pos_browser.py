"""The pop-up till in a phone-sized Chromium: sell offline, come back online, sync, see the conflict."""
import pytest
from django.conf import settings
from django.test import Client

from stock import services as stock
from stock.models import PosSale
from stock.tests.test_pos import make_shop, sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])


def test_offline_sales_sync_and_show_the_conflict(phone, live_server, artifacts):
    shop = make_shop()  # the table holds 2 shirts (M)
    log_in(phone, shop["owner"], live_server)
    phone.goto(f"/dashboard/products/pos/{shop['popup'].pk}/")
    phone.wait_for_selector("#pos[data-ready='true']")
    button = phone.locator(f".pos-item[data-variant='{shop['m'].pk}']")
    assert "2 left" in button.inner_text()

    phone.context.set_offline(True)
    phone.wait_for_selector("#pos-net[data-state='offline']")
    button.click()
    button.click()
    phone.click("#pay-cash")
    assert phone.locator("#pending-count").inner_text() == "1"
    assert phone.locator("#pay-qr").is_disabled()
    phone.screenshot(path=str(artifacts / "pos-offline.png"))
    # Meanwhile another phone sold one of the same shirts and synced.
    stock.sync_sales(location=shop["popup"], sales=[sale("till-other-01", shop["m"], 1)], actor=shop["owner"])

    phone.context.set_offline(False)
    phone.wait_for_selector("#pending", state="hidden")
    phone.wait_for_selector("#conflicts:not([hidden])")
    assert phone.locator("#conflict-count").inner_text() == "1"
    phone.screenshot(path=str(artifacts / "pos-conflict.png"))
    mine = PosSale.objects.exclude(client_id="till-other-01").get()
    assert mine.status == PosSale.Status.CONFLICT and mine.total == 40
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == -1
    assert phone.js_errors == []
