"""Counter bursts coalesce: many commits in one window -> one frame carrying the latest value,
never a stale final value (issue 11, item 5). No timing is asserted: the tests wait for frames."""
import threading
import time

import pytest
from django.core.cache import cache
from django.db import transaction

from microstage import realtime


class Frames:
    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self.event = threading.Event()

    def __call__(self, group, payload):
        self.sent.append((group, payload))
        self.event.set()

    def wait_quiet(self, quiet=0.6, limit=10.0):
        """Until no frame has come for `quiet` s after the settle check had its chance."""
        end = time.monotonic() + limit
        seen = -1
        while time.monotonic() < end and seen != len(self.sent):
            seen = len(self.sent)
            time.sleep(quiet)
        return self.sent


@pytest.fixture(autouse=True)
def _window(settings):
    settings.MICROSTAGE_REALTIME_COALESCE_MS = 50
    cache.clear()


def test_a_burst_of_publishes_becomes_one_frame_with_the_latest_value():
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    count = {"n": 100}
    for _ in range(40):  # forty sales land in the same window
        count["n"] -= 1
        c.submit("event.evt_x", "stock:d1", lambda: {"type": "stock", "item": "d1", "available": count["n"]})
    sent = frames.wait_quiet()
    assert sent == [("event.evt_x", {"type": "stock", "item": "d1", "available": 60})]


def test_the_value_is_read_when_the_frame_is_sent_so_a_late_commit_is_never_lost():
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    count = {"n": 5}
    # An early publish captured nothing stale: the frame reads the counter when it goes out.
    c.submit("event.evt_y", "stock:d2", lambda: {"type": "stock", "item": "d2", "available": count["n"]})
    count["n"] = 3  # committed after the publish, before the window closed
    assert frames.wait_quiet()[-1][1]["available"] == 3


def test_separate_items_and_groups_each_get_their_frame():
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    for item in ("a", "b"):
        for n in range(5):
            c.submit("event.evt_z", f"stock:{item}", lambda item=item, n=n: {"item": item, "available": n})
    assert sorted(p["item"] + str(p["available"]) for _, p in frames.wait_quiet()) == ["a4", "b4"]


def test_a_stale_frame_from_another_process_is_repaired_by_the_settle_check():
    frames = Frames()
    ours = realtime.Coalescer(send=frames)
    count = {"n": 7}
    compute = lambda: {"type": "stock", "item": "d3", "available": count["n"]}  # noqa: E731
    ours.submit("event.evt_w", "stock:d3", compute)
    assert frames.event.wait(5)  # our frame (7) went out ...
    # ... and another process's frame, read before a later commit, lands after it:
    cache.set("rt:last:event.evt_w:stock:d3", {"type": "stock", "item": "d3", "available": 9})
    sent = frames.wait_quiet()
    assert sent[-1][1]["available"] == 7 and len(sent) == 2  # resent: the last frame is the real count


def test_the_settle_check_sends_nothing_when_the_value_still_stands():
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    c.submit("event.evt_v", "stock:d4", lambda: {"available": 1})
    assert len(frames.wait_quiet()) == 1


@pytest.mark.django_db(transaction=True)
def test_publish_latest_waits_for_commit_and_skips_rollbacks(monkeypatch):
    frames = Frames()
    monkeypatch.setattr(realtime, "_coalescer", realtime.Coalescer(send=frames))
    with transaction.atomic():
        realtime.publish_latest("event.evt_u", "stock:d5", lambda: {"available": 1})
        transaction.set_rollback(True)
    for n in range(10):
        with transaction.atomic():
            realtime.publish_latest("event.evt_u", "stock:d5", lambda n=n: {"available": n})
    assert frames.wait_quiet() == [("event.evt_u", {"available": 9})]


def test_cancel_pending_drops_what_has_not_begun_and_waits_for_what_has():
    """Tests empty the database after each transactional test: no timer may still be reading it then."""
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    reading, release, finished = threading.Event(), threading.Event(), threading.Event()
    reads = []

    def count():
        reads.append(1)
        if len(reads) == 2:  # the settle check's read, held up as a slow query would be
            reading.set()
            release.wait(5)
            finished.set()
        return {"type": "stock", "available": len(reads)}

    c.submit("event.evt_c", "stock:slow", count)
    assert reading.wait(5)
    threading.Timer(0.2, release.set).start()
    c.submit("event.evt_c", "stock:later", lambda: {"type": "stock", "available": 9})  # its window not closed
    c.cancel_pending()
    assert finished.is_set()  # the read under way was waited for
    time.sleep(0.3)  # past the end of the window the later frame was waiting in
    assert [p for _, p in frames.sent] == [{"type": "stock", "available": 1}, {"type": "stock", "available": 2}]


def test_cancel_pending_while_a_settle_check_is_being_started(monkeypatch):
    """A settle check registered but not yet started must not be joined (RuntimeError in the teardown)."""
    starting = threading.Event()

    class SlowStart(threading.Timer):
        def start(self):
            if self.function.__name__ == "settle":
                starting.set()
                time.sleep(0.2)  # cancel_pending comes in here
            super().start()

    monkeypatch.setattr(realtime.threading, "Timer", SlowStart)
    c = realtime.Coalescer(send=Frames())
    c.submit("event.evt_s", "stock:s", lambda: {"type": "stock", "available": 1})
    errors = []

    def cancel():
        starting.wait(5)
        try:
            c.cancel_pending()
        except RuntimeError as exc:
            errors.append(exc)

    canceller = threading.Thread(target=cancel)
    canceller.start()
    canceller.join(10)
    assert starting.is_set() and errors == []


def test_cancel_pending_waits_for_a_frame_whose_read_has_begun():
    """A window that has closed is no longer pending, but its frame's read is still under way on the
    timer's thread: the teardown must wait for it (and for the settle check it starts, dropped)."""
    frames = Frames()
    c = realtime.Coalescer(send=frames)
    reading, finished = threading.Event(), threading.Event()
    reads = []

    def count():
        reads.append(1)
        if len(reads) == 1:  # the window's own read, held up as a slow query would be
            reading.set()
            time.sleep(0.3)
            finished.set()
        return {"type": "stock", "available": len(reads)}

    c.submit("event.evt_f", "stock:f", count)
    assert reading.wait(5)
    c.cancel_pending()
    assert finished.is_set()  # the read under way was waited for
    assert [p for _, p in frames.sent] == [{"type": "stock", "available": 1}]
    time.sleep(realtime.SETTLE_SECONDS + 0.2)  # past the settle check the frame would have started
    assert reads == [1]
