"""Keyboard only: buying a ticket, joining a group-buy, sending a chat message and checking a ticket in
at the door by its code, with Tab, Shift+Tab, arrow keys, typing, Enter and Space — never a click. Every
control reached shows a visible focus ring (the site's :focus-visible style)."""
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from conftest import DESKTOP, PHONE

from .test_a11y_browser import off_the_loop

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """(want) => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  if (want.css && !el.matches(want.css)) return false;
  return !want.text || el.textContent.replace(/\\s+/g, ' ').includes(want.text);
}"""

FOCUS_RING = """() => {
  const s = getComputedStyle(document.activeElement);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
          visible: document.activeElement.matches(':focus-visible')};
}"""


def assert_focus_ring(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["visible"] and ring["style"] != "none" and ring["width"] >= 2, ring


def tab_to(page, css=None, text=None, limit=150):
    """Press Tab until the focused element matches; it must show the focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED, {"css": css, "text": text}):
            assert_focus_ring(page)
            return
    raise AssertionError(f"Tab never reached {css or ''} {text or ''} on {page.url}")


def keyboard_page(browser, server_url, user, viewport=PHONE):
    context = browser.new_context(viewport=viewport, base_url=server_url)
    context.set_default_timeout(30_000)  # a shared, busy test machine: reservations take their locks
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server_url}])
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    return context, page


@pytest.fixture
def demo(settings, live_server):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url  # the sandbox returns to pages on this server
    off_the_loop(call_command, "demo", stdout=io.StringIO())
    from events.models import Event

    return Event.objects.get(slug="late-night-session")


def test_buy_a_ticket_with_the_keyboard(browser, live_server, demo):
    from events.models import Ticket
    from microstage.tests.factories import UserFactory

    fan = UserFactory()
    standard = demo.tiers.get(name="Standard")
    context, page = keyboard_page(browser, live_server.url, fan)
    try:
        page.goto(demo.get_absolute_url())
        tab_to(page, css=f"#qty_{standard.pk}")
        page.keyboard.press("ArrowDown")  # 0 -> 1
        assert page.input_value(f"#qty_{standard.pk}") == "1"
        tab_to(page, css="button", text="Reserve tickets")
        page.keyboard.press("Enter")
        page.wait_for_url("**/orders/**")
        tab_to(page, css="button.pay")
        page.keyboard.press("Enter")
        page.wait_for_url("**/payments/**")
        tab_to(page, css="button[value=pay]")
        page.keyboard.press("Space")
        page.wait_for_url("**/orders/**")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        ticket = Ticket.objects.get(holder=fan)
        assert ticket.tier_id == standard.pk and ticket.status == Ticket.Status.VALID
        assert page.js_errors == []
    finally:
        context.close()


def test_join_a_group_buy_with_the_keyboard(browser, live_server, demo):
    from groupbuys.models import GroupBuy, GroupBuyParticipant
    from microstage.tests.factories import UserFactory

    gb = GroupBuy.objects.get(event_id=demo.pk)
    fan = UserFactory()
    context, page = keyboard_page(browser, live_server.url, fan, DESKTOP)
    try:
        page.goto(f"/g/{gb.pk}/")
        tab_to(page, css="#id_quantity")
        page.keyboard.press("Control+A")
        page.keyboard.type("3")
        tab_to(page, css="button", text="Join the group-buy")
        page.keyboard.press("Enter")
        # The sandbox authorises the card at once (a real provider's page would come first).
        expect(page.get_by_role("heading", name="Your place")).to_be_visible()
        participant = GroupBuyParticipant.objects.get(group_buy=gb, user=fan)
        assert participant.quantity == 3
        assert page.js_errors == []
    finally:
        context.close()


def test_send_a_chat_message_with_the_keyboard(browser):
    from streaming.models import ChatMessage
    from streaming.tests.live_helpers import UvicornServer, make_room

    room = off_the_loop(make_room)
    with UvicornServer() as server:
        context, page = keyboard_page(browser, server.url, room.holder)
        try:
            page.goto(f"/e/{room.event.slug}/watch/")
            page.wait_for_selector('#watch[data-socket="open"]')
            tab_to(page, css="#chat-input")
            page.keyboard.type("Hello from the keyboard")
            page.keyboard.press("Enter")
            expect(page.locator("#chat-log .chat-msg").filter(has_text="Hello from the keyboard")).to_have_count(1)
            assert ChatMessage.objects.filter(event=room.event, user=room.holder,
                                              text="Hello from the keyboard").exists()
            assert page.input_value("#chat-input") == ""
        finally:
            context.close()


def test_check_a_ticket_in_at_the_door_with_the_keyboard(browser, live_server, demo):
    from django.utils import timezone

    from events.models import Event, Ticket
    from microstage import demo as demo_data
    from microstage.models import User

    # Doors are open: the show starts within the hour.
    Event.objects.filter(pk=demo.pk).update(starts_at=timezone.now() + timedelta(minutes=30),
                                            ends_at=timezone.now() + timedelta(hours=3))
    ticket = Ticket.objects.filter(event=demo, status=Ticket.Status.VALID, checked_in_at__isnull=True).first()
    door = User.objects.get(email=demo_data.DOOR_EMAIL)
    context, page = keyboard_page(browser, live_server.url, door)
    try:
        page.goto(f"/door/{demo.pk}/")
        tab_to(page, css="#manual-code")
        page.keyboard.type(ticket.pk)
        page.keyboard.press("Enter")
        expect(page.locator("#door-result")).to_contain_text("ADMITTED", ignore_case=True)
        ticket.refresh_from_db()
        assert ticket.checked_in_at is not None
    finally:
        context.close()


def test_focus_is_visible_on_links_and_buttons(browser, live_server, demo):
    context, page = keyboard_page(browser, live_server.url, None, DESKTOP)
    try:
        page.goto(demo.get_absolute_url())
        # The stylesheet draws the ring for keyboard focus only (:focus-visible), never removing it.
        rules = page.evaluate("""() => [...document.styleSheets].flatMap((sheet) => {
            try { return [...sheet.cssRules]; } catch (e) { return []; } })
          .filter((r) => r.selectorText && r.selectorText.includes(':focus-visible'))
          .map((r) => ({selector: r.selectorText, outline: r.style.outlineStyle || r.style.outline}))""")
        assert any("button:focus-visible" in r["selector"] and r["outline"] for r in rules), rules
        assert any("a:focus-visible" in r["selector"] and r["outline"] for r in rules), rules
        tab_to(page, css="a.skip-link")  # the first stop: skip to the content
        tab_to(page, css="a")
        tab_to(page, css="button")
    finally:
        context.close()
