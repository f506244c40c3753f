"""Anonymous event and discovery pages from cache, keyed by versions that change on every edit, stock
change or publish.

A rush is mostly anonymous phones opening the same landing page. Rendering it (the event, tiers with
availability, drops, JSON-LD) took ~10 queries; now an anonymous visitor without a session gets the
HTML from Redis: 0 queries. The cache key holds
- the page (path and the query string that matters),
- the versions it depends on: `event:<id>` (bumped when the event, one of its tiers, drops or
  group-buys is saved or deleted, and when its stock or sale state is announced to watchers, on
  commit), `listing` (any event or tier saved: discovery pages) and `site` (a creator renamed),
- the visitor's experiment variants (prices may differ per variant).
Live numbers reach an open page over the websocket (/ws/events/<id>/) and the availability partial
it polls, which is itself cached for at most one second. PAGE_CACHE_SECONDS bounds any copy's life.

The CSRF token (the page carries one for htmx and the forms) is stored as a marker and replaced with
the visitor's own token when served; messages, sessions and logged-in visitors are never cached.
"""
import hashlib
import logging
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

log = logging.getLogger(__name__)
CSRF_MARKER = "__MS_CSRF_TOKEN__"
# The CSP nonce is per response too: stored as a marker, each hit gets the request's own nonce (the
# one its Content-Security-Policy header names), or no script on the page would run.
NONCE_MARKER = "__MS_CSP_NONCE__"
_NONCE_RE = re.compile(r' nonce="([^"]+)"')
_CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"|name="csrfmiddlewaretoken" value="([^"]+)"')
IGNORED_PARAMS = ("utm_", "fbclid", "gclid", "ref")
# A landing slug's event id (events.views) and its language (events.languages), remembered in the cache.
SLUG_ID_KEY = "page:slug:{}"
# Payload types on an event's group that do not change what its page shows.
NOT_PAGE_CHANGES = frozenset({"chat", "chat_deleted", "slow_mode", "presence", "viewers", "checkins", "resync"})


# --- versions ---------------------------------------------------------------------------------

def version_key(scope: str) -> str:
    """The cache key of a scope's version (read with the cache API, or raw by analytics.page_asgi)."""
    return f"pagever:{scope}"


def joined_versions(values) -> str:
    """The versions part of a page key, from the scopes' values in order (None: never bumped)."""
    return ".".join(str(v if v is not None else 0) for v in values)


def versions(*scopes: str) -> str:
    found = cache.get_many([version_key(s) for s in scopes])
    return joined_versions(found.get(version_key(s)) for s in scopes)

def _bump_now(scopes) -> None:
    for scope in scopes:
        try:
            if not cache.add(version_key(scope), 1, timeout=None):
                cache.incr(version_key(scope))
        except Exception:  # a missed bump only means a copy lives until PAGE_CACHE_SECONDS
            log.warning("page version %s not bumped", scope, exc_info=True)

def bump(*scopes: str) -> None:
    """The pages depending on these scopes change once the current transaction commits."""
    scopes = tuple(s for s in scopes if s)
    if scopes:
        transaction.on_commit(lambda: _bump_now(scopes))

def bump_event(event_id: str | None) -> None:
    if event_id:
        bump(f"event:{event_id}", "listing")

# --- serving ------------------------------------------------------------------------------------

def cacheable(request) -> bool:
    """An anonymous GET without a session, pending messages or credentials (nothing personal on the page)."""
    if request.method != "GET" or settings.PAGE_CACHE_SECONDS <= 0:
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
        return False
    if "Authorization" in request.headers:
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)

def query_of(request, allowed=None) -> str | None:
    """The query string that matters, sorted; None when a parameter makes the page personal."""
    items = []
    for key in sorted(request.GET):
        if key.startswith(IGNORED_PARAMS):
            continue
        if allowed is not None and key not in allowed:
            return None
        items += [(key, v) for v in request.GET.getlist(key)]
    return "&".join(f"{k}={v}" for k, v in items)

def variants_part(experiment_variants) -> str:
    """The visitor's experiment variants (analytics.services.variants_for) as part of a page key."""
    return ",".join(sorted(f"{t}:{i}={v.get('key')}" for (t, i), v in (experiment_variants or {}).items()))

def page_key(*, page: str, query: str, versions: str, variants: str, language: str) -> str:
    """The cache key of one copy of a page (Django's hit path and analytics.page_asgi both build it here)."""
    raw = f"{page}|{query}|{versions}|{variants}|{language}"
    return "page:" + hashlib.sha256(raw.encode()).hexdigest()[:40]

def personalised(content: str, csrf_token, nonce) -> str:
    """A stored copy with this response's CSRF token and CSP nonce (callables, asked only when used)."""
    content = content.replace(CSRF_MARKER, csrf_token())
    if NONCE_MARKER in content:
        content = content.replace(NONCE_MARKER, str(nonce()))
    return content

def cached_page(request, *, page: str, scopes: tuple[str, ...], render, allowed_params=None):
    """The page from cache when `request` may have it, else `render()` (stored when it is a 200)."""
    if not cacheable(request):
        return render()
    query = query_of(request, allowed_params)
    if query is None:
        return render()
    key = page_key(page=page, query=query, versions=versions(*scopes),
                   variants=variants_part(getattr(request, "experiment_variants", None)),
                   language=translation.get_language())
    try:
        found = cache.get(key)
    except Exception:
        log.warning("page cache unreadable", exc_info=True)
        return render()
    if found is not None:
        content, content_type = found
        content = personalised(content, lambda: get_token(request), lambda: getattr(request, "csp_nonce", ""))
        response = HttpResponse(content, content_type=content_type)
        response["X-Page-Cache"] = "hit"
        return response
    response = render()
    if response.status_code == 200 and not response.streaming and not response.cookies:
        content = response.content.decode()
        match = _CSRF_RE.search(content)
        if match:
            content = content.replace(match.group(1) or match.group(2), CSRF_MARKER)
        nonce = _NONCE_RE.search(content)
        if nonce:
            content = content.replace(f' nonce="{nonce.group(1)}"', f' nonce="{NONCE_MARKER}"')
        try:
            cache.set(key, (content, response["Content-Type"]), settings.PAGE_CACHE_SECONDS)
        except Exception:
            log.warning("page not cached", exc_info=True)
        response["X-Page-Cache"] = "miss"
    return response

def micro_cached(request, *, page: str, scopes: tuple[str, ...], render, seconds: float = 1.0):
    """A small, never-cached-by-browsers partial shared by anonymous pollers for `seconds`."""
    return cached_page(request, page=f"{page}@{int(time.time() / seconds)}", scopes=scopes, render=render)

# --- what changes a page -----------------------------------------------------------------------

def _on_event(sender, instance, **kwargs):
    bump_event(instance.pk)
    # the landing's slug → id lookup (events.views) and its language (events.languages)
    slug_keys = [SLUG_ID_KEY.format(instance.slug), f"page:slug-lang:{instance.slug}"]
    transaction.on_commit(lambda: cache.delete_many(slug_keys))

def _on_event_child(sender, instance, **kwargs):
    bump_event(getattr(instance, "event_id", None))

def _on_creator(sender, instance, **kwargs):
    bump("site")

def on_publish(group: str, payload: dict) -> None:
    """realtime.publish listener: what watchers of an event are told also changes its page."""
    if group.startswith("event.") and payload.get("type") not in NOT_PAGE_CHANGES:
        bump(f"event:{group.split('.', 1)[1]}")

def connect() -> None:
    """Called from EventsConfig.ready()."""
    from django.db.models.signals import post_delete, post_save

    from groupbuys.models import GroupBuy
    from microstage import realtime
    from microstage.models import Creator

    from .models import Drop, Event, TicketTier

    for signal in (post_save, post_delete):
        signal.connect(_on_event, sender=Event, dispatch_uid=f"page-cache-event-{signal}")
        signal.connect(_on_creator, sender=Creator, dispatch_uid=f"page-cache-creator-{signal}")
        for model in (TicketTier, Drop, GroupBuy):
            signal.connect(_on_event_child, sender=model, dispatch_uid=f"page-cache-{model.__name__}-{signal}")
    realtime.add_listener(on_publish)
