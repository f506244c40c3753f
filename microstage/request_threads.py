"""Django's requests under ASGI on reused threads, not on a new thread (and a second one to join it) each.

Django's ASGI handler runs each request in a fresh `ThreadSensitiveContext`, so the request's sync code
(middleware, views, ORM) runs on one thread of its own. asgiref makes that thread new for every
request and, when the request ends, starts another thread only to join it: two thread starts per
request, each of which holds the event loop until the new thread gets the interpreter lock. In a
rush's profile that was about a fifth of the web processes' samples, and every new thread also
builds its own database wrappers.

`RequestThreads` gives each request a context whose executor comes from a list of idle single-thread
executors (asgiref's `ThreadSensitiveContext(executor=...)`): one request at a time per thread, as
before, but the threads are kept, as a WSGI server keeps its worker threads. Django's own context
inside finds ours and uses it. An executor goes back to the list only after everything the request
handed it has run (a request cancelled mid-call leaves that call running: the next request on that
thread waits for it instead of interleaving with it). What a request leaves on its thread is what a
WSGI worker thread keeps between requests: the database connection is closed (back to the pool) by
Django at the end of every request, as before.
"""
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

KEEP_IDLE = 32  # threads kept between requests per process (more in flight than this are made and ended)


class RequestThreads:
    def __init__(self, app, keep_idle: int = KEEP_IDLE):
        self.app = app
        self.keep_idle = keep_idle
        self._idle: deque[ThreadPoolExecutor] = deque()  # append/pop are atomic: no lock needed
        self._made = 0
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        executor = self._take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            executor.submit(self._idle_again, executor)  # runs after all the request's work on it

    def _take(self) -> ThreadPoolExecutor:
        try:
            return self._idle.pop()
        except IndexError:
            with self._lock:
                self._made += 1
                name = f"request-{self._made}"
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def _idle_again(self, executor: ThreadPoolExecutor) -> None:
        """On the executor's own thread, once the request's work is done: back to the idle list, or ended
        when enough are idle (a burst above KEEP_IDLE does not keep its threads)."""
        if len(self._idle) < self.keep_idle:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)  # from its own thread: the worker ends after this call
