"""The pop-up POS page and its small JSON endpoints (thin: they call stock/services.py).

Session auth + CSRF, like the door scanner. Owners, managers and door staff may run the till (door
staff work the merch table at the show); only owners and managers change stock or resolve conflicts.
"""
from functools import wraps

import segno
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.utils.translation import gettext as _

from microstage import safejson
from microstage.errors import Forbidden, Invalid, NotFound, ServiceError

from . import services as stock
from .models import PosSale


def _error(exc: ServiceError) -> JsonResponse:
    body = {"code": exc.code, "detail": exc.detail}
    if isinstance(exc, Invalid) and exc.fields:
        body["fields"] = exc.fields
    return JsonResponse(body, status=exc.status)


def pos_json(view):
    """JSON endpoint for a location's till: 401 when logged out, errors as {"code", "detail"}."""

    @wraps(view)
    @never_cache
    def wrapper(request, location_id, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"code": "not_authenticated", "detail": _("Log in again to keep selling.")},
                                status=401)
        try:
            location = stock.pos_location_for(request.user, location_id)
            return view(request, location, *args, **kwargs)
        except ServiceError as exc:
            return _error(exc)

    return wrapper


def _json_body(request) -> dict:
    if len(request.body or b"") > 512 * 1024:
        raise Invalid(_("The request is too large."))
    try:
        body = safejson.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    return body


def _snapshot(location) -> dict:
    return {"location": {"id": location.pk, "name": location.name, "kind": location.kind},
            "items": stock.catalogue(location),
            "conflicts": [stock.sale_json(s) for s in stock.conflicts(location.creator_id, location)]}


def _qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=6, dark="#111", light="#fff") if url else ""


@login_required
@never_cache
def pos_page(request, location_id):
    try:
        location = stock.pos_location_for(request.user, location_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except Forbidden as exc:
        return render(request, "commerce/pos_forbidden.html", {"detail": exc.detail}, status=403)
    return render(request, "commerce/pos.html", {"location": location, "snapshot": _snapshot(location)})


@require_GET
@pos_json
def catalogue(request, location):
    """Items, prices and on-hand here, plus the conflicts to show — stored on the phone for offline use."""
    return JsonResponse(_snapshot(location))


@require_POST
@pos_json
def sync(request, location):
    """{sales: [{client_id, items: [{variant, quantity, unit_price}], sold_at, device?}]} → one answer each."""
    body = _json_body(request)
    device = body.get("device") if isinstance(body.get("device"), str) else ""
    results = stock.sync_sales(location=location, sales=body.get("sales"), actor=request.user, device=device)
    return JsonResponse({"results": results, **_snapshot(location)})


@require_POST
@pos_json
def qr_sale(request, location):
    """{client_id, items} → the sale and a QR of the payment link for the buyer's phone (online only)."""
    body = _json_body(request)
    device = body.get("device") if isinstance(body.get("device"), str) else ""
    sale, url = stock.start_qr_sale(location=location, client_id=body.get("client_id"), items=body.get("items"),
                                    device=device, actor=request.user)
    return JsonResponse({"sale": stock.sale_json(sale), "pay_url": url, "qr_svg": _qr_svg(url)},
                        status=201 if sale.status == PosSale.Status.PENDING_PAYMENT else 200)


@require_GET
@pos_json
def sale_status(request, location, sale_id):
    sale = PosSale.objects.filter(pk=sale_id, location=location).first()
    if sale is None:
        raise NotFound(_("No such sale."))
    return JsonResponse({"sale": stock.sale_json(stock.refresh_qr_sale(sale.pk))})


@require_POST
@pos_json
def sale_cancel(request, location, sale_id):
    """The buyer walked away before paying by QR: the units go back on the table."""
    sale = PosSale.objects.filter(pk=sale_id, location=location).first()
    if sale is None:
        raise NotFound(_("No such sale."))
    return JsonResponse({"sale": stock.sale_json(stock.cancel_unpaid_qr(sale.pk, actor=request.user))})
