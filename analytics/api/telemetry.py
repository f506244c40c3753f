"""POST /api/v1/telemetry: what the player and checkout pages measured (anonymous, CSRF-exempt JSON).

A sample carries no cookie id, IP or user agent; it is rate limited per client address (hashed in
the cache key, never stored; not the visitor cookie, which the client chooses), and refused for an
event that does not exist. Do Not Track / GPC: accepted and not stored."""

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from analytics import services
from analytics.middleware import opted_out
from commerce.gate import client_ip
from microstage import safejson
from microstage.errors import Invalid

MAX_BODY = 2048


def _error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def telemetry(request):
    if len(request.body) > MAX_BODY:
        return _error("invalid", _("The sample is too large."), 400)
    try:
        data = safejson.loads(request.body, parse_constant=lambda name: float("nan"))
    except (ValueError, UnicodeDecodeError):
        return _error("invalid", _("Send a JSON object."), 400)
    try:
        services.clean_telemetry(data)
    except Invalid as exc:
        return JsonResponse({"code": "invalid", "detail": exc.detail, "fields": exc.fields}, status=400)
    if not services.telemetry_allowed(services.telemetry_client_key(client_ip(request))):
        return _error("rate_limited", _("Too many samples; try again in a minute."), 429)
    if not opted_out(request):
        services.record_telemetry(data)
    return HttpResponse(status=204)
