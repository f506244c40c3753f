"""Ingest: stream keys, the RTMP publish hooks' rules and rehearsals from a file or test pattern.

streaming/media.py runs ffmpeg and streaming/services/transcode.py keeps the transcoder's bookkeeping;
this module queues the transcode by its task name. "Publishing now" is a short-lived heartbeat in the
cache per key (refreshed by nginx's on_update and by the transcoder), so a lost on_publish_done (crashed
nginx) cannot block a key for good; the LiveStream row says which key the transcoder follows. Every
change takes the row's lock.
"""
import logging
import uuid
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from microstage.errors import Conflict, Forbidden, Invalid
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from .. import jobs
from ..models import LiveStream, Recording, StreamKey
from ..selectors import heartbeat_key, is_publishing, stop_key

log = logging.getLogger(__name__)

INGEST_APP = "live"
PUBLISH_HEARTBEAT_SECONDS = 45  # nginx calls on_update every 10 s; three missed calls = gone
STOP_FLAG_SECONDS = 24 * 3600
REHEARSAL_MAX_SECONDS = 30 * 60
TEST_KEY = "test"


def rtmp_endpoint(*, backup: bool = False) -> tuple[str, int]:
    """Where encoders publish: settings RTMP_HOST / RTMP_PORT (backup: RTMP_BACKUP_HOST)."""
    return (settings.RTMP_BACKUP_HOST if backup else settings.RTMP_HOST), settings.RTMP_PORT


def ingest_url(*, backup: bool = False) -> str:
    host, port = rtmp_endpoint(backup=backup)
    return f"rtmp://{host}:{port}/{INGEST_APP}"


def beat(stream_id: str, which: str, addr: str = "") -> None:

    cache.set(heartbeat_key(stream_id, which), addr or "-", PUBLISH_HEARTBEAT_SECONDS)


def request_stop(recording_id: str) -> None:
    """Ask the transcoder of a recording to finish (it checks every couple of seconds)."""

    cache.set(stop_key(recording_id), 1, STOP_FLAG_SECONDS)


def ensure_stream(event, *, actor):
    """The event's LiveStream, created with fresh keys on first use (its owners and managers, or SYSTEM)."""
    require_role(actor, event.creator_id, EDIT_ROLES)
    stream, _created = LiveStream.objects.get_or_create(event=event)
    return stream


def rotate_key(stream, *, actor, backup: bool = False):
    """A new main (or backup) key. The old key is refused from now on; an encoder still publishing
    with it is dropped at nginx's next on_update call, and its recording is finished."""
    require_role(actor, stream.event.creator_id, EDIT_ROLES)


    which = "backup" if backup else "main"
    field = "backup_key" if backup else "stream_key"
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        setattr(locked, field, StreamKey("backup" if backup else "live")())
        locked.key_rotated_at = timezone.now()
        locked.save(update_fields=[field, "key_rotated_at", "updated_at"])
        if cache.get(heartbeat_key(locked.pk, which)):
            _end_publish(locked, which)
    return locked


def _key_lookup(key: str):
    """(stream, "main"|"backup") for a key, or (None, None)."""


    if not key:
        return None, None
    stream = (LiveStream.objects.select_related("event")
              .filter(Q(stream_key=key) | Q(backup_key=key) | Q(test_key=key)).first())
    if stream is None:
        return None, None
    return stream, {stream.stream_key: "main", stream.backup_key: "backup"}.get(key, TEST_KEY)


def publish_window(stream):
    """(opens, closes): from starts_at minus the rehearsal allowance to ends_at."""
    event = stream.event
    return event.starts_at - timedelta(minutes=stream.rehearsal_minutes), event.ends_at


