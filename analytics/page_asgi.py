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
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import Resolver404, resolve
from django.utils import translation

from events import languages, page_cache
from microstage import i18n
from microstage.asgi_answers import AsyncCache, SiteHeaders, answered, app_path, send_response

from . import middleware as tracking
from . import pageview_buffer, services

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


class PageCacheFastPath:
    def __init__(self, app):
        self.app = app
        self.site = SiteHeaders()
        self.csrf = CsrfViewMiddleware(lambda request: None)  # only its request/response steps are asked
        self.cache = AsyncCache()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or settings.PAGE_CACHE_SECONDS <= 0:
            return await self.app(scope, receive, send)
        slug = landing_slug(app_path(scope))
        response = None if slug is None else await answered(lambda: self.hit(scope, slug), "cached page")
        if response is None:
            return await self.app(scope, receive, send)
        await send_response(send, response)

    async def hit(self, scope, slug: str) -> HttpResponse | None:
        """The landing page from cache with every header Django's hit has, or None to let Django answer."""
        request = self.site.request(scope)  # None: Django answers (the TLS redirect, a bad host)
        if request is None or not page_cache.cacheable(request):
            return None
        query = page_cache.query_of(request, allowed=())
        if query is None:
            return None
        opted_out = tracking.opted_out(request)
        visitor_id = None if opted_out else (tracking.visitor_id_of(request) or tracking.new_visitor_id())
        event_id, event_language, tracked, running = await self.cache.values(
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
        versions = page_cache.joined_versions(await self.cache.values(*(page_cache.version_key(s) for s in scopes)))
        key = page_cache.page_key(page=f"landing:{slug}", query=query, versions=versions,
                                  variants=page_cache.variants_part(variants), language=language)
        (found,) = await self.cache.values(key)
        if found is None:
            return None
        content, content_type = found
        self.csrf.process_request(request)  # the visitor's CSRF secret, or a new one
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
        response = self.site.finish(request, response, language, inner=self.csrf.process_response)
        if view is not None:
            await self.cache.client().rpush(pageview_buffer.buffer_key(), view)
        return response
