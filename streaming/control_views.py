"""The control room: stream health, viewers, chat moderation and the preflight checklist."""
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from events import consent
from events.dashboard_views import event_page
from events.selectors import drops_with_availability
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES, MODERATION_ROLES

from . import alerts, selectors
from .services import preflight


@event_page(MODERATION_ROLES)
@require_GET
def control_room(request, event):
    summary = consent.summary(event)  # the counts the creator checks before going live
    drops = drops_with_availability(event, variant_prices=getattr(request, "variant_prices", None))
    return render(request, "streaming/control.html", {
        "consent_rows": consent.count_rows(event, summary),
        "consent_no_recording": sum(a["no_recording"] for a in summary["attendees"]),
        "event": event, "status": selectors.control_status(event),
        "preflight": selectors.last_preflight(event.pk) or selectors.preflight(event),
        "ws_path": f"/ws/events/{event.pk}/", "chat_history": selectors.recent_chat(event.pk),
        "watch_url": f"/e/{event.slug}/watch/", "drops": drops, "can_edit": request.can_edit,
        "test_preview": selectors.private_test_preview(event),
        "program_modes": [("live", "Live"), ("audio_only", "Audio only"), ("slate", "Standby slate")],
    })


@event_page(MODERATION_ROLES)
@require_GET
@never_cache
def control_status(request, event):
    """Polled every few seconds: health, viewers, slow mode."""
    return JsonResponse(selectors.control_status(event))


@event_page(MODERATION_ROLES)
@require_POST
def control_preflight(request, event):
    """Run the checklist now (the page also does this by itself every minute)."""
    return JsonResponse(preflight.run_preflight(event.pk))


@event_page(EDIT_ROLES)
@require_POST
def control_program(request, event):
    """Switch viewers to live, audio only or the standby slate: {"mode"} (form or JSON) → {"program"}."""
    mode = request.POST.get("mode")
    if mode is None and request.content_type == "application/json":
        import json

        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        mode = body.get("mode") if isinstance(body, dict) else None
    try:
        stream = alerts.set_program(event=event, mode=mode, actor=request.user)
    except ServiceError as exc:
        body = {"code": exc.code, "detail": exc.detail, **({"fields": exc.fields} if getattr(exc, "fields", None)
                                                            else {})}
        return JsonResponse(body, status=exc.status)
    return JsonResponse({"program": stream.program_mode})
