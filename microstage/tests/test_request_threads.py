"""Django's requests under ASGI run on kept threads (microstage/request_threads.py): each request's sync
code on one thread of its own, as Django arranges, without a new thread (and another to join it) per
request."""
import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.core.signals import request_finished, request_started

from microstage.request_threads import RequestThreads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def threads_seen():
    """(signal, thread) for every request_started and request_finished, in order."""
    seen = []

    def started(**kwargs):
        seen.append(("started", threading.current_thread()))

    def finished(**kwargs):
        seen.append(("finished", threading.current_thread()))

    request_started.connect(started)
    request_finished.connect(finished)
    yield seen
    request_started.disconnect(started)
    request_finished.disconnect(finished)


async def get(app=None, path="/api/v1/ping"):
    from microstage.asgi import application

    communicator = HttpCommunicator(app or application, "GET", path, headers=[(b"host", b"127.0.0.1")])
    response = await communicator.get_response(10)
    await communicator.wait(10)  # the request ends after its body: response.close(), request_finished
    return response["status"]


async def test_requests_one_after_another_run_on_one_kept_thread(threads_seen):
    from microstage.asgi import django_asgi_app

    for _ in range(3):  # Django alone: a new thread for every request
        assert await get(django_asgi_app) == 200
    assert len({thread for _, thread in threads_seen}) == 3
    threads_seen.clear()
    kept = RequestThreads(django_asgi_app)
    for _ in range(3):
        assert await get(kept) == 200
        while not kept._idle:  # its thread goes back to the list once the request's work has run
            await asyncio.sleep(0.01)
    threads = [thread for _, thread in threads_seen]
    assert [what for what, _ in threads_seen] == ["started", "finished"] * 3
    assert len(set(threads)) == 1  # each request on one thread, and the thread kept for the next
    assert threads[0] is not threading.main_thread() and threads[0].name.startswith("request-")


async def test_requests_in_flight_together_each_have_their_own_thread(threads_seen):
    both = threading.Barrier(2, timeout=5)  # on one shared thread the second would never arrive

    def meet(**kwargs):
        both.wait()

    request_started.connect(meet)
    try:
        assert await asyncio.gather(get(), get()) == [200, 200]
    finally:
        request_started.disconnect(meet)
    started = {thread for what, thread in threads_seen if what == "started"}
    assert len(started) == 2


async def test_a_thread_still_busy_for_a_cancelled_request_is_not_given_to_the_next():
    release, ran_on = threading.Event(), []

    def work(block):
        ran_on.append(threading.current_thread())
        if block:
            release.wait(5)

    async def app(scope, receive, send):
        await sync_to_async(work)(scope["block"])  # thread-sensitive: the request's own thread

    threads = RequestThreads(app)
    first = asyncio.create_task(threads({"type": "http", "block": True}, None, None))
    while not ran_on:
        await asyncio.sleep(0.01)
    first.cancel()  # the client went away: the call goes on running on that thread
    with pytest.raises(asyncio.CancelledError):
        await first
    await threads({"type": "http", "block": False}, None, None)
    assert ran_on[1] is not ran_on[0]  # not queued behind the cancelled request's call
    release.set()
    while len(threads._idle) < 2:
        await asyncio.sleep(0.01)
    await threads({"type": "http", "block": False}, None, None)
    assert ran_on[2] in ran_on[:2]  # both kept once their work was done


async def test_threads_beyond_the_idle_limit_end_after_their_request():
    both = threading.Barrier(2, timeout=5)

    async def app(scope, receive, send):
        await sync_to_async(both.wait)()

    threads = RequestThreads(app, keep_idle=1)
    await asyncio.gather(threads({"type": "http"}, None, None), threads({"type": "http"}, None, None))
    await asyncio.sleep(0.2)
    assert len(threads._idle) == 1


async def test_websockets_are_passed_through_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    threads = RequestThreads(app)
    await threads({"type": "websocket"}, None, None)
    assert seen == ["websocket"] and not threads._idle
