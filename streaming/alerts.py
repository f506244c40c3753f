"""Stream trouble and the program switch: incidents the team hears about, and what viewers are shown.

Health readings (the transcoder's ffmpeg `-progress`), the encoder heartbeat (nginx's on_update) and the
preflight checklist open an incident when they cross a threshold and resolve it when they are back. An
incident tells the owner and managers once (notify, keyed by the incident) and shows in the control
room. A trouble that clears and comes back within REOPEN_SECONDS reopens the same incident, so a
flapping bitrate does not send a message every few seconds.

The creator can switch viewers to the audio-only rendition or a standby slate and back; the watch
page hears it as a realtime frame {"type": "program", "mode": ...} and shows it without a reload.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from microstage import realtime
from microstage.errors import Invalid
from microstage.models import EDIT_ROLES, TeamMembership
from microstage.permissions import require_role

from .models import LiveStream, Recording, StreamIncident
from .selectors import is_publishing

log = logging.getLogger(__name__)

REOPEN_SECONDS = 120
PROGRAM_MODES = ("live", "audio_only", "slate")
Kind = StreamIncident.Kind


# --- the program switch --------------------------------------------------------------------------

def set_program(*, event: Event, mode: str, actor) -> LiveStream:
    """Switch what viewers see: live, audio_only or slate (the owner and managers, or SYSTEM)."""
    require_role(actor, event.creator_id, EDIT_ROLES)
    if mode not in PROGRAM_MODES:
        raise Invalid(_("Choose live, audio only or the standby slate."),
                      fields={"mode": [_("One of: live, audio_only, slate.")]})
    stream, _created = LiveStream.objects.get_or_create(event=event)
    LiveStream.objects.filter(pk=stream.pk).update(program_mode=mode, updated_at=timezone.now())
    stream.program_mode = mode
    realtime.publish(realtime.event_group(event.pk), {"type": "program", "mode": mode})
    log.info("program of %s switched to %s by %s", event.pk, mode, getattr(actor, "pk", None))
    return stream


def program_mode(event_id: str) -> str:
    return LiveStream.objects.filter(event_id=event_id).values_list("program_mode", flat=True).first() or "live"


# --- incidents -----------------------------------------------------------------------------------

def _tell_team(incident: StreamIncident) -> None:
    from microstage.notifications.services import notify

    event = incident.stream.event
    url = settings.SITE_URL + reverse("dash-control", args=[event.pk])
    members = TeamMembership.objects.filter(creator_id=event.creator_id, role__in=EDIT_ROLES).select_related("user")
    for member in members:
        notify(member.user, "stream_trouble", event,
               {"problem": incident.get_kind_display().lower(), "detail": incident.detail, "url": url},
               key=f"stream-incident:{incident.pk}")


def open_incident(stream: LiveStream, kind: str, detail: str = "") -> StreamIncident | None:
    """Open (or keep open) an incident; the team is told when it is new. Returns it when it is new."""
    detail = detail[:500]
    if StreamIncident.objects.filter(stream=stream, kind=kind, resolved_at__isnull=True).exists():
        return None
    recent = (StreamIncident.objects.filter(stream=stream, kind=kind,
                                            resolved_at__gte=timezone.now() - timedelta(seconds=REOPEN_SECONDS))
              .order_by("-resolved_at").first())
    try:
        with transaction.atomic():
            if recent is not None:  # flapping: the same incident again, no new message
                StreamIncident.objects.filter(pk=recent.pk).update(resolved_at=None, detail=detail)
                return None
            incident = StreamIncident.objects.create(stream=stream, kind=kind, detail=detail)
            incident.stream = stream
            _tell_team(incident)  # the control room shows it from its polled status; viewers never see it
            return incident
    except IntegrityError:  # opened by another reading at the same moment
        return None


def resolve(stream: LiveStream, kind: str) -> int:
    return StreamIncident.objects.filter(stream=stream, kind=kind, resolved_at__isnull=True) \
        .update(resolved_at=timezone.now())


# --- what opens and resolves them ----------------------------------------------------------------

def check_health(stream_id: str, health: dict, previous: dict | None) -> None:
    """A new health reading: bitrate and dropped frames against the thresholds."""
    stream = LiveStream.objects.select_related("event").filter(pk=stream_id).first()
    if stream is None or not isinstance(health, dict):
        return
    bitrate = health.get("bitrate_kbps")
    if isinstance(bitrate, (int, float)):
        if bitrate < settings.STREAM_MIN_BITRATE_KBPS:
            open_incident(stream, Kind.LOW_BITRATE,
                          f"{bitrate:.0f} kbit/s, under {settings.STREAM_MIN_BITRATE_KBPS:.0f} kbit/s.")
        else:
            resolve(stream, Kind.LOW_BITRATE)
    dropped, before = health.get("dropped_frames"), (previous or {}).get("dropped_frames")
    if isinstance(dropped, int):
        # ffmpeg counts from its start; a new transcoder starts from zero again
        delta = dropped - before if isinstance(before, int) and dropped >= before else dropped
        if delta > settings.STREAM_MAX_DROPPED_FRAMES:
            open_incident(stream, Kind.DROPPED_FRAMES, f"{delta} frames dropped since the last reading.")
        else:
            resolve(stream, Kind.DROPPED_FRAMES)


def check_encoders(now=None) -> int:
    """Beat: streams of shows running now that were live and whose encoder stopped sending (no heartbeat)
    open "encoder gone"; a publishing one resolves it. Returns how many incidents were opened."""
    now = now or timezone.now()
    opened = 0
    streams = LiveStream.objects.select_related("event").filter(
        event__starts_at__lte=now + timedelta(hours=1), event__ends_at__gt=now,
        event__status=Event.Status.PUBLISHED)
    for stream in streams:
        if is_publishing(stream):
            resolve(stream, Kind.ENCODER_GONE)
        elif Recording.objects.filter(stream=stream, source=Recording.Source.LIVE).exists():
            opened += open_incident(stream, Kind.ENCODER_GONE,
                                    "No signal from the encoder: check its network and restart it.") is not None
    return opened


def check_preflight(event_id: str, result: dict | None) -> None:
    """A preflight run: any failed line opens the preflight incident; all clear resolves it."""
    if not result:
        return
    stream = LiveStream.objects.select_related("event").filter(event_id=event_id).first()
    if stream is None:
        return
    failed = [line for line in result.get("lines", []) if line.get("status") == "fail"]
    if failed:
        open_incident(stream, Kind.PREFLIGHT, "; ".join(f"{f.get('label')}: {f.get('detail')}" for f in failed))
    else:
        resolve(stream, Kind.PREFLIGHT)
