"""Fulfilment pages: the team's /dashboard/fulfilment/ (batches, packing list CSV, mark shipped, costs,
pickup windows and the pickup scan) and the buyer's address / pickup choice from the order page.
Thin: forms parse, fulfilment/services.py decides."""
from datetime import timezone as dt_timezone

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from microstage.errors import NotFound, ServiceError
from microstage import csvfile
from microstage.models import DOOR_ROLES, EDIT_ROLES
from microstage.views import team_page

from . import services as fulfilment
from .models import FulfilmentCost

class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=fulfilment.MAX_CARRIER)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=fulfilment.MAX_TRACKING, required=False)


class CostForm(forms.Form):
    order = forms.CharField(label=_("Order"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=FulfilmentCost.Kind.choices)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_value=fulfilment.MAX_COST, max_digits=10,
                                decimal_places=2)


class PostageForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_value=fulfilment.MAX_COST, max_digits=10,
                                decimal_places=2)


def _aware(value):
    return timezone.make_aware(value, dt_timezone.utc) if value and timezone.is_naive(value) else value


class WindowForm(forms.Form):
    place = forms.CharField(label=_("Place"), max_length=fulfilment.MAX_PLACE)
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    help_text=_("UTC"))
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                  help_text=_("UTC"))


class AssignForm(forms.Form):
    order = forms.CharField(label=_("Order"), max_length=40)
    window = forms.CharField(label=_("Pickup window"), max_length=40)


class ScanForm(forms.Form):
    payload = forms.CharField(max_length=2000, label=_("Pickup code"),
                              help_text=_("Scan the buyer's pickup QR or paste its text."))


def _back(anchor=""):
    return redirect(reverse("dash-fulfilment") + anchor)


def _errors(request, form) -> None:
    for errs in form.errors.values():
        for e in errs:
            messages.error(request, e)


@team_page(roles=DOOR_ROLES)
def fulfilment_page(request):
    editor = request.role in EDIT_ROLES
    context = {"creator": request.creator, "editor": editor, "scan_form": ScanForm(),
               "scan": request.session.pop("fulfilment_scan", None)}
    if editor:
        batches = []
        for batch in fulfilment.batches_for(request.creator)[:50]:
            batch.rows = list(fulfilment.packing_rows(batch))
            batches.append(batch)
        context.update(batches=batches, singles=list(fulfilment.unbatched_shipments(request.creator)[:100]),
                       costs=fulfilment.costs_for(request.creator),
                       windows=fulfilment.windows_with_pickups(request.creator),
                       ship_form=ShipForm(), cost_form=CostForm(), postage_form=PostageForm(),
                       window_form=WindowForm(), assign_form=AssignForm())
    return render(request, "commerce/fulfilment.html", context)


@team_page(roles=EDIT_ROLES)
def packing_list_csv(request, batch_id):
    try:
        batch = fulfilment.team_batch(request.user, batch_id)
    except ServiceError:
        raise Http404("No such shipping batch.") from None
    if batch.creator_id != request.creator.pk:
        raise Http404("No such shipping batch.")

    def rows():
        yield [pgettext("CSV column", "order"), pgettext("CSV column", "buyer"), pgettext("CSV column", "items"),
               pgettext("CSV column", "address"), pgettext("CSV column", "carrier"),
               pgettext("CSV column", "tracking number")]
        for r in fulfilment.packing_rows(batch):
            yield [r.order_id, r.buyer, r.items, r.address, r.carrier, r.tracking_number]

    return csvfile.response(request, rows(), csvfile.filename("packing-list", batch.pk, stamp=False))


def _post(request, form_class, action, done):
    """Validate, run the service (ServiceError -> message), flash, back to the page. Never a 500."""
    form = form_class(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _back()
    try:
        result = action(form.cleaned_data)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done(result))
    return _back()


@team_page(roles=EDIT_ROLES)
@require_POST
def batch_ship(request, batch_id):
    def done(r):
        text = ngettext("%(count)d parcel marked shipped.", "%(count)d parcels marked shipped.",
                        r.shipped) % {"count": r.shipped}
        if r.without_address:
            text += " " + ngettext("%(count)d still without an address.", "%(count)d still without an address.",
                                   r.without_address) % {"count": r.without_address}
        return text
    return _post(request, ShipForm, lambda d: fulfilment.mark_batch_shipped(
        actor=request.user, batch_id=batch_id, carrier=d["carrier"], tracking_number=d["tracking_number"]), done)


@team_page(roles=EDIT_ROLES)
@require_POST
def shipment_ship(request, shipment_id):
    return _post(request, ShipForm, lambda d: fulfilment.mark_shipped(
        actor=request.user, shipment_id=shipment_id, carrier=d["carrier"], tracking_number=d["tracking_number"]),
        lambda s: gettext("Order %(order)s marked shipped; the buyer was emailed.") % {"order": s.order_id})


