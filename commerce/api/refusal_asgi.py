"""A rush's `sold_out` answers to POST /api/v1/orders, made at the ASGI layer before Django.

Once a tier is gone, most of a rush is buyers who will be refused. Through Django each of them still
waited for a request slot (microstage/admission.py) behind the sales, then cost the whole middleware
stack, DRF's request handling and the 409 exception path: about four times a trivial API GET, although
the answer itself is one Redis read (commerce/stock_snapshot.py). Here that answer is given from the
event loop, with the same steps in the same order as the view and `reserve`, each done by the code that
does it there:

1. the body, parsed by the API's JSON parser and validated by the view's OrderInSerializer and
   `line_requests`;
2. `services.early_need`: the checks every reservation passes first, and the units asked of the items'
   own pools;
3. those pools' snapshots, read with one async Redis call, and `stock_snapshot.refusal`: the decision
   `reserve` makes from them;
4. only for a refusal: the caller's token, checked by the API's own TokenAuthentication (one query, in a
   small thread pool of its own), since the API answers 401 before anything else.

Validation costs more than the rest, and sales pass here too on their way to the request slots (where
commerce/api/sale_asgi.py, built on this class, makes them): the snapshots are therefore read first for
what the raw body seems to ask (`_likely_need`), and steps 1–3 run only when that already looks like a
refusal. In a rush most buyers send the same few bodies (one tier, one or two tickets) with the same
`Accept`, so each process also remembers what step 1 made of a body that passed it, and which renderer
DRF chose for an `Accept` header: both depend on nothing else (`Checks`).

The answer is the API's error body (microstage.api.errors), in the request's language, with the headers
Django's middleware and DRF give it. Anything else — a sale, a session cookie (its account may pick the
language), no or a bad token, an invalid or large body, Redis away — is left to Django, with the body
handed on unchanged. A fast path only ever refuses, from the same snapshot the lock path trusts, so it
can never let a sale through that `reserve` would refuse.
"""
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from commerce import services, stock_snapshot
from microstage import i18n
from microstage.api.authentication import TokenAuthentication
from microstage.api.errors import exception_handler
from microstage.api.parsers import JSONParser
from microstage.asgi_answers import AsyncCache, SiteHeaders, answered, app_path, send_response
from microstage.errors import ServiceError

from . import serializers as s
from .views import OrderListView, line_requests

MAX_BODY = 8 * 1024  # a few lines of JSON; anything larger is Django's to read
REMEMBERED = 256  # bodies and Accept headers whose checks a process keeps (at most MAX_BODY each)
AUTH_THREADS = 2  # token checks at once per process, each on a pooled database connection
_auth_pool = ThreadPoolExecutor(max_workers=AUTH_THREADS, thread_name_prefix="refusal-auth")  # threads start on use


@lru_cache(maxsize=1)
def orders_path() -> str:
    return reverse("api-orders")


def _authenticated(request) -> bool:
    """True when the API's TokenAuthentication accepts the request's token (an active user's)."""
    try:
        return TokenAuthentication().authenticate(request) is not None
    except APIException:  # a bad or revoked token: Django answers 401
        return False
    finally:
        connection.close()  # back to the pool


async def _read_body(receive, limit: int) -> tuple[list[dict], bytes | None]:
    """The request's body messages as received, and the whole body (None when larger than `limit`)."""
    messages, size, more = [], 0, True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None  # the client went away: Django hears it too
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
        if size > limit:
            return messages, None
    return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[dict], receive):
    """A `receive` that gives the messages already read first, then the rest from the client."""
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed


def _likely_need(data) -> dict[str, int]:
    """What an order body seems to ask of its items' own pools, read leniently and only to decide whether
    the body is worth validating (the validated lines decide the answer)."""
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        return {}
    guesses = []
    for line in data["lines"][:services.MAX_LINES]:
        named = [f for f in s.LINE_FIELDS if isinstance(line, dict) and isinstance(line.get(f), str)]
        if len(named) == 1:
            quantity = line.get("quantity")
            quantity = quantity if type(quantity) is int and 1 <= quantity <= services.MAX_QUANTITY else 1
            guesses.append(services.LineRequest(s.LINE_FIELDS[named[0]], line[named[0]], quantity))
    try:
        return services.early_need(guesses) if guesses else {}
    except ServiceError:
        return {}


class Checks:
    """The outcomes of the request's checks that depend only on what the client sent, per process:

    - the body as the view takes it: OrderInSerializer's validated data (read-only), `line_requests` and
      `services.early_need`, for a body that passed all three (a failure is Django's to answer, in the
      request's language, so it is never remembered);
    - DRF's content negotiation for a query string and `Accept` header (the view's renderers are fixed):
      the renderer and media type, or None for Django's 406.

    At most REMEMBERED of each; when full, it starts again. Used from the event loop only."""

    def __init__(self, negotiation, renderers):
        self.negotiation, self.renderers = negotiation, renderers
        self.bodies: dict[bytes, tuple] = {}
        self.accepts: dict[tuple, tuple | None] = {}

    def negotiated(self, request) -> tuple | None:
        """(renderer, media type) as DRF's negotiation picks them for `request`, or None (406)."""
        key = (request.META.get("QUERY_STRING", ""), request.META.get("HTTP_ACCEPT"))
        if key not in self.accepts:
            try:
                chosen = self.negotiation.select_renderer(Request(request), self.renderers)
            except APIException:
                chosen = None
            self._keep(self.accepts, key, chosen)
        return self.accepts[key]

    def body(self, body: bytes, data) -> tuple | None:
        """(validated data, line requests, need) for the parsed `body`, or None where Django answers (400,
        404). Call it in the request's language."""
        if body not in self.bodies:
            try:
                serializer = s.OrderInSerializer(data=data)
                if not serializer.is_valid():
                    return None
                requests = line_requests(serializer.validated_data)
                need = services.early_need(requests)
            except (APIException, ServiceError):  # 400, 404: Django answers
                return None
            self._keep(self.bodies, body, (MappingProxyType(serializer.validated_data), tuple(requests), need))
        validated, requests, need = self.bodies[body]
        return validated, list(requests), dict(need)

    @staticmethod
    def _keep(memo: dict, key, value) -> None:
        if len(memo) >= REMEMBERED:
            memo.clear()
        memo[key] = value


