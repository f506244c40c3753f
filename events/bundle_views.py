"""Dashboard pages for bundles (mounted under /dashboard/bundles/): the creator's bundles with what is
left of each, a form to make one from tiers, products and credit, and switching one off and on.
Thin: events/bundles.py decides."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.http import require_POST

from catalog.models import ProductVariant
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import team_page

from . import bundles
from .models import Bundle, Event, TicketTier

ROWS = 4


def _item_choices(creator) -> list[tuple[str, str]]:
    now = timezone.now()
    tiers = (TicketTier.objects.filter(event__creator=creator, event__ends_at__gt=now)
             .exclude(event__status=Event.Status.CANCELLED).select_related("event").order_by("event__starts_at"))
    variants = (ProductVariant.objects.filter(product__creator=creator, product__is_active=True)
                .select_related("product").order_by("product__name", "position"))
    choices = [("", "—")]
    choices += [(f"tier:{t.pk}", gettext("Ticket: %(event)s — %(tier)s") % {"event": t.event.title, "tier": t.name})
                for t in tiers]
    choices += [(f"variant:{v.pk}", gettext("Goods: %(product)s") % {"product": v.label})
                for v in variants]
    return choices


class BundleForm(forms.Form):
    name = forms.CharField(max_length=120, help_text=_("e.g. “Front row + tour shirt”."))
    description = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    price = forms.DecimalField(min_value=0, max_value=100000, max_digits=10, decimal_places=2,
                               widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    currency = forms.RegexField(r"^[A-Za-z]{3}$", max_length=3,
                                error_messages={"invalid": _("Use a three-letter currency code like EUR.")})
    credit = forms.DecimalField(
        min_value=0,
        max_value=100000,
        max_digits=10,
        decimal_places=2,
        required=False,
        label=_("Store credit"),
        help_text=_("Added to the buyer's balance with you on payment; spent automatically on their next order."),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    max_per_order = forms.IntegerField(min_value=1, max_value=20, initial=4, label=_("At most per order"))

    def __init__(self, *args, creator, **kwargs):
        super().__init__(*args, **kwargs)
        choices = _item_choices(creator)
        for i in range(ROWS):
            self.fields[f"item_{i}"] = forms.ChoiceField(
                choices=choices, required=(i == 0), label=gettext("Part %(number)s") % {"number": i + 1}
            )
            self.fields[f"qty_{i}"] = forms.IntegerField(min_value=1, max_value=10, initial=1, required=False,
                                                         label=gettext("How many of part %(number)s")
                                                         % {"number": i + 1})

    def rows(self):
        return [(self[f"item_{i}"], self[f"qty_{i}"]) for i in range(ROWS)]

    def items(self) -> list[dict]:
        out = []
        for i in range(ROWS):
            value = self.cleaned_data.get(f"item_{i}")
            if value:
                kind, item_id = value.split(":", 1)
                out.append({kind: item_id, "quantity": self.cleaned_data.get(f"qty_{i}") or 1})
        return out


def _add_errors(form, exc: ServiceError) -> None:
    fields = getattr(exc, "fields", {}) or {}
    for name, msgs in fields.items():
        target = name if name in form.fields else None
        if name.startswith("items[") and "]" in name:
            target = f"item_{name[6:name.index(']')]}"
            target = target if target in form.fields else None
        for msg in msgs:
            form.add_error(target, msg)
    if not fields:
        form.add_error(None, exc.detail)


@team_page(roles=EDIT_ROLES)
def bundle_list(request):
    form = BundleForm(request.POST or None, creator=request.creator,
                      initial={"currency": settings.DEFAULT_CURRENCY, "max_per_order": 4})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bundle = bundles.create_bundle(
                creator=request.creator, actor=request.user, name=data["name"], description=data["description"],
                price=data["price"], currency=data["currency"], credit_amount=data["credit"] or "0",
                max_per_order=data["max_per_order"], items=form.items())
        except ServiceError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, gettext("“%(name)s” is on sale on its shows' pages.") % {"name": bundle.name})
            return redirect("dash-bundles")
    rows = list(bundles.bundles_of(request.creator, active_only=False).order_by("-is_active", "name"))
    for b in rows:
        b.available = bundles.available(b)
        b.item_list = bundles.describe_items(b)
    return render(request, "events/dashboard/bundles.html", {"form": form, "bundles": rows,
                                                             "creator": request.creator},
                  status=400 if form.errors else 200)


@team_page(roles=EDIT_ROLES)
@require_POST
def bundle_toggle(request, bundle_id):
    bundle = Bundle.objects.filter(pk=bundle_id, creator=request.creator).first()
    if bundle is None:
        raise Http404("No such bundle.")
    bundle = bundles.set_active(bundle, not bundle.is_active, actor=request.user)
    messages.success(
        request,
        (gettext("“%(name)s” is on sale.") if bundle.is_active else gettext("“%(name)s” is off sale."))
        % {"name": bundle.name},
    )
    return redirect("dash-bundles")
