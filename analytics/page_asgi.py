"""Cached anonymous event landing pages answered at the ASGI layer, before Django's middleware and its
sync thread.

A rush is hundreds of phones opening one landing page. Served by Django, a cached copy (events/page_cache.py)
still cost the whole middleware stack and seven blocking Redis round trips, one after the other on the
process's single sync thread (measured: the page at a third of the trivial GET's rate). Here an anonymous
GET of a landing page is answered from the same copy with four async Redis calls, so one process overlaps
many visitors' waits:

1. the slug's event id, its language, its [event id, creator id] for tracking and the running experiments,
   all from the keys the Django path fills;
2. the page's versions; 3. the copy itself (the key built by page_cache.page_key, as Django builds it);
4. one RPUSH of the page view onto the analytics buffer (not for Do Not Track / Global Privacy Control).

Which requests may have a copy is page_cache.cacheable's rule (no session, no messages, no credentials)
and page_cache.query_of's; the language is microstage.i18n's and the variants analytics.services'. The
response gets what Django's middleware give a hit: its own CSRF token (and cookie) and CSP nonce in the
page and the headers of SecurityMiddleware, XFrameOptionsMiddleware, the CSP, the language and the visitor
cookie. Anything missing or unexpected (a key not yet cached, a miss, a TLS redirect, a bad host, Redis
down) falls through to Django, which answers and fills the cache.
"""
import asyncio
import io
import logging
from functools import lru_cache

import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation

from events import languages, page_cache
from microstage import i18n
from microstage.csp import SiteCSPMiddleware

from . import middleware as tracking
from . import pageview_buffer, services

log = logging.getLogger(__name__)
URL_NAME = "event-landing"
MAX_SLUG = 80  # events.languages looks up at most this much of a slug


@lru_cache(maxsize=4096)
def landing_slug(path: str) -> str | None:
    """The event slug when `path` is an event's landing page, else None."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    slug = str(match.kwargs.get("slug", "")) if match.url_name == URL_NAME else ""
    return slug if 0 < len(slug) <= MAX_SLUG else None


def _unused_response(request):  # the middleware below are only asked for their request/response steps
    raise AssertionError("not called")


class PageCacheFastPath:
    def __init__(self, app):
        self.app = app
        self.serializer = RedisSerializer()
        self.security = SecurityMiddleware(_unused_response)
        self.csrf = CsrfViewMiddleware(_unused_response)
        self.csp = SiteCSPMiddleware(_unused_response)
        self.xframe = XFrameOptionsMiddleware(_unused_response)
        self._redis: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None

    def redis(self) -> redis.asyncio.Redis:
        """One async client per event loop (a process has one; tests start several)."""
        loop = asyncio.get_running_loop()
        if self._redis is None or self._redis[0] is not loop:
            self._redis = (loop, redis.asyncio.Redis.from_url(settings.CACHES["default"]["LOCATION"],
                                                              socket_timeout=2, socket_connect_timeout=2))
        return self._redis[1]

    async def cached(self, *keys: str) -> list:
        """Values of Django cache keys (None when absent), read as django.core.cache's RedisCache stores them."""
        raw = await self.redis().mget([cache.make_key(k) for k in keys])
        return [None if v is None else self.serializer.loads(v) for v in raw]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or settings.PAGE_CACHE_SECONDS <= 0:
            return await self.app(scope, receive, send)
        path, root = scope.get("path", ""), scope.get("root_path", "")
        slug = landing_slug(path[len(root):] if root and path.startswith(root) else path)
        response = None
        if slug is not None:
            try:
                response = await self.hit(scope, slug)
            except Exception:  # Django answers whatever this could not
                log.warning("cached page not served at the ASGI layer", exc_info=True)
                response = None
        if response is None:
            return await self.app(scope, receive, send)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
        headers += [(b"Set-Cookie", c.output(header="").encode("latin-1").strip()) for c in response.cookies.values()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})

    async def hit(self, scope, slug: str) -> HttpResponse | None:
        """The landing page from cache with every header Django's hit has, or None to let Django answer."""
        request = ASGIRequest(scope, io.BytesIO())
        if not page_cache.cacheable(request):
            return None
        query = page_cache.query_of(request, allowed=())
        if query is None or self.security.process_request(request) is not None:  # e.g. the TLS redirect
            return None
        try:
            request.get_host()
        except DisallowedHost:  # Django answers 400 (and logs it)
            return None
        opted_out = tracking.opted_out(request)
        visitor_id = None if opted_out else (tracking.visitor_id_of(request) or tracking.new_visitor_id())
        event_id, event_language, tracked, running = await self.cached(
            page_cache.SLUG_ID_KEY.format(slug), languages.SLUG_KEY.format(slug), tracking.event_slug_key(slug),
            services.RUNNING_KEY)
        if not event_id or event_language is None or (not opted_out and (tracked is None or running is None)):
            return None  # not looked up by Django yet (or no such event): it answers and remembers
        language, chosen = i18n.request_language(request)
        if not chosen:
            language = i18n.supported(event_language) or language
        with translation.override(language):
            language = translation.get_language()
        variants = services.variants_for(visitor_id, running) if visitor_id else {}
        scopes = (f"event:{event_id}", "site")
        versions = page_cache.joined_versions(await self.cached(*(page_cache.version_key(s) for s in scopes)))
        key = page_cache.page_key(page=f"landing:{slug}", query=query, versions=versions,
                                  variants=page_cache.variants_part(variants), language=language)
        (found,) = await self.cached(key)
        if found is None:
            return None
        content, content_type = found
        self.csrf.process_request(request)  # the visitor's CSRF secret, or a new one
        self.csp.process_request(request)
        content = page_cache.personalised(content, lambda: get_token(request), lambda: request.csp_nonce)
        response = HttpResponse(content, content_type=content_type)
        response["X-Page-Cache"] = "hit"
        # What settings.MIDDLEWARE add to a Django-served hit, innermost first.
        view = None
        if visitor_id and content_type.startswith("text/html"):
            view = services.page_view_entry(visitor_id=visitor_id, page=tracking.TRACKED[URL_NAME][0],
                                            event_id=tracked[0], creator_id=tracked[1], item_id=slug,
                                            variants=variants)
            tracking.set_visitor_cookie(request, response, visitor_id)
        response = self.csp.process_response(request, response)
        response = self.xframe.process_response(request, response)
        response = i18n.language_headers(response, language)
        response = self.csrf.process_response(request, response)
        response["Content-Length"] = str(len(response.content))
        response = self.security.process_response(request, response)
        if view is not None:
            await self.redis().rpush(pageview_buffer.buffer_key(), view)
        return response
