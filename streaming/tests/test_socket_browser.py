"""The one websocket client (static/js/lib/socket.js) in Chromium against a real ASGI server: it
connects, gets the room's state, reconnects by itself after the socket drops (with backoff and
jitter) and then resyncs, and a close() is clean and final (no reconnect after it)."""
import pytest

from .live_helpers import UvicornServer, make_room
from .test_watch_browser import logged_in_page, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = """async () => {
  const { LiveSocket, backoff } = await import('/static/js/lib/socket.js');
  const t = (window.__socketTest = { frames: [], states: [], resyncs: 0 });
  t.delays = [[1, 0], [1, 1], [3, 1], [20, 0], [20, 1]].map(([attempt, r]) => backoff(attempt, () => r));
  t.socket = new LiveSocket(document.getElementById('watch').dataset.ws + '?watch=1', {
    onFrame: (msg) => t.frames.push(msg.type),
    onState: (state) => t.states.push(state),
    resync: () => { t.resyncs += 1; },
  });
  return t.delays;
}"""


def resync_frames(page) -> int:
    return page.evaluate("() => window.__socketTest.frames.filter((type) => type === 'resync').length")


def test_the_socket_client_reconnects_resyncs_and_closes_cleanly(browser):
    room = off_the_loop(make_room)
    with UvicornServer() as server:
        context, page = logged_in_page(browser, server, room.holder)
        try:
            page.goto(f"/e/{room.event.slug}/watch/")
            page.wait_for_selector('#watch[data-socket="open"]')
            # Backoff: 1 s doubling to a 30 s cap, half of each wait random.
            assert page.evaluate(START) == [500, 1000, 4000, 15000, 30000]
            page.wait_for_function("() => window.__socketTest.frames.includes('resync')")  # the state on connect
            assert page.evaluate("() => window.__socketTest.resyncs") == 0  # the first connect is no reconnect

            page.evaluate("() => window.__socketTest.socket.ws.close(4000)")  # the connection drops
            page.wait_for_function("() => window.__socketTest.resyncs === 1", timeout=5_000)
            page.wait_for_function("() => window.__socketTest.frames.filter((t) => t === 'resync').length === 2")
            states = page.evaluate("() => window.__socketTest.states")
            assert states[:2] == ["connecting", "open"] and states[-2:] == ["reconnecting", "open"]
            assert page.evaluate("() => window.__socketTest.socket.send({type: 'ping'})") is True
            page.wait_for_function("() => window.__socketTest.frames.includes('pong')")

            page.evaluate("() => window.__socketTest.socket.close()")
            page.wait_for_timeout(1_500)  # longer than the first backoff: nothing reconnects
            assert page.evaluate("() => window.__socketTest.states.at(-1)") == "closed"
            assert page.evaluate("() => window.__socketTest.socket.ws") is None
            assert resync_frames(page) == 2
            assert page.evaluate("() => window.__socketTest.socket.send({type: 'ping'})") is False
            assert page.js_errors == []
        finally:
            context.close()
