"""Creator dashboard pages for promo and partner codes: the list with each code's sales, a new code, on/off.

Owners and managers only; another creator's code is a 404."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors, team_page

from . import promos
from .forms import PromoCodeForm

manage = team_page(roles=EDIT_ROLES)


@manage
def promo_codes(request):
    return render(request, "memberships/dashboard/promo_codes.html", {
        "rows": promos.sales_by_code(request.creator.pk), "tab": "promo"})


@manage
def promo_code_new(request):
    creator = request.creator
    form = PromoCodeForm(request.POST or None, tiers=promos.item_choices(promos.TICKET, creator.pk),
                         products=promos.item_choices(promos.PRODUCT, creator.pk))
    if request.method == "POST" and form.is_valid():
        try:
            promo = promos.create_promo_code(creator=creator, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Code %(code)s created.") % {"code": promo.code})
            return redirect("dash-promo-codes")
    return render(request, "memberships/dashboard/promo_code_form.html", {"form": form, "tab": "promo"},
                  status=400 if form.errors else 200)


@require_POST
@manage
def promo_code_active(request, promo_id):
    active = request.POST.get("active") == "1"
    try:
        promo = promos.set_active(creator=request.creator, promo_id=promo_id, active=active, actor=request.user)
    except ServiceError as exc:
        raise Http404(exc.detail) from exc
    messages.success(request, (_("Code %(code)s switched on.") if active else _("Code %(code)s switched off."))
                     % {"code": promo.code})
    return redirect("dash-promo-codes")
