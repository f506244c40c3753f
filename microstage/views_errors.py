"""Error pages: JSON for the API, a human page everywhere else."""
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def bad_request(request, exception=None):
    """A request Django refused before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
    fields, a bad host or cookie): JSON for the API, a short plain page elsewhere."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        code, detail = "too_large", _("The request is too large.")
    else:
        code, detail = "bad_request", _("The request could not be read.")
    if _wants_json(request):
        return JsonResponse({"code": code, "detail": detail}, status=400)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side.")}, status=500)
    return render(request, "500.html", status=500)
