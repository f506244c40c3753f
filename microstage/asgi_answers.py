"""What the ASGI fast paths (answers made before Django's middleware) share.

A fast path answers a few hot requests from the event loop — a cached landing page
(analytics/page_asgi.py), a rush's `sold_out` (commerce/api/refusal_asgi.py) — and lets Django answer
everything else. Its answer must look like Django's: the same security, CSP, frame and language headers
as settings.MIDDLEWARE add (`SiteHeaders`), and no answer at all where Django's middleware would answer
differently (a TLS redirect, a disallowed host). Cache keys are read the way Django's RedisCache writes
them, with one async client per event loop (`AsyncCache`).
"""
import asyncio
import io
import logging
import weakref

import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from . import i18n
from .csp import SiteCSPMiddleware

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 32  # per process and event loop
_async_clients = weakref.WeakKeyDictionary()  # event loop -> the process's async client on it


def app_path(scope) -> str:
    """The request's path below the application's root path (as Django resolves it)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


async def answered(make, what: str):
    """`await make()`, or None when it failed (logged as `what`): Django answers whatever a fast path could not."""
    try:
        return await make()
    except Exception:
        log.warning("%s not answered at the ASGI layer", what, exc_info=True)
        return None


def _unused_response(request):  # the middleware below are only asked for their request/response steps
    raise AssertionError("not called")


class SiteHeaders:
    """The request and response steps of settings.MIDDLEWARE that every answer goes through."""

    def __init__(self):
        self.security = SecurityMiddleware(_unused_response)
        self.csp = SiteCSPMiddleware(_unused_response)
        self.xframe = XFrameOptionsMiddleware(_unused_response)

    def request(self, scope, body: bytes = b"") -> ASGIRequest | None:
        """The request, or None where Django's middleware would answer it otherwise (the TLS redirect,
        a host not in ALLOWED_HOSTS: Django answers and logs it)."""
        request = ASGIRequest(scope, io.BytesIO(body))
        if self.security.process_request(request) is not None:
            return None
        try:
            request.get_host()
        except DisallowedHost:
            return None
        self.csp.process_request(request)
        return request

    def finish(self, request, response, language: str, inner=None):
        """`response` with the headers Django's middleware add to it, innermost first; `inner(request,
        response)` runs where the middleware between the language and the security ones would (CSRF)."""
        response = self.csp.process_response(request, response)
        response = self.xframe.process_response(request, response)
        response = i18n.language_headers(response, language)
        if inner is not None:
            response = inner(request, response)
        response["Content-Length"] = str(len(response.content))
        return self.security.process_response(request, response)


async def send_response(send, response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers += [(b"Set-Cookie", c.output(header="").encode("latin-1").strip()) for c in response.cookies.values()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


class AsyncCache:
    """Django cache keys read from the event loop, as django.core.cache's RedisCache stores them."""

    def __init__(self):
        self.serializer = RedisSerializer()

    @staticmethod
    def client() -> redis.asyncio.Redis:
        """The process's async client for the running event loop (a server has one; tests start several),
        shared by every fast path."""
        loop = asyncio.get_running_loop()
        client = _async_clients.get(loop)
        if client is None:
            # A rush awaits hundreds of reads at once: they wait their turn for one of MAX_CONNECTIONS
            # instead of failing (redis-py's plain pool raises past its 100).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                settings.CACHES["default"]["LOCATION"], max_connections=MAX_CONNECTIONS, timeout=2,
                socket_timeout=2, socket_connect_timeout=2)
            client = _async_clients[loop] = redis.asyncio.Redis(connection_pool=pool)
        return client

    async def values(self, *keys: str) -> list:
        """The values of these cache keys (None where absent)."""
        raw = await self.client().mget([cache.make_key(k) for k in keys])
        return [None if v is None else self.serializer.loads(v) for v in raw]
