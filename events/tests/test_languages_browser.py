"""Switching to German on a phone: the footer switcher (a plain form, no script needed) turns the page,
its money and the strings its scripts write into German."""
import re

import pytest
from playwright.sync_api import expect

from commerce.tests.groupbuy_helpers import group_buy

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
