"""Order pages for buyers: the order (hold countdown, pay, cancel), orders list and receipts.

Commerce knows nothing of what it sells, so what a paid line delivers (tickets with QR codes…) is
drawn by the selling app: the `order_section` its sellable kind registered (commerce/sellables.py).
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST
from django.utils.translation import gettext as _

from microstage.errors import NotFound, ServiceError

from . import gate, receipts, selectors, sellables, services
from .models import Order

def _order_or_404(request, order_id) -> tuple[Order, bool]:
    try:
        return selectors.order_for(order_id, request.user)
    except NotFound:
        raise Http404("No such order.")


def sections_for(request, order, lines) -> list:
    """The blocks the selling apps draw for an order's lines (the cart's guest order page uses it too)."""
    out = []
    for kind in dict.fromkeys(line.kind for line in lines):
        render_section = sellables.order_section(kind)
        if render_section:
            html = render_section(request, order, [ln for ln in lines if ln.kind == kind])
            if html:
                out.append(mark_safe(html))  # noqa: S308 - rendered by a Django template of the selling app
    return out


@never_cache
@login_required
def order_detail(request, order_id):
    order, is_team = _order_or_404(request, order_id)
    lines = list(order.lines.all())
    now = timezone.now()
    is_buyer = order.buyer_id == request.user.pk
    lapsed = order.status in Order.OPEN and order.expires_at <= now
    return render(request, "commerce/order.html", {
        "order": order, "lines": lines, "is_team": is_team, "is_buyer": is_buyer,
        "is_open": order.status in Order.OPEN and not lapsed, "lapsed": lapsed,
        "seconds_left": max(0, int((order.expires_at - now).total_seconds())),
        "confirming": order.status == Order.Status.AWAITING_PAYMENT and request.GET.get("paid") == "1",
        "has_receipt": receipts.is_receipted(order), "sections": sections_for(request, order, lines),
        "held": order.status == Order.Status.PAID and gate.is_held(order)})


def _buyer_order_or_404(request, order_id) -> Order:
    order, _ = _order_or_404(request, order_id)
    if order.buyer_id != request.user.pk:  # the creator's team may look, only the buyer pays or cancels
        raise Http404("No such order.")
    return order


@login_required
@require_POST
def order_pay(request, order_id):
    order = _buyer_order_or_404(request, order_id)
    page = request.build_absolute_uri(order.get_absolute_url())
    try:
        result = services.checkout(order.pk, success_url=f"{page}?paid=1", cancel_url=page,
                                   ip=gate.client_ip(request))
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect(order.get_absolute_url())
    if result.order.status in Order.SETTLED:
        if result.order.total == 0:
            messages.success(request, _("Done — your free tickets are ready."))
        return redirect(order.get_absolute_url())
    if not result.checkout_url:
        messages.error(request, _("The payment page could not be opened. Nothing was charged; please try again."))
        return redirect(order.get_absolute_url())
    return redirect(result.checkout_url)


@login_required
@require_POST
def order_cancel(request, order_id):
    order = _buyer_order_or_404(request, order_id)
    try:
        services.cancel(order.pk, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Order cancelled. The tickets are free for someone else."))
    return redirect(order.get_absolute_url())


@login_required
def orders_list(request):
    page = Paginator(selectors.orders_of(request.user), 20).get_page(request.GET.get("page"))
    from .credit import balances_of

    return render(request, "commerce/orders.html", {"page_obj": page, "orders": page.object_list, "query": "",
                                                    "credit_balances": balances_of(request.user)})


def _receipted_or_404(request, order_id) -> Order:
    order, _ = _order_or_404(request, order_id)
    if not receipts.is_receipted(order):
        raise Http404("This order has no receipt yet.")
    return order


@never_cache
@login_required
def receipt_page(request, order_id):
    order = _receipted_or_404(request, order_id)
    return render(request, "commerce/receipt.html", {
        "order": order, "lines": list(order.lines.all()), "key_path": receipts.KEY_PATH})


@never_cache
@login_required
def receipt_json(request, order_id):
    order = _receipted_or_404(request, order_id)
    response = JsonResponse(receipts.signed_receipt(order), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'inline; filename="receipt-{order.pk}.json"'
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def signing_key(request):
    """The platform's public Ed25519 key: anyone may fetch it to verify receipts and tickets."""
    response = JsonResponse(receipts.signing_key_document())
    response["Access-Control-Allow-Origin"] = "*"
    return response
