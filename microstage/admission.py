"""At most so many HTTP requests of one web process are worked on at once; the rest wait their turn.

Under ASGI Django gives every request in flight its own thread. In a rush that is a couple of hundred
threads per process sharing one interpreter lock and MICROSTAGE_DB_POOL_MAX database connections:
each of them gets a sliver of CPU, so all of them finish late together — the 100th ticket is sold
only when nearly every buyer's request is nearly done. Here a request waits in the event loop (no
thread, no connection: an entry in a first-come-first-served queue) until one of
MICROSTAGE_REQUEST_SLOTS slots is free, and gives its slot back as soon as its response starts, so
a streamed body does not keep it. Requests are then finished in the order they came, at full speed.

Websockets are not limited here, and the ASGI fast paths in front of this one (/healthz, cached pages)
never wait for a slot.
"""
import asyncio


class Admission:
    def __init__(self, app, slots: int):
        self.app = app
        self.slots = slots
        self._sem: asyncio.Semaphore | None = None  # made in the running loop (one per worker process)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.slots <= 0:
            return await self.app(scope, receive, send)
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        await self._sem.acquire()
        held = True

        async def send_and_release(message):
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                self._sem.release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if held:
                self._sem.release()
