"""Switching to German on a phone: the footer switcher (a plain form, no script needed) turns the page,
its money and the strings its scripts write into German."""
import re

import pytest
from playwright.sync_api import expect

from groupbuys.tests.groupbuy_helpers import group_buy
from microstage.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_switch_to_deutsch_in_the_footer_on_a_phone(phone, live_server, artifacts):
    gb = group_buy(price="12.50", tiers=[{"min_quantity": 5, "price": "8.00"}], days=2)
    page = phone
    page.goto(f"/g/{gb.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    countdown = page.locator(".gb-countdown").first
    expect(countdown).to_have_text(re.compile(r"^1d 23h \d+m$"))  # written by lib/groupbuy.js
    expect(page.locator("main")).to_contain_text("€12.50")

    # The switcher: labelled, reachable by keyboard, submitted without any script of ours.
    select = page.get_by_label("Language")
    select.focus()
    select.select_option("de")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Change language")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    assert page.url.endswith(f"/g/{gb.pk}/")  # the same page, the same URL
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("main")).to_contain_text("12,50\xa0€")
    expect(page.locator(".gb-countdown").first).to_have_text(re.compile(r"^1 T\. 23 Std\. \d+ Min\.$"))
    expect(page.get_by_label("Sprache")).to_have_value("de")
    page.screenshot(path=str(artifacts / "language-switch-phone.png"), full_page=True)
    assert not page.js_errors, page.js_errors


def test_the_door_scanner_stays_german_offline(browser, live_server):
    """The service worker keeps /jsi18n/de.js with the page: reloaded with no network, the scanner's
    own strings are still German."""
    from django.test import Client

    from events.tests.test_door import make_show
    from microstage.models import Role
    from microstage.tests.factories import team_member

    event, _tier = make_show(title="Offline Nacht")
    client = Client()
    client.force_login(team_member(event.creator, Role.DOOR, UserFactory(language="de")))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url, service_workers="allow")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"/door/{event.pk}/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator("#door")).to_have_attribute("data-offline", "ready", timeout=30_000)
        expect(page.locator("#bundle-status")).to_contain_text("Offline-Liste: 0 Tickets")
        context.set_offline(True)
        page.reload()
        expect(page.locator("#door")).to_have_attribute("data-ready", "true")
        expect(page.locator("#door-net")).to_contain_text("Offline · Prüfung auf diesem Telefon")
        assert page.evaluate("typeof window.gettext") == "function"
        assert errors == []
    finally:
        context.close()
