"""Creator dashboard pages for stock across places (mounted under /dashboard/products/stock/): locations,
receiving, transfers, overrides with a TTL, the movement ledger and pop-up conflicts to resolve.
Thin: forms parse, stock/services.py decides. Owners and managers only."""
import uuid

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from microstage.errors import NotFound, ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors, team_page

from catalog.models import ProductVariant

from . import services as stock
from .models import PosSale, StockLocation

TTL_CHOICES = [(900, _("15 minutes")), (3600, _("1 hour")), (4 * 3600, _("4 hours")), (12 * 3600, _("12 hours")),
               (24 * 3600, _("1 day")), (3 * 24 * 3600, _("3 days"))]


class LocationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("e.g. “Merch table, Paradiso”."))
    kind = forms.ChoiceField(label=_("Kind"), choices=StockLocation.Kind.choices, initial=StockLocation.Kind.POPUP)
    event_id = forms.CharField(max_length=40, required=False, label=_("Event id"),
                               help_text=_("Optional: the show this pop-up belongs to (evt_…)."))


def _variant_field(creator):
    choices = [(v.pk, str(v)) for v in ProductVariant.objects.select_related("product")
               .filter(product__creator=creator, product__kind="physical").order_by("product__name", "position")]
    return forms.ChoiceField(choices=choices, label=_("Item"))


class ReceiveForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=stock.MAX_UNITS)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    key = forms.CharField(max_length=40, widget=forms.HiddenInput)

    def __init__(self, creator, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"variant": _variant_field(creator), **self.fields}


class TransferForm(ReceiveForm):
    def __init__(self, creator, location, *args, **kwargs):
        super().__init__(creator, *args, **kwargs)
        self.fields["target"] = forms.ChoiceField(label=pgettext_lazy("transfer target", "To"), choices=[
            (loc.pk, loc.name) for loc in stock.locations_of(creator.pk).exclude(pk=location.pk)])


class OverrideForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=stock.MAX_UNITS, label=_("Counted units"))
    ttl = forms.TypedChoiceField(choices=TTL_CHOICES, coerce=int, initial=3600, label=_("Holds for"))

    def __init__(self, creator, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"variant": _variant_field(creator), **self.fields}


def _location(request, location_id) -> StockLocation:
    try:
        return stock.location_for(request.user, location_id)
    except (NotFound, ServiceError) as exc:
        raise Http404("No such stock location.") from exc


def _token() -> dict:
    return {"key": uuid.uuid4().hex}


@team_page(roles=EDIT_ROLES)
def location_list(request):
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = stock.create_location(creator=request.creator, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, gettext("“%(name)s” added.") % {"name": location.name})
            return redirect("dash-stock-location", location.pk)
    locations = list(stock.locations_of(request.creator.pk))
    for loc in locations:
        loc.units = sum(max(0, n) for n in stock.on_hand(loc).values())
    return render(request, "commerce/stock_list.html", {
        "creator": request.creator, "locations": locations, "form": form,
        "conflicts": stock.conflicts(request.creator.pk), "owed": stock.owed_sales(request.creator.pk)[:50],
    }, status=400 if form.errors else 200)


def _location_page(request, location, *, receive=None, transfer=None, override=None, status=200):
    creator = request.creator
    counts, ledger = stock.on_hand(location), stock.ledger_on_hand(location)
    overrides = stock.active_overrides(location)
    variants = (ProductVariant.objects.select_related("product").filter(product__creator=creator)
                .order_by("product__name", "position"))
    rows = [{"variant": v, "on_hand": counts.get(v.pk, 0), "ledger": ledger.get(v.pk, 0),
             "override": overrides.get(v.pk)} for v in variants
            if v.pk in counts or v.pk in ledger or v.pk in overrides]
    others = stock.locations_of(creator.pk).exclude(pk=location.pk)
    return render(request, "commerce/stock_location.html", {
        "location": location, "rows": rows, "movements": stock.recent_movements(location),
        "sales": stock.sales_of(location), "conflicts": stock.conflicts(creator.pk, location), "others": others,
        "receive_form": receive or ReceiveForm(creator, initial=_token()),
        "transfer_form": transfer or TransferForm(creator, location, initial=_token()),
        "override_form": override or OverrideForm(creator),
    }, status=status)


@team_page(roles=EDIT_ROLES)
def location_detail(request, location_id):
    return _location_page(request, _location(request, location_id))


@require_POST
@team_page(roles=EDIT_ROLES)
def location_receive(request, location_id):
    location = _location(request, location_id)
    form = ReceiveForm(request.creator, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            stock.receive(location=location, variant=data["variant"], quantity=data["quantity"], key=data["key"],
                          note=data["note"], actor=request.user)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, gettext("Received %(count)d at %(place)s.")
                             % {"count": data["quantity"], "place": location.name})
            return redirect("dash-stock-location", location.pk)
    return _location_page(request, location, receive=form, status=400)


@require_POST
@team_page(roles=EDIT_ROLES)
def location_transfer(request, location_id):
    location = _location(request, location_id)
    form = TransferForm(request.creator, location, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            target = stock.location_for(request.user, data["target"])
            stock.transfer(source=location, target=target, variant=data["variant"], quantity=data["quantity"],
                           key=data["key"], note=data["note"], actor=request.user)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, gettext("Moved %(count)d to %(place)s.")
                             % {"count": data["quantity"], "place": target.name})
            return redirect("dash-stock-location", location.pk)
    return _location_page(request, location, transfer=form, status=400)


@require_POST
@team_page(roles=EDIT_ROLES)
def location_override(request, location_id):
    location = _location(request, location_id)
    if request.POST.get("clear"):
        try:
            stock.clear_override(location=location, variant=request.POST.get("clear"), actor=request.user)
        except ServiceError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, _("Override ended: the ledger's count is back."))
        return redirect("dash-stock-location", location.pk)
    form = OverrideForm(request.creator, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            stock.set_override(location=location, variant=data["variant"], quantity=data["quantity"],
                               ttl=data["ttl"], actor=request.user)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Override set."))
            return redirect("dash-stock-location", location.pk)
    return _location_page(request, location, override=form, status=400)


@require_POST
@team_page(roles=EDIT_ROLES)
def sale_resolve(request, sale_id):
    sale = PosSale.objects.select_related("location").filter(pk=sale_id,
                                                             location__creator=request.creator).first()
    if sale is None:
        raise Http404("No such sale.")
    try:
        sale = stock.resolve_conflict(sale_id=sale.pk, action=request.POST.get("action", ""),
                                      source_id=request.POST.get("source") or None, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return _location_page(request, sale.location, status=exc.status if exc.status < 500 else 400)
    messages.success(request, sale.resolution or "Resolved.")
    back = request.POST.get("next", "")
    if back == "list":
        return redirect("dash-stock")
    return redirect(reverse("dash-stock-location", args=[sale.location_id]) + "#conflicts")
