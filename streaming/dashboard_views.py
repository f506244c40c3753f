"""Creator dashboard: the ingest panel of one event (RTMP URL and keys, rotation, backup ingest,
whether nginx-rtmp runs here, and "go live from a file or test pattern" for rehearsals)."""
import socket

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy as _
from django.views.decorators.http import require_POST

from events.dashboard_views import event_page
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES

from . import selectors
from .services import ingest as ingest_service
from .models import Recording

MAX_UPLOAD_MB = 500


class RotateForm(forms.Form):
    which = forms.ChoiceField(choices=[("main", _("Main key")), ("backup", _("Backup key"))])
    confirm = forms.BooleanField(label=_("Yes, the encoder using this key must be set up again."))


class RehearsalForm(forms.Form):
    source = forms.ChoiceField(choices=[("pattern", _("Test pattern with a tone")), ("file", _("A video file"))],
                               widget=forms.RadioSelect, initial="pattern")
    minutes = forms.IntegerField(min_value=1, max_value=ingest_service.REHEARSAL_MAX_SECONDS // 60, initial=2,
                                 required=False, label=_("Test pattern length (minutes)"))
    file = forms.FileField(
        required=False, help_text=format_lazy(_("MP4, MOV or MKV, up to {size} MB."), size=MAX_UPLOAD_MB)
    )

    def clean(self):
        data = super().clean()
        if data.get("source") == "file":
            upload = data.get("file")
            if upload is None:
                self.add_error("file", gettext("Choose a video file."))
            elif upload.size > MAX_UPLOAD_MB * 1024 * 1024:
                self.add_error("file", gettext("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_MB})
        elif not data.get("minutes"):
            self.add_error("minutes", gettext("How long should the test pattern run?"))
        return data


def rtmp_status() -> dict:
    """Whether nginx with the RTMP module is installed here, and whether something listens on the port."""
    from microstage.devstack import find_nginx_rtmp

    host, port = ingest_service.rtmp_endpoint()
    with socket.socket() as sock:
        sock.settimeout(0.3)
        listening = sock.connect_ex(("127.0.0.1", port)) == 0
    return {"installed": find_nginx_rtmp() is not None, "listening": listening, "port": port}


def _context(event, stream, **extra):
    return {
        "event": event, "stream": stream,
        "ingest_url": ingest_service.ingest_url(), "backup_ingest_url": ingest_service.ingest_url(backup=True),
        "rtmp": rtmp_status(),
        "recordings": Recording.objects.filter(stream=stream)[:5],
        "on_air": selectors.is_publishing(stream),
        "rotate_form": RotateForm(), "rehearsal_form": RehearsalForm(),
        **extra,
    }


@event_page(EDIT_ROLES)
def ingest(request, event):
    stream = ingest_service.ensure_stream(event, actor=request.user)
    return render(request, "streaming/dashboard/ingest.html", _context(event, stream))


@event_page(EDIT_ROLES)
def ingest_status(request, event):
    """The live part of the panel, polled every few seconds."""
    stream = ingest_service.ensure_stream(event, actor=request.user)
    return render(request, "streaming/dashboard/ingest_status.html", _context(event, stream))


@require_POST
@event_page(EDIT_ROLES)
def rotate(request, event):
    stream = ingest_service.ensure_stream(event, actor=request.user)
    form = RotateForm(request.POST)
    if not form.is_valid():
        return render(request, "streaming/dashboard/ingest.html", _context(event, stream, rotate_form=form),
                      status=400)
    ingest_service.rotate_key(stream, backup=form.cleaned_data["which"] == "backup", actor=request.user)
    messages.success(request, gettext("New key made. The old one no longer works."))
    return redirect("dash-ingest", event.pk)


@require_POST
@event_page(EDIT_ROLES)
def rehearsal_start(request, event):
    stream = ingest_service.ensure_stream(event, actor=request.user)
    form = RehearsalForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["source"] == "file":
                ingest_service.start_rehearsal(stream, upload=data["file"], actor=request.user)
            else:
                ingest_service.start_rehearsal(stream, pattern_seconds=data["minutes"] * 60, actor=request.user)
        except ServiceError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(
                request, gettext("You are live from the rehearsal source. It takes a few seconds to appear.")
            )
            return redirect("dash-ingest", event.pk)
    return render(request, "streaming/dashboard/ingest.html", _context(event, stream, rehearsal_form=form),
                  status=400)


@require_POST
@event_page(EDIT_ROLES)
def rehearsal_stop(request, event):
    ingest_service.stop_rehearsal(ingest_service.ensure_stream(event, actor=request.user), actor=request.user)
    messages.success(request, gettext("Stopping the rehearsal."))
    return redirect("dash-ingest", event.pk)
