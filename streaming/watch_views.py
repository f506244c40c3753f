"""The watch page: the player, live chat, live ticket counts and the viewer count (phone first)."""
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from events.models import Event
from events.selectors import drops_with_availability, tiers_with_availability

from . import replays, selectors, watching


def _event_and_access(request, slug: str):
    event = Event.objects.select_related("creator").filter(slug=slug).first()
    access = selectors.chat_access(event.pk, request.user) if event else None
    if access is None:
        raise Http404("No such show.")
    return event, access


@require_GET
@never_cache
def watch(request, slug: str):
    event, access = _event_and_access(request, slug)
    status = watching.watch_status(event, request.user, access)
    return render(request, "streaming/watch.html", {
        "event": event, "access": access, "status": status, "tiers": tiers_with_availability(event),
        "drops": drops_with_availability(event, variant_prices=getattr(request, "variant_prices", None)),
        "ws_path": f"/ws/events/{event.pk}/", "status_url": request.path + "status/",
        "chat_history": selectors.recent_chat(event.pk) if access.can_read else [],
        "replay_offer": replays.replay_for_sale(event, request.user) if status["state"] == "after" else None,
    })


@require_GET
@never_cache
def watch_status(request, slug: str):
    """JSON the page polls: the show's state and a fresh playback URL (token renewal)."""
    event, access = _event_and_access(request, slug)
    return JsonResponse(watching.watch_status(event, request.user, access))
