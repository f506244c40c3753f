"""door.js refuses a stream-only ticket online and offline (from the bundle's tier kind) and shows the
room's occupancy against the venue's capacity, in a phone-sized Chromium."""
import pytest

from events.services.tickets import qr_payload
from events.tests.test_door_browser import enter, shot
from events.tests.test_door_stream_only import buy, hybrid_show
from microstage.models import Role
from microstage.tests.factories import team_member
from microstage.tests.test_browser import LAYOUT_PROBLEMS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def test_door_refuses_stream_only_online_and_offline_and_shows_the_room(door_phone):
    from playwright.sync_api import expect

    page = door_phone
    event, room, stream = hybrid_show(capacity=2)
    first, second = buy(room, 2)
    streamer, streamer2 = buy(stream, 2)
    page.log_in(team_member(event.creator, Role.DOOR))
    page.goto(f"/door/{event.pk}/")
    expect(page.locator("#door")).to_have_attribute("data-ready", "true")
    occupancy = page.locator("#occupancy")
    expect(occupancy).to_be_visible()
    expect(occupancy).to_contain_text("In the room: 0 of 2 places")
    expect(page.locator("#count-total")).to_have_text("2")  # the two stream tickets are not for the room

    result = enter(page, qr_payload(streamer))
    expect(result).to_have_attribute("data-result", "stream_only")
    expect(result).to_contain_text("Stream only")
    expect(result).to_contain_text("does not open the room")
    result = enter(page, qr_payload(first))
    expect(result).to_have_attribute("data-result", "ok")
    expect(occupancy).to_contain_text("In the room: 1 of 2 places")

    # Offline the phone knows the tier's kind from the bundle: refused, nothing queued.
    page.context.set_offline(True)
    expect(page.locator("#door-net")).to_contain_text("Offline")
    result = enter(page, qr_payload(streamer2))
    expect(result).to_have_attribute("data-result", "stream_only")
    expect(page.locator("#pending")).to_be_hidden()
    result = enter(page, qr_payload(second))
    expect(result).to_have_attribute("data-result", "ok")
    expect(occupancy).to_contain_text("In the room: 2 of 2 places · the room is full")
    shot(page, "stream-only-offline")
    page.context.set_offline(False)
    expect(page.locator("#pending")).to_be_hidden(timeout=15_000)
    streamer2.refresh_from_db()
    second.refresh_from_db()
    assert streamer2.checked_in_at is None and second.checked_in_at is not None
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    assert page.js_errors == []
