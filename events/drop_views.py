"""Drop pages: buying a drop item from the event and watch pages, and the creator's drop editor and
start/stop buttons (dashboard and control room). Thin: parse, call events.services, redirect."""
from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.http import require_POST

from commerce import services as commerce
from catalog.models import Product
from catalog.shop_views import buy_message
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors

from . import selectors
from .dashboard_views import event_page
from .forms import LocalDateTimeField, as_local, attach_zone
from .models import DROP_KIND, Drop, Event
from .services import drops as drop_services


@require_POST
def drop_reserve(request, slug, drop_id):
    event = Event.objects.filter(slug=slug).exclude(status=Event.Status.DRAFT).first()
    drop = Drop.objects.filter(pk=drop_id, event=event).first() if event else None
    if drop is None:
        raise Http404("No such drop.")
    back = safe_next(request, event.get_absolute_url() + "#drops")
    if not request.user.is_authenticated:
        messages.info(request, gettext("Log in or sign up to buy from the drop."))
        return redirect_to_login(back)
    raw = (request.POST.get("quantity") or "1").strip()
    quantity = int(raw) if raw.isdigit() else 0
    if not 1 <= quantity <= 100:
        messages.error(request, gettext("Choose how many you want. Nothing was reserved."))
        return redirect(back)
    try:
        order = commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop.pk, quantity)],
                                 buyer=request.user, email=request.user.email,
                                 variant_prices=getattr(request, "variant_prices", None))  # experiment prices
    except ServiceError as exc:
        messages.error(request, buy_message(exc))
        return redirect(back)
    return redirect(order.get_absolute_url())


def safe_next(request, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


# --- the creator's side ------------------------------------------------------------------------

class DropForm(forms.Form):
    item = forms.ChoiceField(label=_("Product"), help_text=_("A product (and variant) from your shop."))
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000,
                                  help_text=_("How many this drop sells; at most the product's stock left."))
    price = forms.DecimalField(min_value=0, max_value=100000, max_digits=10, decimal_places=2, required=False,
                               widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                               help_text=_("Empty: the product's own price."))
    starts_at = LocalDateTimeField(label=_("Starts"))
    ends_at = LocalDateTimeField(label=_("Ends"))
    members_only_until = LocalDateTimeField(required=False, label=_("Members first until"),
                                            help_text=_("Before this time only members can buy."))
    per_person_limit = forms.IntegerField(min_value=1, max_value=100, initial=2, label=_("Per-person limit"))

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        choices = []
        for product in Product.objects.filter(creator_id=event.creator_id).prefetch_related("variants"):
            variants = list(product.variants.all())
            for v in variants:
                label = product.name if len(variants) == 1 else f"{product.name} — {v.name}"
                choices.append((f"{product.pk}:{v.pk}", gettext("%(item)s (%(stock)s in stock)")
                                % {"item": label, "stock": v.stock}))
        self.fields["item"].choices = [("", gettext("Choose a product"))] + choices
        for name in ("starts_at", "ends_at", "members_only_until"):
            zone = gettext("Times are in the event's timezone (%(zone)s).") % {"zone": event.timezone}
            self.fields[name].help_text = f"{self.fields[name].help_text} {zone}".strip()

    def clean(self):
        data = super().clean()
        for name in ("starts_at", "ends_at", "members_only_until"):
            attach_zone(self, name, self.event.tz)
        return data

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        product, variant = data.pop("item").split(":", 1)
        return {**data, "product": product, "variant": variant}

    @staticmethod
    def initial_for(drop: Drop) -> dict:
        tz = drop.event.tz
        variant = selectors.drop_variant(drop)
        return {"item": f"{drop.product_id}:{variant.pk if variant else ''}", "quantity": drop.quantity,
                "price": drop.price, "starts_at": as_local(drop.starts_at, tz), "ends_at": as_local(drop.ends_at, tz),
                "members_only_until": as_local(drop.members_only_until, tz),
                "per_person_limit": drop.per_person_limit}


@event_page(EDIT_ROLES)
def drop_new(request, event):
    form = DropForm(request.POST or None, event=event,
                    initial={"starts_at": as_local(event.starts_at, event.tz),
                             "ends_at": as_local(event.ends_at, event.tz), "per_person_limit": 2})
    if request.method == "POST" and form.is_valid():
        try:
            drop_services.create_drop(event, actor=request.user, **form.service_data())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, gettext("Drop added."))
            return redirect(reverse("dash-event", args=[event.pk]) + "#drops")
    return render(request, "events/dashboard/drop_form.html", {"form": form, "event": event, "drop": None},
                  status=400 if form.errors else 200)


@event_page(EDIT_ROLES)
def drop_edit(request, event, drop_id):
    drop = Drop.objects.select_related("event", "product", "variant").filter(pk=drop_id, event=event).first()
    if drop is None:
        raise Http404("No such drop.")
    form = DropForm(request.POST or None, event=event, initial=DropForm.initial_for(drop))
    if request.method == "POST" and form.is_valid():
        try:
            drop_services.update_drop(drop, actor=request.user, **form.service_data())
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, gettext("Drop saved."))
            return redirect(reverse("dash-event", args=[event.pk]) + "#drops")
    return render(request, "events/dashboard/drop_form.html", {"form": form, "event": event, "drop": drop},
                  status=400 if form.errors else 200)


def _switch(request, event, drop_id, action):
    drop = Drop.objects.filter(pk=drop_id, event=event).first()
    if drop is None:
        raise Http404("No such drop.")
    try:
        action(drop, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, gettext("Drop started: it is on sale now.") if action is drop_services.start_drop_now
                         else gettext("Drop stopped: nothing more sells from it."))
    return redirect(safe_next(request, reverse("dash-event", args=[event.pk]) + "#drops"))


@require_POST
@event_page(EDIT_ROLES)
def drop_start(request, event, drop_id):
    return _switch(request, event, drop_id, drop_services.start_drop_now)


@require_POST
@event_page(EDIT_ROLES)
def drop_stop(request, event, drop_id):
    return _switch(request, event, drop_id, drop_services.stop_drop)
