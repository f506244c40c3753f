"""Door check-in pages: the phone scanner and its small JSON endpoints (thin: they call events.services).

The page talks to these endpoints (session auth + CSRF) rather than the REST API so the door works
on its own; both call the same services, so the rules (first scan in time wins) live in one place.
"""
from datetime import datetime, timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from microstage.errors import Forbidden, Invalid, NotFound, ServiceError
from microstage import safejson
from microstage.models import DOOR_ROLES, TeamMembership

from . import consent, selectors
from .services import checkin as checkin_services
from .models import CheckIn, Event, Ticket
from .permissions import door_only, require_event_role

MAX_SYNC_SCANS = 500
MAX_PAYLOAD_CHARS = 2000
ANSWER_STATUS = {CheckIn.Result.OK: 201, CheckIn.Result.ALREADY: 409, CheckIn.Result.INVALID: 400,
                 CheckIn.Result.STREAM_ONLY: 409}


def _error(exc: ServiceError) -> JsonResponse:
    body = {"code": exc.code, "detail": exc.detail}
    if isinstance(exc, Invalid) and exc.fields:
        body["fields"] = exc.fields
    return JsonResponse(body, status=exc.status)


def _door_event(request, event_id: str) -> Event:
    """The event if the user is on its door team; NotFound/Forbidden otherwise (404 for strangers)."""
    return require_event_role(request.user, event_id, DOOR_ROLES, forbidden=door_only())


def door_json(view):
    """JSON endpoint for the door team: 401 when logged out, errors as {"code", "detail"}."""

    @wraps(view)
    @never_cache
    def wrapper(request, event_id, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"code": "not_authenticated", "detail": _("Log in again to keep scanning.")},
                                status=401)
        try:
            event = _door_event(request, event_id)
            return view(request, event, *args, **kwargs)
        except ServiceError as exc:
            return _error(exc)

    return wrapper


def _ticket_json(ticket: Ticket) -> dict:
    return {"id": ticket.pk, "tier": ticket.tier.name,
            "holder": ticket.holder_name or ticket.holder_email.split("@")[0],  # as in the offline bundle
            "checked_in_at": ticket.checked_in_at.isoformat() if ticket.checked_in_at else None,
            **consent.door_view(ticket.event, ticket)}  # the holder's answers and no_recording


def _json_body(request) -> dict:
    try:
        body = safejson.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(_("The request body is not valid JSON.")) from exc
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    return body


def _payload(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("Enter a ticket code."), fields={field: [_("Required.")]})
    # An over-long code is not a ticket: it is answered as invalid, not refused as a bad request.
    return value.strip()[:MAX_PAYLOAD_CHARS + 1]


@login_required
@never_cache
def door_page(request, event_id):
    try:
        event = _door_event(request, event_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except Forbidden as exc:
        return render(request, "events/checkin/forbidden.html", {"detail": exc.detail}, status=403)
    return render(request, "events/checkin/door.html", {
        "event": event, "counts": selectors.checkin_counts(event),
    })


@login_required
@never_cache
def door_index(request):
    """The events this person may scan at: upcoming or running shows of the creators whose door team they are on."""
    creator_ids = TeamMembership.objects.filter(user=request.user, role__in=DOOR_ROLES).values("creator_id")
    events = (Event.objects.filter(creator_id__in=creator_ids, ends_at__gt=timezone.now() - timedelta(hours=12))
              .exclude(status=Event.Status.CANCELLED).select_related("creator").order_by("starts_at")[:50])
    return render(request, "events/checkin/index.html", {"events": events})


@require_GET
@door_json
def bundle(request, event):
    """The offline bundle (public key, valid tickets, revocations) plus the live counts and timezone."""
    return JsonResponse({**checkin_services.issue_checkin_bundle(event, actor=request.user), "timezone": event.timezone,
                         "counts": selectors.checkin_counts(event)})


@require_POST
@door_json
def scan(request, event):
    """One live scan: {payload, device?} → 201 ok / 409 already_checked_in / 400 invalid (as the API)."""
    body = _json_body(request)
    payload = _payload(body.get("payload"), "payload")
    device = body.get("device") if isinstance(body.get("device"), str) else ""
    result, ticket, _scan = checkin_services.check_in(event=event, payload=payload, actor=request.user, device=device)
    answer = {"result": result, "counts": selectors.checkin_counts(event)}
    if ticket is not None:
        answer["ticket"] = _ticket_json(ticket)
        answer["no_recording"] = answer["ticket"]["no_recording"]
    if result == CheckIn.Result.ALREADY:
        answer["first_scan_at"] = ticket.checked_in_at.isoformat()
    return JsonResponse(answer, status=ANSWER_STATUS[result])


def _parse_scans(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise Invalid(_("Send the queued scans."), fields={"scans": [_("A non-empty list.")]})
    if len(raw) > MAX_SYNC_SCANS:
        raise Invalid(
            _("At most %(max_sync_scans)s scans at a time.") % {"max_sync_scans": MAX_SYNC_SCANS},
            fields={"scans": [_("Too many.")]},
        )
    scans = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Invalid(_("Each scan is an object."), fields={f"scans[{i}]": [_("Not an object.")]})
        scanned_at = parse_datetime(item["scanned_at"]) if isinstance(item.get("scanned_at"), str) else None
        if not isinstance(scanned_at, datetime) or timezone.is_naive(scanned_at):
            raise Invalid(_("Each scan needs its time with an offset."),
                          fields={f"scans[{i}].scanned_at": [_("An ISO 8601 time with offset.")]})
        device = item.get("device") if isinstance(item.get("device"), str) else ""
        scans.append({"payload": _payload(item.get("payload"), f"scans[{i}].payload"), "scanned_at": scanned_at,
                      "device": device})
    return scans


@require_POST
@door_json
def sync(request, event):
    """Scans queued offline: {scans: [{payload, scanned_at, device}]} → {results: [...], counts}.

    The earliest scan in time admits; later ones come back as already_checked_in with first_scan_at.
    """
    scans = _parse_scans(_json_body(request).get("scans"))
    results = checkin_services.sync_scans(event=event, scans=scans, actor=request.user)
    return JsonResponse({"results": results, "counts": selectors.checkin_counts(event)})
