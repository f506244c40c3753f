"""The public group-buy page /g/<id>/: live progress, tiers, countdown, join (and leave) forms.

Thin: forms parse, groupbuys/services.py decides; errors become a message on the page, never a 500.
"""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from microstage.errors import ServiceError

from . import services as groupbuys
from .models import GroupBuy, GroupBuyParticipant
from .templatetags.commerce_groupbuys import progress_context


class JoinForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=groupbuys.MAX_JOIN_QUANTITY, initial=1,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))


def _group_buy(group_buy_id: str) -> GroupBuy:
    gb = (GroupBuy.objects.select_related("creator", "product", "variant", "variant__product")
          .prefetch_related("price_tiers").filter(pk=group_buy_id).first())
    if gb is None:
        raise Http404("No such group-buy.")
    return gb


def group_buy_page(request, group_buy_id: str, form=None, status=200):
    gb = _group_buy(group_buy_id)
    mine = (list(GroupBuyParticipant.objects.filter(group_buy=gb, user=request.user).select_related("order")
                 .order_by("-created_at")) if request.user.is_authenticated else [])
    variant_prices = getattr(request, "variant_prices", None)  # the visitor's experiment prices
    context = {**progress_context(gb), "list_price": groupbuys.offer_price(gb, variant_prices),
               "form": form or JoinForm(), "mine": mine,
               "can_join": gb.status == GroupBuy.Status.OPEN,
               "saved_card": gb.deadline - gb.created_at > groupbuys.SAVED_CARD_AFTER}
    return render(request, "commerce/group_buy.html", context, status=status)


@login_required
@require_POST
def group_buy_join(request, group_buy_id: str):
    form = JoinForm(request.POST)
    if not form.is_valid():
        return group_buy_page(request, group_buy_id, form=form, status=400)
    try:
        result = groupbuys.join(group_buy_id=group_buy_id, user=request.user, quantity=form.cleaned_data["quantity"],
                                variant_prices=getattr(request, "variant_prices", None))
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        form.add_error(None, exc.detail)
        return group_buy_page(request, group_buy_id, form=form, status=409 if exc.status == 409 else 400)
    if result.checkout_url:  # authorise on the provider's page, then come back here
        return redirect(result.checkout_url)
    if result.status == "authorized":
        messages.success(request, _("You're in! The money is reserved on your card and charged at the deadline "
                                  "at the price the group reaches."))
    else:
        messages.info(request, _("Almost there: confirm the payment with your card provider to hold your place."))
    return redirect("group-buy", group_buy_id)


@login_required
@require_POST
def group_buy_leave(request, group_buy_id: str, participant_id: str):
    try:
        groupbuys.leave(participant_id=participant_id, user=request.user)
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("You left the group-buy; nothing will be charged."))
    return redirect("group-buy", group_buy_id)