@dataclass
class Asked:
    """An order request as the view would take it: everything Django's answer depends on, checked."""
    request: ASGIRequest
    data: MappingProxyType  # the OrderInSerializer's validated data (read-only: it may serve other requests)
    requests: list  # its lines as `reserve` asks for them
    need: dict[str, int]  # what the lines ask of their items' own pools (`services.early_need`)
    found: dict  # the snapshots that decide `need`
    renderer: object
    media_type: str
    language: str


class SoldOutFastPath:
    def __init__(self, app):
        self.app = app
        self.site = SiteHeaders()
        self.cache = AsyncCache()
        self.parser = JSONParser()
        self.renderers = OrderListView().get_renderers()
        self.negotiation = DefaultContentNegotiation()
        self.checks = Checks(self.negotiation, self.renderers)
        self.allow = ", ".join(OrderListView().allowed_methods)

    @staticmethod
    def applies(scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "POST" or settings.STOCK_SNAPSHOT_SECONDS <= 0:
            return False
        if app_path(scope) != orders_path():
            return False
        return any(name == b"authorization" and value[:6].lower() == b"token " for name, value in scope["headers"])

    async def __call__(self, scope, receive, send):
        if not self.applies(scope):
            return await self.app(scope, receive, send)
        messages, body = await _read_body(receive, MAX_BODY)
        response = None if body is None else await answered(lambda: self.answer(scope, body), "order request")
        if response is None:
            return await self.app(scope, _replay(messages, receive), send)
        await send_response(send, response)

    async def snapshots(self, need: dict[str, int], found: dict) -> dict:
        """The snapshots that decide `need`: those in `found` already, the rest read now."""
        keys = [k for k in stock_snapshot.keys_to_read(need) if k not in found]
        return {**found, **dict(zip(keys, await self.cache.values(*keys), strict=True))} if keys else found

    def parsed(self, body: bytes):
        """The body's JSON, or None where Django answers (400, 413)."""
        try:
            return self.parser.parse(io.BytesIO(body))
        except (APIException, ServiceError):
            return None

    async def answer(self, scope, body: bytes) -> HttpResponse | None:
        """The 409 sold_out Django would give this request, or None to let Django answer."""
        data = self.parsed(body)
        if data is None:
            return None
        # Validating costs far more than a Redis read, and a sale passes here too: first ask the
        # snapshots about what the body seems to ask for, and look closer only at a likely refusal.
        likely = _likely_need(data)
        found = await self.snapshots(likely, {})
        if stock_snapshot.refusal(likely, None, found, timezone.now()) is None:
            return None
        asked = await self.asked(scope, body, data, found)
        return None if asked is None else await self.refusal(asked)

    async def asked(self, scope, body: bytes, data, found: dict) -> Asked | None:
        """The request checked as Django's middleware and the view check it, or None where they would
        answer otherwise than the reservation does (a session, a bad body, an unacceptable answer)."""
        request = self.site.request(scope, body)
        if request is None or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None
        if request.META.get("CONTENT_LENGTH") != str(len(body)):
            return None  # DRF reads no body without it (chunked uploads): Django answers
        if request.content_type != "application/json" or request.content_params.get("charset", "utf-8").lower() \
                not in ("utf-8", "utf8"):
            return None  # Django answers 415, or decodes another charset
        negotiated = self.checks.negotiated(request)
        if negotiated is None:  # 406: Django answers
            return None
        renderer, media_type = negotiated
        language, _chosen = i18n.request_language(request)  # LanguageMiddleware's (no session, no account)
        with translation.override(language):
            language = translation.get_language()
            checked = self.checks.body(body, data)
        if checked is None:
            return None
        validated, requests, need = checked
        return Asked(request, validated, requests, need, await self.snapshots(need, found), renderer, media_type,
                     language)

    async def refusal(self, asked: Asked) -> HttpResponse | None:
        """The 409 the snapshots give `asked`, or None when they do not refuse it (or Django answers 401)."""
        with translation.override(asked.language):
            conflict = stock_snapshot.refusal(asked.need, None, asked.found, timezone.now())
        if conflict is None:
            return None
        if not await sync_to_async(_authenticated, thread_sensitive=False, executor=_auth_pool)(asked.request):
            return None
        with translation.override(asked.language):
            data = exception_handler(conflict, {}).data
        return self.rendered(asked, data, conflict.status)

    def rendered(self, asked: Asked, data, status: int) -> HttpResponse:
        """`data` answered as the view's APIView and Django's middleware answer it."""
        # As DRF's Response: the content type without the parameters asked for (an indent only shapes the body).
        response = HttpResponse(asked.renderer.render(data, asked.media_type, {}), status=status,
                                content_type=asked.renderer.media_type)
        response["Allow"] = self.allow  # as DRF's APIView says it
        return self.site.finish(asked.request, response, asked.language)
