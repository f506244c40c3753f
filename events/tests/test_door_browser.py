"""The door scanner in a real phone-sized Chromium: live scans, then offline checks, queue and sync.

Screenshots of each state go to test-artifacts/ (gitignored) so a person can look at them.
"""
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from events.services.checkin import check_in
from events.services.tickets import qr_payload
from events.models import CheckIn
from events.tests.test_door import buy, make_show
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"door-{name}.png"), full_page=False)


def enter(page, payload):
    before = page.get_attribute("#door-result", "data-scan") or "0"
    page.fill("#manual-code", payload)
    page.press("#manual-code", "Enter")
    page.wait_for_function(
        "(n) => document.querySelector('#door-result').dataset.scan !== n", arg=before)
    return page.locator("#door-result")


def fits_the_screen(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_door_scanner_live_then_offline_then_sync(door_phone, live_server):
    from playwright.sync_api import expect

    page = door_phone
    event, tier = make_show(title="Basement Tapes")
    first, second, third = buy(tier, 3)
    page.log_in(team_member(event.creator, Role.DOOR))
    page.goto(f"/door/{event.pk}/")
    expect(page.locator("#door")).to_have_attribute("data-ready", "true")
    expect(page.locator("#bundle-status")).to_contain_text("Offline list: 3 tickets")
    expect(page.locator("#door-net")).to_contain_text("Online")
    expect(page.locator("#count-total")).to_have_text("3")
    assert fits_the_screen(page) and page.evaluate(LAYOUT_PROBLEMS) == []
    shot(page, "1-ready")

    # The camera starts (Chromium's fake camera) and stops again.
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator("#door-reader video")).to_be_visible()
    shot(page, "2-camera")
    page.get_by_role("button", name="Stop camera").click()
    expect(page.locator("#door-reader")).to_be_hidden()

    # The bundled Ed25519 library verifies our signatures too (for browsers without WebCrypto Ed25519).
    payload = qr_payload(first)
    checks = page.evaluate("""async (payload) => {
        const door = document.getElementById('door').dataset;
        const ed = await import(door.ed25519Url);
        const key = JSON.parse(localStorage.getItem(`microstage.door.${door.event}.bundle`)).public_key;
        const b64 = (s) => s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4);
        const bytes = (s) => Uint8Array.from(atob(b64(s)), (c) => c.charCodeAt(0));
        const [p, body, sig] = payload.split('.');
        const msg = new TextEncoder().encode(`${p}.${body}`);
        const good = await ed.verifyAsync(bytes(sig), msg, bytes(key));
        const bad = await ed.verifyAsync(bytes(sig), new TextEncoder().encode(`${p}.${body}x`), bytes(key));
        return [good, bad];
    }""", payload)
    assert checks == [True, False]

    # Live: admitted, then already in at the first scan's time in the event's timezone.
    result = enter(page, payload)
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_contain_text("Admitted")
    expect(result).to_contain_text("fan · Standard")
    expect(page.locator("#count-in")).to_have_text("1")
    first.refresh_from_db()
    assert first.checked_in_at is not None
    shot(page, "3-admitted")

    result = enter(page, payload)
    at = first.checked_in_at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
    expect(result).to_have_attribute("data-result", "already")
    expect(result).to_contain_text(f"Already in at {at}")
    assert CheckIn.objects.filter(ticket=first).count() == 2
    shot(page, "4-already")

    # Offline: the phone checks signatures itself and queues what it let in.
    page.context.set_offline(True)
    expect(page.locator("#door-net")).to_contain_text("Offline")
    result = enter(page, qr_payload(second))
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_contain_text("fan · Standard")
    expect(result).to_contain_text("offline")
    expect(page.locator("#pending")).to_be_visible()
    expect(page.locator("#pending-count")).to_have_text("1")
    expect(page.locator("#count-in")).to_have_text("2")
    second.refresh_from_db()
    assert second.checked_in_at is None  # not on the server yet
    shot(page, "5-offline-admitted")

    # The first ticket is known to be in already, even offline.
    result = enter(page, payload)
    expect(result).to_have_attribute("data-result", "already")
    expect(result).to_contain_text(f"Already in at {at}")

    result = enter(page, "MST1.bm9wZQ.bm9wZQ")
    expect(result).to_have_attribute("data-result", "invalid")
    expect(result).to_contain_text("Invalid")
    shot(page, "6-invalid")

    # Meanwhile another door let the third ticket in (earlier); this phone, offline, admits it too.
    check_in(event=event, payload=qr_payload(third), device="door-other",
                      scanned_at=timezone.now() - timedelta(minutes=2), actor=SYSTEM)
    result = enter(page, qr_payload(third))
    expect(result).to_have_attribute("data-result", "ok")
    expect(page.locator("#pending-count")).to_have_text("3")
    assert fits_the_screen(page)
    shot(page, "7-offline-queue")

    # Back online: the queue syncs; the second ticket is in on the server; the third is a duplicate.
    page.context.set_offline(False)
    expect(page.locator("#pending")).to_be_hidden(timeout=15_000)
    expect(page.locator("#door-net")).to_have_text("Online")
    second.refresh_from_db()
    assert second.checked_in_at is not None
    assert CheckIn.objects.filter(ticket=second, result=CheckIn.Result.OK, offline=True).exists()
    duplicates = page.locator("#duplicates")
    expect(duplicates).to_be_visible()
    expect(duplicates).to_contain_text("Entered twice")
    expect(page.locator("#count-in")).to_have_text("3")
    assert CheckIn.objects.filter(ticket=third, result=CheckIn.Result.OK).values_list("device", flat=True).get() \
        == "door-other"
    page.locator("#duplicates").scroll_into_view_if_needed()
    shot(page, "8-synced-duplicates")
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    assert page.js_errors == []


def test_a_sync_whose_answer_is_lost_is_not_reported_as_a_duplicate(door_phone):
    """The server applies the sync but the phone never hears back: the retry finds the phone's own
    scan as the first one, which is not a duplicate."""
    from playwright.sync_api import expect

    page = door_phone
    event, tier = make_show(title="Lost Answers")
    (ticket,) = buy(tier, 1)
    page.log_in(team_member(event.creator, Role.DOOR))
    page.goto(f"/door/{event.pk}/")
    expect(page.locator("#bundle-status")).to_contain_text("Offline list: 1 tickets")
    page.context.set_offline(True)
    expect(enter(page, qr_payload(ticket))).to_have_attribute("data-result", "ok")

    answered = []

    def lose_first_answer(route):
        if answered:
            route.continue_()
            return
        answered.append(route.fetch().status)  # the server does the work...
        route.abort()  # ...and the phone never gets the answer

    page.route("**/sync", lose_first_answer)
    page.context.set_offline(False)
    for _ in range(100):  # until the first sync has reached the server
        if answered:
            break
        page.wait_for_timeout(50)
    assert answered == [200]
    expect(page.locator("#door-net")).to_have_text(re.compile(r"^(Online|Offline) · 1 to sync$"))
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#pending")).to_be_hidden()
    expect(page.locator("#duplicates")).to_be_hidden()
    expect(page.locator("#door-net")).to_have_text("Online")
    assert CheckIn.objects.filter(ticket=ticket, result=CheckIn.Result.OK).count() == 1
    assert page.js_errors == []
