"""First-party page-view tracking and experiment assignment for every request.

The pages live in apps below analytics, which may not import it: this middleware recognises the tracked
pages by URL name, reads the ids from the URL kwargs, and records one PageView per successful GET of an
HTML page. The visitor is a random id in a first-party cookie; no IP address or user agent is read into
any row. Do Not Track (`DNT: 1`) and Global Privacy Control (`Sec-GPC: 1`) mean no cookie and nothing
stored. The visitor's experiment variants are put on the request (`request.experiment_variants`), and
their prices as a plain mapping (`request.variant_prices`, {(target, item id): price}) that views pass
explicitly to the selectors and services that price (microstage.overrides): nothing reads the request
from elsewhere. A request that pays an order links the buyer to this visitor.
"""
import logging
import re
import secrets

from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)

COOKIE = "ms_vid"
COOKIE_MAX_AGE = 365 * 24 * 3600
VISITOR_RE = re.compile(r"^v_[A-Za-z0-9_-]{20,32}$")
LOOKUP_TTL = 600

# url name -> (PageView.page, which kwarg carries the id, how to resolve it)
TRACKED = {
    "event-landing": ("event", "slug", "event_slug"),
    "event-watch": ("watch", "slug", "event_slug"),
    "creator-page": ("creator", "slug", "creator_slug"),
    "creator-shop": ("shop", "slug", "creator_slug"),
    "group-buy": ("group_buy", "group_buy_id", "group_buy"),
    "order": ("order", "order_id", "order"),
}

def opted_out(request) -> bool:
    return request.headers.get("DNT", "").strip() == "1" or request.headers.get("Sec-GPC", "").strip() == "1"


def new_visitor_id() -> str:
    return "v_" + secrets.token_urlsafe(18)


def visitor_id_of(request) -> str | None:
    """The visitor's id from the cookie when valid (None when opted out or absent)."""
    if opted_out(request):
        return None
    vid = request.COOKIES.get(COOKIE, "")
    return vid if VISITOR_RE.match(vid) else None


# --- ids of the page ---------------------------------------------------------------------------

def _cached(key: str, compute):
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, LOOKUP_TTL)
    return tuple(found)


def event_slug_key(slug: str) -> str:
    """The cache key of [event id, creator id] for an event's slug (read raw by analytics.page_asgi)."""
    return f"analytics:ev-slug:{slug}"


def _event_slug(slug: str) -> tuple[str, str]:
    from events.models import Event

    def compute():
        row = Event.objects.filter(slug=slug).values_list("pk", "creator_id").first()
        return [row[0], row[1]] if row else ["", ""]
    return _cached(event_slug_key(slug), compute)


def _creator_slug(slug: str) -> tuple[str, str]:
    from microstage.models import Creator

    def compute():
        pk = Creator.objects.filter(slug=slug).values_list("pk", flat=True).first()
        return ["", pk or ""]
    return _cached(f"analytics:cr-slug:{slug}", compute)


def _group_buy(gb_id: str) -> tuple[str, str]:
    from groupbuys.models import GroupBuy

    def compute():
        row = GroupBuy.objects.filter(pk=gb_id).values_list("event_id", "creator_id").first()
        return [row[0] or "", row[1]] if row else ["", ""]
    return _cached(f"analytics:gb:{gb_id}", compute)


def _order(order_id: str) -> tuple[str, str]:
    """An order's show: the event of its first ticket, drop or group-buy line."""
    from commerce.models import Order, OrderLine
    from groupbuys.models import GroupBuy
    from events.models import Drop, TicketTier

    def compute():
        creator_id = Order.objects.filter(pk=order_id).values_list("creator_id", flat=True).first()
        if creator_id is None:
            return ["", ""]
        event_id = ""
        for kind, item_id in OrderLine.objects.filter(order_id=order_id).order_by("position", "id") \
                .values_list("kind", "item_id"):
            model = {"ticket": TicketTier, "drop": Drop}.get(kind)
            if model is not None:
                event_id = model.objects.filter(pk=item_id).values_list("event_id", flat=True).first() or ""
            elif kind == "group_buy":
                event_id = GroupBuy.objects.filter(pk=item_id).values_list("event_id", flat=True).first() or ""
            if event_id:
                break
        return [event_id, creator_id]
    return _cached(f"analytics:order:{order_id}", compute)


RESOLVERS = {"event_slug": _event_slug, "creator_slug": _creator_slug, "group_buy": _group_buy, "order": _order}


def page_of(resolver_match) -> tuple[str, str, str, str] | None:
    """(page, event id, creator id, the raw id) of a tracked page, else None."""
    if resolver_match is None or resolver_match.url_name not in TRACKED:
        return None
    page, kwarg, how = TRACKED[resolver_match.url_name]
    raw = str(resolver_match.kwargs.get(kwarg, ""))
    if not raw:
        return None
    event_id, creator_id = RESOLVERS[how](raw)
    return page, event_id, creator_id, raw


# --- the middleware ----------------------------------------------------------------------------

class AnalyticsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from . import services

        out = opted_out(request)
        request.analytics_opted_out = out
        request.visitor_id = visitor_id_of(request)
        request.analytics_event_id = ""
        request.experiment_variants = {}
        request.variant_prices = {}
        started = timezone.now()
        response = self.get_response(request)
        if not out and request.method not in SAFE_METHODS:
            _link_buyer(request, started)
        if out or request.method != "GET" or response.status_code != 200 or response.streaming:
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        tracked = getattr(request, "analytics_page", None)
        if tracked is None:
            return response
        page, event_id, creator_id, raw = tracked
        vid = request.visitor_id
        try:
            services.record_page_view(visitor_id=vid, page=page, event_id=event_id, creator_id=creator_id,
                                      item_id=raw, variants=request.experiment_variants)
        except Exception:  # measuring must never break the page
            log.exception("page view not recorded")
            return response
        set_visitor_cookie(request, response, vid)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Before the view renders: templates read request.analytics_event_id, prices read the variants.
        from . import services

        if getattr(request, "analytics_opted_out", True):
            return None
        if request.method == "GET":
            try:
                tracked = page_of(request.resolver_match)
            except Exception:
                log.exception("tracked page not resolved")
                tracked = None
            if tracked is not None:
                request.analytics_page = tracked
                request.analytics_event_id = tracked[1]
                if request.visitor_id is None:  # a first visit: the id the cookie will carry
                    request.visitor_id = new_visitor_id()
        if request.visitor_id:
            try:
                request.experiment_variants = services.variants_for(request.visitor_id)
            except Exception:
                log.exception("experiment variants not assigned")
            request.variant_prices = services.variant_prices(request.experiment_variants)
        return None


SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def set_visitor_cookie(request, response, visitor_id: str) -> None:
    """The first-party visitor cookie of a tracked view (renewed on every view)."""
    response.set_cookie(COOKIE, visitor_id, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=request.is_secure())


def _link_buyer(request, since) -> None:
    """A request that paid an order of its user (checkout, the sandbox's pay button) links that buyer to
    the visitor whose cookie it carried (none for webhooks or a visitor id first assigned just now)."""
    from . import services

    vid = getattr(request, "visitor_id", None)
    user = getattr(request, "user", None)
    if not vid or request.COOKIES.get(COOKIE) != vid or not getattr(user, "is_authenticated", False):
        return
    try:
        services.link_paying_buyer(vid, user, paid_since=since)
    except Exception:  # measuring must never break the page
        log.exception("buyer not linked to the visitor")
