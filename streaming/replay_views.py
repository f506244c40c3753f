"""Pages that sell post-show content: buy a replay (watch page) or a clip (clip page), and price the replay."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from commerce import gate, services as commerce_services
from events.dashboard_views import event_page
from events.models import Event
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.money import format_money

from . import replays
from .models import Clip


def _checkout(request, *, kind: str, item_id: str, back: str):
    try:
        order = replays.buy(kind=kind, item_id=item_id, user=request.user, email=request.POST.get("email", ""))
        result = commerce_services.checkout(
            order.pk, ip=gate.client_ip(request), success_url=request.build_absolute_uri(f"{back}?bought=1"),
            cancel_url=request.build_absolute_uri(back))
    except ServiceError as exc:
        messages.error(request, exc.detail)
        return redirect(back)
    return redirect(result.checkout_url or f"{back}?bought=1")


@require_POST
def buy_replay(request, slug: str):
    event = Event.objects.filter(slug=slug, status=Event.Status.PUBLISHED).first()
    if event is None:
        raise Http404("No such show.")
    return _checkout(request, kind=replays.REPLAY_KIND, item_id=event.pk,
                     back=reverse("event-watch", args=[event.slug]))


@require_POST
def buy_clip(request, clip_id: str):
    clip = Clip.objects.select_related("event").filter(pk=clip_id, event__status=Event.Status.PUBLISHED).first()
    if clip is None:
        raise Http404("No such clip.")
    return _checkout(request, kind=replays.CLIP_KIND, item_id=clip.pk, back=reverse("clip-page", args=[clip.pk]))


@require_POST
@event_page(EDIT_ROLES)
def replay_price(request, event):
    try:
        offer = replays.set_replay_price(event, request.POST.get("price", ""), request.POST.get("currency", ""))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("The replay sells for %(price)s.") % {"price": format_money(offer.price, offer.currency)}
            if offer
            else _("The replay is no longer sold on its own: every ticket holder can watch it."),
        )
    return redirect("dash-replay", event.pk)


@require_POST
@event_page(EDIT_ROLES)
def clip_price(request, event, clip_id):
    clip = Clip.objects.filter(pk=clip_id, event=event).first()
    if clip is None:
        raise Http404("No such clip.")
    try:
        replays.set_clip_price(clip, request.POST.get("price", ""), request.POST.get("currency", ""))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("“%(title)s” sells for %(price)s.") % {"title": clip.title,
                                                     "price": format_money(clip.price, clip.currency)}
            if clip.price
            else _("“%(title)s” is no longer for sale.") % {"title": clip.title},
        )
    return redirect("dash-replay", event.pk)
