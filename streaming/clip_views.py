"""Pages for replays and clips: the creator's replay page (mark in/out, create clips, upload a
recording), the clip library, a clip's progress fragment (htmx), and the public clip page."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events.dashboard_views import event_page
from events.models import Event
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES, MODERATION_ROLES
from microstage.views import team_page

from . import captions, replays, selectors
from .services import clips
from .models import Clip, Recording

TEAM_ROLES = EDIT_ROLES | MODERATION_ROLES


def _replay_context(request, event, **extra):
    recording = selectors.replay_recording(event)
    return {"event": event, "recording": recording, "playback": selectors.playback_for(event, request.user),
            "clips": selectors.clips_of_event(event)[:50], "access_choices": Clip.Access.choices,
            "replay_offer": replays.active_offer(event),
            "max_clip_seconds": clips.MAX_CLIP_SECONDS, "can_edit": request.can_edit,
            "playable": _captionable_recording(event),
            "uploads": Recording.objects.filter(stream__event=event, source=Recording.Source.UPLOAD)[:5], **extra}


def _captionable_recording(event) -> Recording | None:
    """The finished recording the replay plays: captions uploaded on the replay page go to it."""
    recording = selectors.playable_recording(event)
    return recording if recording is not None and recording.status == Recording.Status.READY else None


@event_page(TEAM_ROLES)
def replay(request, event):
    return render(request, "streaming/replay.html", _replay_context(request, event))


@require_POST
@event_page(EDIT_ROLES)
def clip_new(request, event):
    data = request.POST
    try:
        clip = clips.create_clip(event=event, actor=request.user, start_seconds=data.get("start_seconds"),
                                    end_seconds=data.get("end_seconds"), title=data.get("title", ""),
                                    access=data.get("access", ""))
    except ServiceError as exc:
        errors = getattr(exc, "fields", None) or {"__all__": [exc.detail]}
        if request.headers.get("HX-Request"):
            return render(request, "streaming/clip_form_errors.html", {"errors": errors}, status=400)
        return render(request, "streaming/replay.html", _replay_context(request, event, errors=errors,
                                                                         form=data), status=400)
    if request.headers.get("HX-Request"):
        return render(request, "streaming/clip_row.html", {"clip": clip, "event": event, "can_edit": True})
    messages.success(request, _("Cutting “%(title)s”. It appears below when it is ready.") % {"title": clip.title})
    return redirect("dash-replay", event.pk)


@event_page(TEAM_ROLES)
def clip_status(request, event, clip_id):
    clip = Clip.objects.filter(pk=clip_id, event=event).first()
    if clip is None:
        raise Http404("No such clip.")
    response = render(request, "streaming/clip_row.html", {"clip": clip, "event": event, "can_edit": request.can_edit})
    if clip.status != Clip.Status.PROCESSING:
        response["HX-Trigger"] = "clip-done"
    return response


@require_POST
@event_page(EDIT_ROLES)
def upload_recording(request, event):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a video file to upload."))
        return redirect("dash-replay", event.pk)
    try:
        clips.upload_recording(event=event, actor=request.user, upload=upload)
    except ServiceError as exc:
        fields = getattr(exc, "fields", {}) or {}
        messages.error(request, (fields.get("file") or [exc.detail])[0])
        return redirect("dash-replay", event.pk)
    messages.success(request, _("Uploaded. The replay is being prepared; this page shows when it is ready."))
    return redirect("dash-replay", event.pk)


@team_page(TEAM_ROLES)
def clip_library(request):
    clips = selectors.clips_of_creator(request.creator.pk)[:200]
    return render(request, "streaming/clip_library.html", {"clips": clips, "creator": request.creator})


def clip_page(request, clip_id):
    """The public page of a clip: plays it for those its access rule admits, else says why and how."""
    clip = Clip.objects.select_related("event", "event__creator").filter(pk=clip_id).first()
    if clip is None or (clip.event.status == Event.Status.DRAFT
                        and not selectors.is_team(request.user, clip.event.creator_id)):
        raise Http404("No such clip.")
    allowed = replays.can_view_clip(clip, request.user)
    media = selectors.clip_media(clip) if allowed and clip.status == Clip.Status.READY else None
    for_sale = not allowed and clip.price and clip.status == Clip.Status.READY
    return render(request, "streaming/clip_page.html", {
        "clip": clip, "event": clip.event, "allowed": allowed, "media": media, "for_sale": for_sale,
        "hint": "" if allowed else selectors.clip_access_hint(clip)}, status=200)


def _captions_refused(request, event, exc: ServiceError, target):
    errors = getattr(exc, "fields", None) or {"captions": [exc.detail]}
    return render(request, "streaming/replay.html", _replay_context(
        request, event, captions_target=target, captions_errors=errors,
        captions_form={"language": request.POST.get("language", ""), "label": request.POST.get("label", "")}),
        status=400)


@require_POST
@event_page(EDIT_ROLES)
def replay_captions(request, event):
    """Upload WebVTT captions for the replay; a refused file is explained on the page and nothing changes."""
    recording = _captionable_recording(event)
    if recording is None:
        raise Http404("There is no finished replay to caption.")
    try:
        captions.set_recording_captions(recording=recording, actor=request.user, upload=request.FILES.get("captions"),
                                        language=request.POST.get("language"), label=request.POST.get("label"))
    except ServiceError as exc:
        return _captions_refused(request, event, exc, "replay")
    messages.success(request, _("Captions saved: the replay shows them now."))
    return redirect("dash-replay", event.pk)


@require_POST
@event_page(EDIT_ROLES)
def clip_captions(request, event, clip_id):
    """Upload WebVTT captions for a clip (timed from the clip's start)."""
    clip = Clip.objects.select_related("event").filter(pk=clip_id, event=event).first()
    if clip is None:
        raise Http404("No such clip.")
    try:
        captions.set_clip_captions(clip=clip, actor=request.user, upload=request.FILES.get("captions"),
                                   language=request.POST.get("language"), label=request.POST.get("label"))
    except ServiceError as exc:
        return _captions_refused(request, event, exc, clip.pk)
    messages.success(request, _("Captions saved for “%(title)s”.") % {"title": clip.title})
    return redirect("dash-replay", event.pk)
