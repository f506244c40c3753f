"""The program switch in two phone-sized browsers against a real ASGI server: the creator switches viewers
to the standby slate, to audio only and back to live in the control room; the watch page follows each
switch without a reload (a "program" frame over the event's websocket group)."""
import pytest

from streaming.models import LiveStream

from .live_helpers import UvicornServer, make_room
from .test_watch_browser import logged_in_page, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def test_control_room_switch_reaches_the_watch_page(browser, artifacts):
    room = off_the_loop(make_room)
    LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
    with UvicornServer() as server:
        owner_ctx, control = logged_in_page(browser, server, room.owner)
        fan_ctx, watch = logged_in_page(browser, server, room.holder)
        try:
            watch.goto(f"/e/{room.event.slug}/watch/")
            watch.wait_for_selector('#watch[data-socket="open"]')
            watch.evaluate("window.__sameDocument = true")  # gone if the page reloads
            assert watch.locator("#program-slate").is_hidden()
            control.goto(f"/dashboard/live/{room.event.pk}/control/")

            control.get_by_role("button", name="Standby slate", exact=True).click()
            watch.wait_for_selector("#program-slate", state="visible")
            assert "right back" in watch.inner_text("#program-slate")
            assert control.get_attribute("button[data-mode='slate']", "aria-pressed") == "true"
            watch.screenshot(path=str(artifacts / "watch-slate-phone.png"), full_page=True)

            control.get_by_role("button", name="Audio only", exact=True).click()
            watch.wait_for_selector("#program-audio", state="visible")
            assert watch.locator("#program-slate").is_hidden()

            control.get_by_role("button", name="Live", exact=True).click()
            watch.wait_for_function("() => document.getElementById('watch').dataset.program === 'live'")
            assert watch.locator("#program-audio").is_hidden() and watch.locator("#program-slate").is_hidden()
            assert watch.evaluate("window.__sameDocument === true")
            assert LiveStream.objects.get(event=room.event).program_mode == "live"
            assert watch.js_errors == [] and control.js_errors == []
        finally:
            owner_ctx.close()
            fan_ctx.close()