def authorize_publish(key: str, app: str, addr: str = "", *, now=None):
    """nginx-rtmp's on_publish: accept `key` only for its own stream, inside the event's window,
    and only once at a time. Raises Forbidden (code says why); returns the stream.

    The first key to publish is transcoded (a new live Recording, task queued on commit); the other
    key, publishing at the same time, stands by and takes over if the first one leaves.
    """



    now = now or timezone.now()
    if app != INGEST_APP:
        raise Forbidden(
            _("Publish to the '%(ingest_app)s' application.") % {"ingest_app": INGEST_APP}, code="wrong_app"
        )
    stream, which = _key_lookup(key)
    if stream is None:
        raise Forbidden(_("Unknown stream key."), code="unknown_key")
    if which == TEST_KEY:
        return _authorize_test_publish(stream, key, addr, now)
    if stream.event.status == Event.Status.CANCELLED:
        raise Forbidden(_("The event is cancelled."), code="event_cancelled")
    opens, closes = publish_window(stream)
    if now < opens:
        raise Forbidden(_("Too early: publishing opens at %(opens)s UTC.") % {"opens": f"{opens:%Y-%m-%d %H:%M}"},
                        code="too_early")
    if now >= closes:
        raise Forbidden(_("The event is over."), code="too_late")
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        current = locked.stream_key if which == "main" else locked.backup_key
        if current != key:  # rotated between the lookup and the lock
            raise Forbidden(_("Unknown stream key."), code="unknown_key")
        if is_publishing(locked, which):
            raise Forbidden(_("This key is already publishing."), code="already_publishing")
        beat(locked.pk, which, addr)
        following = locked.publishing_key
        if following == "file" or not following or not is_publishing(locked, following):
            if following == "file":  # an encoder takes over from a rehearsal file
                _finish_current_recordings(locked)
            _start_live_recording(locked, which, addr, now)
    return locked


def _authorize_test_publish(stream, key: str, addr: str, now):
    """The private test ingest: open to the team at any time (an encoder test days before the show), one
    publish at a time. It is transcoded like the show, for the control room only: the stream does not go
    live and attendees never see it."""
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        if locked.test_key != key:  # rotated between the lookup and the lock
            raise Forbidden(_("Unknown stream key."), code="unknown_key")
        if is_publishing(locked, TEST_KEY):
            raise Forbidden(_("This key is already publishing."), code="already_publishing")
        beat(locked.pk, TEST_KEY, addr)
        recording = Recording.objects.create(stream=locked, source=Recording.Source.TEST)
        _queue_transcode(recording.pk, {"kind": "rtmp", "which": TEST_KEY})
    return locked


def keep_publishing(key: str, app: str = INGEST_APP) -> bool:
    """nginx-rtmp's on_update (every few seconds while publishing): False drops the publisher
    (its key was rotated away); True refreshes the heartbeat."""
    stream, which = _key_lookup(key)
    if stream is None or app != INGEST_APP:
        return False
    beat(stream.pk, which)
    return True


def publish_done(key: str, app: str = INGEST_APP):
    """nginx-rtmp's on_publish_done. Unknown (e.g. rotated) keys are a no-op. Returns the stream."""


    stream, which = _key_lookup(key)
    if stream is None:
        return None
    if which == TEST_KEY:  # the test ends; the show's state is untouched
        cache.delete(heartbeat_key(stream.pk, TEST_KEY))
        for rec_id in Recording.objects.filter(stream=stream, source=Recording.Source.TEST,
                                               status=Recording.Status.RECORDING).values_list("pk", flat=True):
            request_stop(rec_id)
        return stream
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        _end_publish(locked, which)
    return locked


def _end_publish(stream, which: str) -> None:
    """Under the row lock: forget `which`'s publish; fail over to the other key, or go idle."""


    cache.delete(heartbeat_key(stream.pk, which))
    if stream.publishing_key != which:
        return  # the stand-by key left; nothing was following it
    _finish_current_recordings(stream)
    other = "backup" if which == "main" else "main"
    now = timezone.now()
    if is_publishing(stream, other):
        _start_live_recording(stream, other, "", now)
        return
    stream.publishing_key, stream.publisher_addr, stream.publishing_since = "", "", None
    stream.status = LiveStream.Status.ENDED if now >= stream.event.ends_at else LiveStream.Status.IDLE
    stream.save(update_fields=["publishing_key", "publisher_addr", "publishing_since", "status", "updated_at"])


