"""nginx-rtmp's HTTP callbacks (on_publish, on_update, on_publish_done): thin, form-encoded, no CSRF.

nginx posts `name` (the stream key), `app`, `addr` and more; any 2xx accepts, anything else refuses.
Refusals are 403 with a short JSON reason (nginx only looks at the status; logs show the body).
Every hook first checks that the call comes from our nginx (streaming.hook_auth).
"""
import functools

from django import forms
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from microstage.errors import Forbidden

from .services import ingest
from .hook_auth import hook_allowed


class PublishForm(forms.Form):
    name = forms.CharField(max_length=128)
    app = forms.CharField(max_length=64)
    addr = forms.CharField(max_length=64, required=False)

    def clean_name(self):
        # nginx passes the key without query string; a key never holds control characters or "?".
        name = self.cleaned_data["name"]
        if not name.isprintable() or "?" in name or "/" in name:
            raise forms.ValidationError("bad key")
        return name


def _refuse(code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=403)


def from_our_nginx(view):
    """Refuse (403) hook calls without the shared secret or an allowed address."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not hook_allowed(request):
            return _refuse("forbidden", "Only the platform's RTMP server may call this hook.")
        return view(request, *args, **kwargs)
    return wrapped


def _form(request):
    form = PublishForm(request.POST)
    return form if form.is_valid() else None


@csrf_exempt
@from_our_nginx
@require_POST
def on_publish(request):
    form = _form(request)
    if form is None:
        return _refuse("invalid", "name and app are required.")
    try:
        stream = ingest.authorize_publish(form.cleaned_data["name"], form.cleaned_data["app"],
                                            form.cleaned_data["addr"])
    except Forbidden as exc:
        return _refuse(exc.code, exc.detail)
    return JsonResponse({"ok": True, "stream": stream.pk})


@csrf_exempt
@from_our_nginx
@require_POST
def on_update(request):
    form = _form(request)
    if form is None or not ingest.keep_publishing(form.cleaned_data["name"], form.cleaned_data["app"]):
        return _refuse("unknown_key", "This key no longer publishes.")
    return JsonResponse({"ok": True})


@csrf_exempt
@from_our_nginx
@require_POST
def on_publish_done(request):
    form = _form(request)
    if form is not None:
        ingest.publish_done(form.cleaned_data["name"], form.cleaned_data["app"])
    return JsonResponse({"ok": True})
