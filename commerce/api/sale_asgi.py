"""A rush's sales of POST /api/v1/orders, made at the ASGI layer once the request has its slot.

In a rush Django's request machinery costs a sale more than the sale itself: a new thread for the
request (asgiref gives every request its own), the whole middleware stack, URL resolving, DRF's
request, view and response handling. None of it decides anything for a token client without cookies.
Here such a request is taken as commerce/api/refusal_asgi.py takes a refusal — the body parsed by the
API's parser and validated by the view's serializer, the request checked as Django's middleware check
it — and then, when the snapshots do not refuse it, sold by the view's own steps on one of a few
long-lived threads:

1. the caller's token, checked by the API's TokenAuthentication (Django answers 401 otherwise);
2. `services.reserve`, as OrderListView.post calls it (a visitor without cookies has no experiment
   prices), so every rule of a reservation is the one in commerce/services.py;
3. the new order answered by the view's OrderSerializer, or whatever `reserve` raised by the API's
   exception handler, or an unexpected error by Django's own 500 handling;

and answered with the headers Django's middleware and DRF give it.

Only what Django would answer the same way is taken: the request must carry no cookie at all (a
session may pick the caller and the language, a visitor id experiment prices, and the middleware may
set cookies), besides everything the refusal already requires. Anything else — and anything that goes
wrong before the reservation starts — is left to Django with the body unchanged. Once `reserve` has
been called the answer is always given here, so a request is never sold twice.

It sits inside the request slots (microstage/admission.py): a slot is one sale in flight, and a
process never has more sales in flight than it has threads for them.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.db import connection
from django.http import HttpResponse
from django.utils import translation
from rest_framework.exceptions import APIException
from rest_framework.status import HTTP_201_CREATED

from commerce import selectors, services
from microstage.api.authentication import TokenAuthentication
from microstage.api.errors import exception_handler

from . import serializers as s
from .refusal_asgi import Asked, SoldOutFastPath

log = logging.getLogger(__name__)
NOT_LET_IN = object()  # the token was not accepted: Django answers 401
_pool: ThreadPoolExecutor | None = None  # made on first use, with the process's settings


def sale_threads() -> int:
    """One per request slot (unlimited slots: one per pooled database connection)."""
    return max(1, settings.REQUEST_SLOTS or settings.DB_POOL_MAX or 20)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=sale_threads(), thread_name_prefix="sale")
    return _pool


def sell(site, view, asked: Asked):
    """OrderListView.post for `asked`, rendered: the HttpResponse, or NOT_LET_IN before anything happened.
    Never raises once the reservation has been asked for."""
    request = asked.request
    try:
        with translation.override(asked.language):
            try:
                authenticated = TokenAuthentication().authenticate(request)
            except APIException:  # a bad or revoked token
                return NOT_LET_IN
            if authenticated is None:
                return NOT_LET_IN
            try:
                order = services.reserve(requests=asked.requests, buyer=authenticated[0],
                                         email=asked.data.get("email") or "", variant_prices={})
                data, status = s.OrderSerializer(selectors.with_lines(order)).data, HTTP_201_CREATED
            except Exception as exc:
                handled = exception_handler(exc, {})
                if handled is None:
                    raise
                data, status = handled.data, handled.status_code
            return view.rendered(asked, data, status)
    except Exception as exc:  # a bug, before or after the write: Django's 500, logged as Django logs it
        try:
            with translation.override(asked.language):
                return site.finish(request, response_for_exception(request, exc), asked.language)
        except Exception:  # never a sale twice: the answer is given here whatever happened
            log.exception("order answered with a bare server error")
            return HttpResponse(status=500)
    finally:
        connection.close()  # back to the pool


class SaleFastPath(SoldOutFastPath):
    async def answer(self, scope, body: bytes) -> HttpResponse | None:
        """Django's answer to this order request — a sale or a refusal — or None to let Django answer."""
        data = self.parsed(body)
        if data is None:
            return None
        asked = await self.asked(scope, body, data, {})
        if asked is None:
            return None
        refused = await self.refusal(asked)
        if refused is not None or asked.request.COOKIES:
            return refused  # with cookies, Django sells
        response = await sync_to_async(sell, thread_sensitive=False, executor=_executor())(self.site, self, asked)
        return None if response is NOT_LET_IN else response
