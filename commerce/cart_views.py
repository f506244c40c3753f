"""Cart pages: add from any sellable page, review, check out as one order, pay once; guests pay with an
email and get their order page (with the tickets) in this browser, then an account if they like.
Thin: commerce/cart.py decides."""
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from microstage.errors import NotFound, ServiceError

from . import cart, gate, receipts, services
from .models import Order
from .views import sections_for


def _int(value):
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 6 else None


def _back(request) -> str:
    nxt = request.POST.get("next") or ""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else reverse("cart")


@require_POST
def cart_add(request):
    """Add one item ({kind, item, quantity}) or several of a kind ({kind, qty_<item>: n, …}), e.g. the
    ticket picker's choices or the shop's variant and quantity."""
    kind = (request.POST.get("kind") or "").strip()
    wanted = []
    if request.POST.get("item") or request.POST.get("variant"):
        item = (request.POST.get("item") or request.POST.get("variant") or "").strip()
        wanted.append((item, _int(request.POST.get("quantity") or "1")))
    else:
        for key, value in request.POST.items():
            if key.startswith("qty_") and (value or "0").strip() not in ("", "0"):
                wanted.append((key[4:], _int(value)))
    if not wanted:
        messages.error(request, _("Choose at least one item. Nothing was added."))
        return redirect(_back(request))
    if any(q is None for _, q in wanted):
        messages.error(request, _("Choose a quantity from the list. Nothing was added."))
        return redirect(_back(request))
    added = []
    for item_id, quantity in wanted:
        try:
            added.append(cart.add(request.session, kind=kind, item_id=item_id, quantity=quantity, buyer=request.user))
        except ServiceError as exc:
            messages.error(request, _("%(problem)s It was not added to your cart.") % {"problem": exc.detail})
            return redirect(_back(request))
    names = ", ".join(f"{a.quantity} × {a.description}" for a in added)
    messages.success(request, _("In your cart: %(items)s.") % {"items": names})
    return redirect("cart")


@never_cache
def cart_page(request):
    lines, total, currency = cart.lines(request.session, buyer=request.user)
    credit_balance = None
    if lines and request.user.is_authenticated:
        from . import credit

        creator = cart.creator_of(request.session)
        credit_balance = credit.balance(request.user, creator, currency) if currency else None
    code = cart.code_of(request.session)
    return render(request, "commerce/cart.html", {
        "lines": lines, "total": total, "currency": currency, "has_problem": any(ln.problem for ln in lines),
        "credit_balance": credit_balance, "quantities": range(0, 11), "email": request.POST.get("email", ""),
        "code": code, "code_problem": cart.code_problem(request.session, request.user) if code and lines else ""})


@require_POST
def cart_code(request):
    """Apply a promo or partner code to the cart ({code}), or take it off ({remove})."""
    if request.POST.get("remove"):
        cart.remove_code(request.session)
        messages.success(request, _("The code was removed from your cart."))
        return redirect("cart")
    try:
        code = cart.apply_code(request.session, request.POST.get("code"), buyer=request.user)
    except ServiceError as exc:
        messages.error(request, _("%(reason)s The code was not applied.") % {"reason": exc.detail})
    else:
        messages.success(request, _("Code %(code)s applied.") % {"code": code})
    return redirect("cart")


@require_POST
def cart_update(request):
    index, quantity = _int(request.POST.get("line")), _int(request.POST.get("quantity"))
    try:
        if index is None or quantity is None:
            raise NotFound(_("Choose a quantity from the list."))
        cart.set_quantity(request.session, index, quantity)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect("cart")


@require_POST
def cart_checkout(request):
    """Reserve the whole cart as one order, then go straight to payment (one payment for everything)."""
    email = (request.POST.get("email") or "").strip()
    try:
        order = cart.checkout(request.session, buyer=request.user, email=email)
    except ServiceError as exc:
        fields = getattr(exc, "fields", {}) or {}
        detail = fields.get("email", [exc.detail])[0] if "email" in fields else exc.detail
        if exc.code == "sold_out":
            detail = _("Something in your cart just sold out, so nothing was reserved. "
                       "Lower the quantity and try again.")
        messages.error(request, detail)
        return redirect("cart")
    return _pay(request, order)


def _page_for(request, order: Order) -> str:
    if request.user.is_authenticated and order.buyer_id == request.user.pk:
        return order.get_absolute_url()
    return reverse("cart-order", args=[order.pk])


def _pay(request, order: Order):
    page = request.build_absolute_uri(_page_for(request, order))
    try:
        result = services.checkout(order.pk, success_url=f"{page}?paid=1", cancel_url=page,
                                   ip=gate.client_ip(request))
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect(_page_for(request, order))
    if result.order.status in Order.SETTLED or not result.checkout_url:
        return redirect(_page_for(request, order))
    return redirect(result.checkout_url)


def _guest_order(request, order_id) -> Order:
    try:
        return cart.order_for_session(request.session, request.user, order_id)
    except NotFound:
        raise Http404("No such order.")


@never_cache
def guest_order(request, order_id):
    order = _guest_order(request, order_id)
    lines = list(order.lines.all())
    now = timezone.now()
    lapsed = order.status in Order.OPEN and order.expires_at <= now
    return render(request, "commerce/guest_order.html", {
        "order": order, "lines": lines, "is_open": order.status in Order.OPEN and not lapsed, "lapsed": lapsed,
        "seconds_left": max(0, int((order.expires_at - now).total_seconds())),
        "confirming": order.status == Order.Status.AWAITING_PAYMENT and request.GET.get("paid") == "1",
        "has_receipt": receipts.is_receipted(order), "sections": sections_for(request, order, lines),
        "offer_account": (not request.user.is_authenticated and order.buyer_id is None
                          and order.status in Order.SETTLED),
        "account_exists": cart.User.objects.filter(email__iexact=order.email).exists()})


@require_POST
def guest_order_pay(request, order_id):
    return _pay(request, _guest_order(request, order_id))


@require_POST
def guest_order_account(request, order_id):
    order = _guest_order(request, order_id)
    try:
        user = cart.account_for_guest_order(request.session, order.pk, password=request.POST.get("password") or "",
                                            display_name=request.POST.get("display_name") or "")
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("cart-order", order.pk)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("Your account is ready: your tickets, orders and store credit are in it."))
    return redirect(order.get_absolute_url())


urlpatterns = [
    path("cart/", cart_page, name="cart"),
    path("cart/add/", cart_add, name="cart-add"),
    path("cart/update/", cart_update, name="cart-update"),
    path("cart/code/", cart_code, name="cart-code"),
    path("cart/checkout/", cart_checkout, name="cart-checkout"),
    path("cart/orders/<id:order_id>/", guest_order, name="cart-order"),
    path("cart/orders/<id:order_id>/pay/", guest_order_pay, name="cart-order-pay"),
    path("cart/orders/<id:order_id>/account/", guest_order_account, name="cart-order-account"),
]
