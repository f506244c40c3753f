"""The door's box office page: sell walk-up tickets (cash, or a QR for the buyer's phone) and admit them.

Server-rendered forms (thin: they call events.boxoffice); the door team (owner, manager, door) only."""
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from microstage.errors import Forbidden, NotFound, ServiceError
from microstage.models import DOOR_ROLES

from . import boxoffice
from .models import Event
from .permissions import door_only, require_event_role
from .selectors import tier_availability


def _event(request, event_id):
    event = Event.objects.select_related("creator").filter(pk=event_id).first()
    if event is None:
        raise Http404("No such event.")
    try:
        require_event_role(request.user, event, DOOR_ROLES, forbidden=door_only())
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    return event


def _forbidden(request, exc):
    return render(request, "events/checkin/forbidden.html", {"detail": exc.detail}, status=403)


@login_required
@never_cache
def walkup_page(request, event_id):
    try:
        event = _event(request, event_id)
    except Forbidden as exc:
        return _forbidden(request, exc)
    form = {"tier": "", "quantity": "1", "payment": boxoffice.CASH, "email": "", "code": ""}
    detail, errors, status = "", {}, 200
    if request.method == "POST":
        form.update({k: request.POST.get(k, "").strip()[:254] for k in form})
        try:
            sale = boxoffice.sell(event=event, actor=request.user, tier_id=form["tier"], quantity=form["quantity"],
                                  payment=form["payment"], email=form["email"], code=form["code"])
        except ServiceError as exc:
            detail, errors = exc.detail, getattr(exc, "fields", None) or {}
            status = exc.status if exc.status < 500 else 400
        else:
            if sale.admitted:
                messages.success(
                    request,
                    ngettext(
                        "Paid in cash · %(count)s admitted.", "Paid in cash · %(count)s admitted.", len(sale.tickets)
                    )
                    % {"count": len(sale.tickets)},
                )
            return redirect("door-walkup-sale", event.pk, sale.order.pk)
    tiers = boxoffice.door_tiers(event)
    left = tier_availability(tiers)
    return render(request, "events/checkin/walkup.html", {
        "event": event, "tiers": [(t, left.get(t.pk, 0)) for t in tiers], "form": form, "detail": detail,
        "errors": [m for msgs in errors.values() for m in msgs]},
        status=status)


@login_required
@never_cache
def walkup_sale(request, event_id, order_id):
    """A walk-up sale: admitted, or the QR to pay on the buyer's phone until it is paid (then admitted)."""
    try:
        event = _event(request, event_id)
        sale = boxoffice.refresh(event=event, actor=request.user, order_id=order_id)
    except Forbidden as exc:
        return _forbidden(request, exc)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    pay_url = ""
    if not sale.admitted and sale.order.status in sale.order.OPEN:
        from commerce.services import checkout  # the same hosted checkout link again (idempotent)

        try:
            pay_url = checkout(sale.order.pk).checkout_url
        except ServiceError as exc:
            messages.error(request, exc.detail)
        if pay_url.startswith("/"):
            pay_url = request.build_absolute_uri(pay_url)
    qr_svg = segno.make(pay_url, error="m").svg_inline(scale=5, dark="#111", light="#fff") if pay_url else ""
    return render(request, "events/checkin/walkup_sale.html", {
        "event": event, "sale": sale, "pay_url": pay_url, "qr_svg": qr_svg})


@require_POST
@login_required
def walkup_cancel(request, event_id, order_id):
    try:
        event = _event(request, event_id)
        boxoffice.cancel(event=event, actor=request.user, order_id=order_id)
    except Forbidden as exc:
        return _forbidden(request, exc)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect("door-walkup-sale", event_id, order_id)
    messages.success(request, _("Sale cancelled; the tickets are back on sale."))
    return redirect("door-walkup", event.pk)


# --- the pop-up till: tickets to the creator's upcoming shows, not admitted (the buyer is not at the door) ---

def _location(request, location_id):
    from stock.services import pos_location_for

    try:
        return pos_location_for(request.user, location_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


@login_required
@never_cache
def till_page(request, location_id):
    try:
        location = _location(request, location_id)
    except Forbidden as exc:
        return _forbidden(request, exc)
    form = {"tier": "", "quantity": "1", "payment": boxoffice.CASH, "email": "", "code": ""}
    detail, errors, status = "", {}, 200
    if request.method == "POST":
        form.update({k: request.POST.get(k, "").strip()[:254] for k in form})
        event = boxoffice.event_of_tier(location.creator_id, form["tier"])
        try:
            if event is None:
                raise NotFound(_("Choose a ticket to one of your shows."))
            sale = boxoffice.sell(event=event, actor=request.user, tier_id=form["tier"], quantity=form["quantity"],
                                  payment=form["payment"], email=form["email"], code=form["code"], admit=False)
        except ServiceError as exc:
            detail, errors = exc.detail, getattr(exc, "fields", None) or {}
            status = 400 if exc.status in (404, 500) else exc.status
        else:
            if sale.tickets:
                messages.success(request, ngettext("Paid in cash · %(count)s ticket issued.",
                                                   "Paid in cash · %(count)s tickets issued.", len(sale.tickets))
                                 % {"count": len(sale.tickets)})
            return redirect("till-ticket-sale", location.pk, sale.order.pk)
    tiers = boxoffice.till_tiers(location.creator_id)
    left = tier_availability(tiers)
    return render(request, "events/checkin/walkup.html", {
        "till": location, "tiers": [(t, left.get(t.pk, 0)) for t in tiers], "form": form, "detail": detail,
        "errors": [m for msgs in errors.values() for m in msgs]}, status=status)


@login_required
@never_cache
def till_sale(request, location_id, order_id):
    from commerce.models import Order

    try:
        location = _location(request, location_id)
    except Forbidden as exc:
        return _forbidden(request, exc)
    order = Order.objects.filter(pk=order_id, creator_id=location.creator_id, lines__kind="ticket").first()
    event = boxoffice.event_of_tier(location.creator_id, order.lines.first().item_id) if order else None
    if event is None:
        raise Http404("No such sale.")
    sale = boxoffice.refresh(event=event, actor=request.user, order_id=order.pk, admit=False)
    pay_url = ""
    if not sale.tickets and sale.order.status in sale.order.OPEN:
        from commerce.services import checkout

        try:
            pay_url = checkout(sale.order.pk).checkout_url
        except ServiceError as exc:
            messages.error(request, exc.detail)
        if pay_url.startswith("/"):
            pay_url = request.build_absolute_uri(pay_url)
    qr_svg = segno.make(pay_url, error="m").svg_inline(scale=5, dark="#111", light="#fff") if pay_url else ""
    return render(request, "events/checkin/walkup_sale.html", {
        "till": location, "event": event, "sale": sale, "pay_url": pay_url, "qr_svg": qr_svg})