def _finish_current_recordings(stream) -> None:

    for rec_id in (Recording.objects.filter(stream=stream, status=Recording.Status.RECORDING)
                   .exclude(source=Recording.Source.TEST).values_list("pk", flat=True)):
        request_stop(rec_id)


def _start_live_recording(stream, which: str, addr: str, now):
    """Under the row lock: follow `which`, with a new live Recording and its transcode task queued."""

    stream.publishing_key, stream.publisher_addr, stream.publishing_since = which, addr[:64], now
    stream.status = LiveStream.Status.LIVE
    stream.save(update_fields=["publishing_key", "publisher_addr", "publishing_since", "status", "updated_at"])
    recording = Recording.objects.create(stream=stream, source=Recording.Source.LIVE)
    _queue_transcode(recording.pk, {"kind": "rtmp", "which": which})
    event_id = stream.event_id
    transaction.on_commit(lambda: _announce_live(event_id))
    return recording


def _announce_live(event_id: str) -> None:
    """Tell the ticket holders the stream is live (once per person and event: notifications deduplicate)."""
    from events.tasks import notify_stream_live

    try:
        notify_stream_live.delay(event_id)
    except Exception:  # noqa: BLE001 - the broker being down must not stop the stream
        log.warning("could not queue stream-live notifications for %s", event_id, exc_info=True)


def _queue_transcode(recording_id: str, spec: dict) -> None:
    """Queue the transcode task once the transaction commits (tests replace this)."""


    transaction.on_commit(lambda: jobs.enqueue(jobs.TRANSCODE_RECORDING, recording_id, spec))


def start_rehearsal(stream, *, actor, pattern_seconds: int | None = None, upload=None, realtime: bool = True):
    """"Go live from a file or test pattern": the same transcode as a live publish, fed by ffmpeg's
    test pattern (`pattern_seconds` long) or an uploaded file (saved to storage first). Refused while
    an encoder or another rehearsal is on air. Returns the Recording."""
    require_role(actor, stream.event.creator_id, EDIT_ROLES)




    if (pattern_seconds is None) == (upload is None):
        raise Invalid(_("Choose a test pattern or a file."), code="invalid")
    if pattern_seconds is not None and not 2 <= pattern_seconds <= REHEARSAL_MAX_SECONDS:
        raise Invalid(
            _("A test pattern runs 2 to %(rehearsal_max_seconds)s seconds.")
            % {"rehearsal_max_seconds": REHEARSAL_MAX_SECONDS},
            code="invalid",
        )
    spec: dict = {"kind": "pattern", "seconds": pattern_seconds, "realtime": realtime}
    if upload is not None:
        suffix = PurePath(upload.name or "").suffix.lower()[:8] or ".bin"
        name = default_storage.save(f"streams/{stream.event_id}/uploads/{uuid.uuid4().hex}{suffix}", upload)
        spec = {"kind": "file", "path": name, "realtime": realtime}
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        if is_publishing(locked):
            raise Conflict(_("Something is already on air. Stop it first."), code="already_publishing")
        beat(locked.pk, "file")
        locked.publishing_key, locked.publisher_addr, locked.publishing_since = "file", "", timezone.now()
        locked.status = LiveStream.Status.LIVE
        locked.save(update_fields=["publishing_key", "publisher_addr", "publishing_since", "status",
                                   "updated_at"])
        recording = Recording.objects.create(stream=locked, source=Recording.Source.FILE)
        _queue_transcode(recording.pk, spec)
    return recording


def stop_rehearsal(stream, *, actor) -> None:
    require_role(actor, stream.event.creator_id, EDIT_ROLES)

    for rec_id in Recording.objects.filter(stream=stream, source=Recording.Source.FILE,
                                           status=Recording.Status.RECORDING).values_list("pk", flat=True):
        request_stop(rec_id)