@team_page(roles=EDIT_ROLES)
@require_POST
def batch_postage(request, batch_id):
    return _post(request, PostageForm, lambda d: fulfilment.split_batch_postage(
        actor=request.user, batch_id=batch_id, amount=d["amount"]),
        lambda rows: ngettext("Postage split across %(count)d order.", "Postage split across %(count)d orders.",
                              len(rows)) % {"count": len(rows)})


@team_page(roles=EDIT_ROLES)
@require_POST
def cost_add(request):
    return _post(request, CostForm, lambda d: fulfilment.record_cost(
        actor=request.user, order_id=d["order"].strip(), kind=d["kind"], amount=d["amount"]),
        lambda c: gettext("Recorded %(cost)s.") % {"cost": f"{c.get_kind_display()} {c.amount} {c.currency}"})


@team_page(roles=EDIT_ROLES)
@require_POST
def window_add(request):
    return _post(request, WindowForm, lambda d: fulfilment.create_pickup_window(
        actor=request.user, creator_id=request.creator.pk, place=d["place"], starts_at=_aware(d["starts_at"]),
        ends_at=_aware(d["ends_at"])), lambda w: gettext("Pickup window at %(place)s added.") % {"place": w.place})


@team_page(roles=EDIT_ROLES)
@require_POST
def window_assign(request):
    return _post(request, AssignForm, lambda d: fulfilment.assign_pickup(
        actor=request.user, order_id=d["order"].strip(), window_id=d["window"].strip()),
        lambda p: gettext("Order %(order)s will be collected at %(place)s.") % {"order": p.order_id,
                                                                                 "place": p.window.place})


@team_page(roles=DOOR_ROLES)
@require_POST
def pickup_confirm(request):
    form = ScanForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _back("#scan")
    try:
        result = fulfilment.confirm_pickup(actor=request.user, creator_id=request.creator.pk,
                                           payload=form.cleaned_data["payload"])
    except NotFound:
        messages.error(request, _("No pickup for this code here: wrong creator, or the order has none."))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        when = timezone.localtime(result.pickup.picked_up_at).strftime("%H:%M")
        if result.already:
            messages.warning(request, gettext("Already collected at %(time)s (order %(order)s).")
                             % {"time": when, "order": result.pickup.order_id})
        else:
            messages.success(request, gettext("Hand over order %(order)s — collected at %(time)s.")
                             % {"order": result.pickup.order_id, "time": when})
        request.session["fulfilment_scan"] = {"order": result.pickup.order_id, "already": result.already,
                                              "when": when}
    return _back("#scan")


# --- the buyer, from the order page --------------------------------------------------------------

class AddressForm(forms.Form):
    address = forms.CharField(label=_("Address"), max_length=fulfilment.MAX_ADDRESS,
                              widget=forms.Textarea(attrs={"rows": 4}))


class ChooseWindowForm(forms.Form):
    window = forms.CharField(label=_("Pickup window"), max_length=40)


def _buyer_post(request, order_id, form_class, action, done):
    form = form_class(request.POST)
    if form.is_valid():
        try:
            result = action(form.cleaned_data)
        except NotFound:
            raise Http404("No such order.") from None
        except ServiceError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, done(result))
    else:
        _errors(request, form)
    return redirect(reverse("order", args=[order_id]) + "#delivery")


@login_required
@require_POST
def order_address(request, order_id):
    return _buyer_post(request, order_id, AddressForm, lambda d: fulfilment.set_shipping_address(
        user=request.user, order_id=order_id, address=d["address"]), lambda s: gettext("Shipping address saved."))


@login_required
@require_POST
def order_pickup(request, order_id):
    return _buyer_post(request, order_id, ChooseWindowForm, lambda d: fulfilment.choose_pickup(
        user=request.user, order_id=order_id, window_id=d["window"]),
        lambda p: gettext("You'll collect it at %(place)s. Show the pickup code there.") % {"place": p.window.place})


urlpatterns = [
    path("dashboard/fulfilment/", fulfilment_page, name="dash-fulfilment"),
    path("dashboard/fulfilment/batches/<id:batch_id>/packing-list.csv", packing_list_csv,
         name="dash-fulfilment-packing-list"),
    path("dashboard/fulfilment/batches/<id:batch_id>/ship/", batch_ship, name="dash-fulfilment-batch-ship"),
    path("dashboard/fulfilment/batches/<id:batch_id>/postage/", batch_postage, name="dash-fulfilment-postage"),
    path("dashboard/fulfilment/shipments/<id:shipment_id>/ship/", shipment_ship, name="dash-fulfilment-ship"),
    path("dashboard/fulfilment/costs/", cost_add, name="dash-fulfilment-cost"),
    path("dashboard/fulfilment/windows/", window_add, name="dash-fulfilment-window"),
    path("dashboard/fulfilment/windows/assign/", window_assign, name="dash-fulfilment-assign"),
    path("dashboard/fulfilment/pickups/confirm/", pickup_confirm, name="dash-fulfilment-pickup"),
    path("orders/<id:order_id>/address/", order_address, name="order-address"),
    path("orders/<id:order_id>/pickup/", order_pickup, name="order-pickup"),
]
