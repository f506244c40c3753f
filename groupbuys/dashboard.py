"""Creator dashboard pages for group-buys (mounted under /dashboard/group-buys/): list, create, and one
group-buy with its participants' outcomes and a settle button. Thin: forms parse, groupbuys/services.py decides."""
from datetime import timezone as dt_timezone

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors, team_page

from catalog.models import Product

from . import services as groupbuys
from . import settlement as groupbuy_settlement
from .models import GroupBuy, GroupBuyParticipant
from .templatetags.commerce_groupbuys import progress_context


class GroupBuyForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    title = forms.CharField(label=_("Title"), max_length=120, required=False)
    event = forms.CharField(max_length=40, required=False, label=_("Event id (optional)"),
                            help_text=_("Show its progress on that event's watch page (evt_…)."))
    deadline = forms.DateTimeField(label=_("Deadline"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                   help_text=_("In UTC. Further than 6 days out, cards are saved and charged then."))
    tiers = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Price tiers"),
                            help_text=_("One per line: “minimum quantity: price”, e.g. “10: 8.00”."))
    max_quantity = forms.IntegerField(min_value=1, max_value=groupbuys.MAX_CAP, required=False, label=_("Cap"))

    def __init__(self, *args, creator=None, **kw):
        super().__init__(*args, **kw)
        self.fields["product"].choices = [(p.pk, f"{p.name} ({p.price} {p.currency})") for p in
                                          Product.objects.filter(creator=creator, is_active=True).order_by("name")]

    def clean_deadline(self):
        value = self.cleaned_data["deadline"]
        return timezone.make_aware(value, dt_timezone.utc) if timezone.is_naive(value) else value

    def clean_tiers(self):
        tiers = []
        for n, line in enumerate(filter(None, (ln.strip() for ln in self.cleaned_data["tiers"].splitlines())), 1):
            qty, sep, price = line.partition(":")
            if not sep or not qty.strip().isdigit():
                raise forms.ValidationError(gettext("Line %(line)d: write “quantity: price”.") % {"line": n})
            tiers.append({"min_quantity": int(qty.strip()), "price": price.strip()})
        if not tiers:
            raise forms.ValidationError(_("Add at least one tier."))
        return tiers


@team_page(roles=EDIT_ROLES)
def group_buy_list(request):
    items = [progress_context(gb) for gb in GroupBuy.objects.filter(creator=request.creator)
             .select_related("product", "variant", "variant__product").prefetch_related("price_tiers")
             .order_by("-created_at")[:100]]
    return render(request, "commerce/dashboard/group_buys.html", {"items": items, "creator": request.creator})


@team_page(roles=EDIT_ROLES)
def group_buy_new(request):
    form = GroupBuyForm(request.POST or None, creator=request.creator)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            gb = groupbuys.create_group_buy(
                actor=request.user, creator_id=request.creator.pk, product_id=data["product"], title=data["title"],
                event_id=data["event"], deadline=data["deadline"], price_tiers=data["tiers"],
                max_quantity=data["max_quantity"])
        except ServiceError as exc:
            if getattr(exc, "fields", None):
                exc.fields = {("tiers" if k.startswith("price_tiers") else k): v for k, v in exc.fields.items()}
            form_errors(form, exc)
        else:
            messages.success(request, _("Group-buy created."))
            return redirect("dash-group-buy", gb.pk)
    return render(request, "commerce/dashboard/group_buy_form.html", {"form": form},
                  status=400 if form.errors else 200)


def _own(request, group_buy_id) -> GroupBuy:
    gb = (GroupBuy.objects.select_related("product", "variant", "variant__product").prefetch_related("price_tiers")
          .filter(pk=group_buy_id, creator=request.creator).first())
    if gb is None:
        raise Http404("No such group-buy.")
    return gb


@team_page(roles=EDIT_ROLES)
def group_buy_detail(request, group_buy_id):
    gb = _own(request, group_buy_id)
    participants = Paginator(GroupBuyParticipant.objects.filter(group_buy=gb).select_related("user", "order")
                             .order_by("created_at"), 100).get_page(request.GET.get("page"))
    counts = {s: 0 for s in GroupBuyParticipant.Status.values}
    for row in GroupBuyParticipant.objects.filter(group_buy=gb).values_list("status", flat=True):
        counts[row] += 1
    return render(request, "commerce/dashboard/group_buy.html", {
        **progress_context(gb), "participants": participants, "counts": counts,
        "can_settle": gb.status != GroupBuy.Status.SETTLED and gb.deadline <= timezone.now()})


@team_page(roles=EDIT_ROLES)
@require_POST
def group_buy_settle(request, group_buy_id):
    gb = _own(request, group_buy_id)
    try:
        gb = groupbuy_settlement.settle_by_team(group_buy_id=gb.pk, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, gettext("Settled.") if gb.status == GroupBuy.Status.SETTLED else
                         gettext("Settlement started: participants are being charged or released."))
    return redirect("dash-group-buy", group_buy_id)


urlpatterns = [
    path("", group_buy_list, name="dash-group-buys"),
    path("new/", group_buy_new, name="dash-group-buy-new"),
    path("<id:group_buy_id>/", group_buy_detail, name="dash-group-buy"),
    path("<id:group_buy_id>/settle/", group_buy_settle, name="dash-group-buy-settle"),
]
