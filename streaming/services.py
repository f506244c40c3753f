"""Writes for streaming: ingest, playback, clips, chat and presence."""
import logging
import math
import re
import secrets
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path, PurePath

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from microstage import realtime
from microstage.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from microstage.models import EDIT_ROLES, User
from microstage.selectors import creator_for_team, role_of

from . import alerts, cutting, media, tasks
from .models import ChatMessage, ChatMute, Clip, LiveStream, Recording, StreamKey
from .selectors import (
    PRESENCE_TTL_SECONDS,
    chat_access,
    chat_payload,
    chat_redis,
    preflight,
    presence_key,
    presence_member,
    replay_recording,
    slow_mode_seconds,
    viewer_count,
)

log = logging.getLogger(__name__)

# --- ingest ---------------------------------------------------------------------------------
# Stream keys, the RTMP publish hooks' rules, rehearsals from a file or test pattern, and the
# transcoder's bookkeeping (streaming/media.py runs ffmpeg; tasks.py only calls in here).
# "Publishing now" is a short-lived heartbeat in the cache per key (refreshed by nginx's on_update
# and by the transcoder), so a lost on_publish_done (crashed nginx) cannot block a key for good;
# the LiveStream row says which key the transcoder follows. Every change takes the row's lock.

INGEST_APP = "live"
PUBLISH_HEARTBEAT_SECONDS = 45  # nginx calls on_update every 10 s; three missed calls = gone
STOP_FLAG_SECONDS = 24 * 3600
REHEARSAL_MAX_SECONDS = 30 * 60
_KEY_NAMES = ("main", "backup", "file")  # what puts the show on air (the test key never does)
TEST_KEY = "test"


def rtmp_endpoint(*, backup: bool = False) -> tuple[str, int]:
    """Where encoders publish: settings RTMP_HOST / RTMP_PORT (backup: RTMP_BACKUP_HOST)."""
    return (settings.RTMP_BACKUP_HOST if backup else settings.RTMP_HOST), settings.RTMP_PORT


def ingest_url(*, backup: bool = False) -> str:
    host, port = rtmp_endpoint(backup=backup)
    return f"rtmp://{host}:{port}/{INGEST_APP}"


def _heartbeat_key(stream_id: str, which: str) -> str:
    return f"ms:ingest:publishing:{stream_id}:{which}"


def _stop_key(recording_id: str) -> str:
    return f"ms:ingest:stop:{recording_id}"


def is_publishing(stream, which: str | None = None) -> bool:
    """A fresh heartbeat for that key (or any key)."""

    names = [which] if which else list(_KEY_NAMES)
    return any(cache.get(_heartbeat_key(stream.pk, n)) for n in names)


def _beat(stream_id: str, which: str, addr: str = "") -> None:

    cache.set(_heartbeat_key(stream_id, which), addr or "-", PUBLISH_HEARTBEAT_SECONDS)


def request_stop(recording_id: str) -> None:
    """Ask the transcoder of a recording to finish (it checks every couple of seconds)."""

    cache.set(_stop_key(recording_id), 1, STOP_FLAG_SECONDS)


def stop_requested(recording_id: str) -> bool:

    return bool(cache.get(_stop_key(recording_id)))


def ensure_stream(event):
    """The event's LiveStream, created with fresh keys on first use."""

    stream, _created = LiveStream.objects.get_or_create(event=event)
    return stream


def rotate_key(stream, *, backup: bool = False):
    """A new main (or backup) key. The old key is refused from now on; an encoder still publishing
    with it is dropped at nginx's next on_update call, and its recording is finished."""


    which = "backup" if backup else "main"
    field = "backup_key" if backup else "stream_key"
    with transaction.atomic():
        locked = LiveStream.objects.select_for_update().select_related("event").get(pk=stream.pk)
        setattr(locked, field, StreamKey("backup" if backup else "live")())
        locked.key_rotated_at = timezone.now()
        locked.save(update_fields=[field, "key_rotated_at", "updated_at"])
        if cache.get(_heartbeat_key(locked.pk, which)):
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
        _beat(locked.pk, which, addr)
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
        _beat(locked.pk, TEST_KEY, addr)
        recording = Recording.objects.create(stream=locked, source=Recording.Source.TEST)
        _queue_transcode(recording.pk, {"kind": "rtmp", "which": TEST_KEY})
    return locked


def keep_publishing(key: str, app: str = INGEST_APP) -> bool:
    """nginx-rtmp's on_update (every few seconds while publishing): False drops the publisher
    (its key was rotated away); True refreshes the heartbeat."""
    stream, which = _key_lookup(key)
    if stream is None or app != INGEST_APP:
        return False
    _beat(stream.pk, which)
    return True


def publish_done(key: str, app: str = INGEST_APP):
    """nginx-rtmp's on_publish_done. Unknown (e.g. rotated) keys are a no-op. Returns the stream."""


    stream, which = _key_lookup(key)
    if stream is None:
        return None
    if which == TEST_KEY:  # the test ends; the show's state is untouched
        cache.delete(_heartbeat_key(stream.pk, TEST_KEY))
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


    cache.delete(_heartbeat_key(stream.pk, which))
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


    transaction.on_commit(lambda: tasks.transcode_recording.delay(recording_id, spec))


def start_rehearsal(stream, *, pattern_seconds: int | None = None, upload=None, realtime: bool = True):
    """"Go live from a file or test pattern": the same transcode as a live publish, fed by ffmpeg's
    test pattern (`pattern_seconds` long) or an uploaded file (saved to storage first). Refused while
    an encoder or another rehearsal is on air. Returns the Recording."""




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
        _beat(locked.pk, "file")
        locked.publishing_key, locked.publisher_addr, locked.publishing_since = "file", "", timezone.now()
        locked.status = LiveStream.Status.LIVE
        locked.save(update_fields=["publishing_key", "publisher_addr", "publishing_since", "status",
                                   "updated_at"])
        recording = Recording.objects.create(stream=locked, source=Recording.Source.FILE)
        _queue_transcode(recording.pk, spec)
    return recording


def stop_rehearsal(stream) -> None:

    for rec_id in Recording.objects.filter(stream=stream, source=Recording.Source.FILE,
                                           status=Recording.Status.RECORDING).values_list("pk", flat=True):
        request_stop(rec_id)


def record_health(stream_id: str, health: dict, *, which: str | None = None) -> None:
    """The transcoder's latest measurements (also a heartbeat for the key it follows)."""


    previous = LiveStream.objects.filter(pk=stream_id).values_list("health", flat=True).first()
    LiveStream.objects.filter(pk=stream_id).update(health=health, health_at=timezone.now())
    try:  # thresholds crossed → an incident for the team; never stops the transcoder
        alerts.check_health(stream_id, health, previous)
    except Exception:
        log.exception("stream health check of %s failed", stream_id)
    if which and LiveStream.objects.filter(pk=stream_id, publishing_key=which).exists():
        _beat(stream_id, which)  # only while the stream still follows this key (not after a rotation)


def recording_progress(recording_id: str, *, duration: float | None, progress: int | None = None) -> None:

    fields: dict = {"duration_seconds": duration}
    if progress is not None:
        fields["progress"] = max(0, min(100, progress))
    Recording.objects.filter(pk=recording_id, status=Recording.Status.RECORDING).update(**fields)


def hls_prefix_for(recording) -> str:
    return f"streams/{recording.stream.event_id}/{recording.pk}/"


def transcode_recording(recording_id: str, spec: dict) -> str:
    """Run a recording's transcode from start to finish; idempotent (a finished recording is left
    alone; a recording whose earlier run died part-way is marked failed rather than overwritten).

    spec: {"kind": "rtmp", "which": "main"|"backup"|"test"} | {"kind": "pattern", "seconds": n, "realtime": b}
          | {"kind": "file", "path": <storage name>, "realtime": b}. Returns the final status.
    """



    with transaction.atomic():
        rec = Recording.objects.select_for_update().select_related("stream", "stream__event").filter(
            pk=recording_id).first()
        if rec is None or rec.status != Recording.Status.RECORDING:
            return rec.status if rec else "missing"
        if rec.hls_prefix:  # a previous run started and died (worker lost): don't write over it
            rec.status, rec.error, rec.finished_at = Recording.Status.FAILED, "The transcoder stopped.", timezone.now()
            rec.save(update_fields=["status", "error", "finished_at"])
            _release_file_publish(rec.stream_id, rec.source)
            return rec.status
        rec.hls_prefix = hls_prefix_for(rec)
        rec.save(update_fields=["hls_prefix"])
    stream = rec.stream
    kind = spec.get("kind")
    which = spec.get("which") if kind == "rtmp" else "file"
    workdir = Path(tempfile.mkdtemp(prefix=f"ms-hls-{rec.pk}-", dir=getattr(settings, "TRANSCODE_DIR", None)))
    sync = media.StorageSync(workdir / "hls", default_storage, rec.hls_prefix)
    error = ""
    try:
        if kind == "rtmp":
            key = {"main": stream.stream_key, "backup": stream.backup_key, TEST_KEY: stream.test_key}[which]
            host, port = "127.0.0.1", rtmp_endpoint()[1]
            source = _probe_live(media.rtmp_source(media.rtmp_pull_url(host, port, INGEST_APP, key)), rec.pk)
        elif kind == "pattern":
            source = media.pattern_source(float(spec["seconds"]), realtime=bool(spec.get("realtime")))
        elif kind == "file":
            local = workdir / ("input" + Path(spec["path"]).suffix)
            with default_storage.open(spec["path"], "rb") as src, local.open("wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    dst.write(chunk)
            source = media.probe(media.file_source(local, realtime=bool(spec.get("realtime"))))
        else:
            raise ValueError(f"unknown source kind {kind!r}")
        total = source.duration

        def on_health(health):
            if which == TEST_KEY:  # a test is not the show: keep its key's heartbeat, not the stream's health
                if not stop_requested(rec.pk):
                    _beat(stream.pk, TEST_KEY)
            else:
                record_health(stream.pk, health, which=None if stop_requested(rec.pk) else which)
            out = health.get("out_time_s")
            recording_progress(rec.pk, duration=out,
                               progress=int(out * 100 / total) if (out and total) else None)

        outcome = media.run_ladder(source, workdir / "hls", on_health=on_health, on_tick=sync.sync,
                                   should_stop=lambda: stop_requested(rec.pk),
                                   stop_grace=10 if kind == "rtmp" else 0)
        sync.sync()
        if outcome.returncode not in (0, 255) and not sync.uploaded:  # 255: stopped by SIGINT
            raise RuntimeError("; ".join(outcome.errors[-3:]) or f"ffmpeg exited with {outcome.returncode}")
        Recording.objects.filter(pk=rec.pk).update(status=Recording.Status.PROCESSING)
        kept = media.make_recording(workdir / "hls")
        if kept is None:
            raise RuntimeError("No video arrived.")
        sync.put(media.RECORDING_NAME, kept)
        duration = _hls_duration(workdir / "hls")
        Recording.objects.filter(pk=rec.pk).update(
            status=Recording.Status.READY, progress=100, duration_seconds=duration,
            file=rec.hls_prefix + media.RECORDING_NAME, finished_at=timezone.now(), error="")
    except Exception as exc:  # the recording says what went wrong; the worker stays up
        error = str(exc)[:500] or type(exc).__name__
        Recording.objects.filter(pk=rec.pk).update(status=Recording.Status.FAILED, error=error,
                                                   finished_at=timezone.now())
    finally:
        media.cleanup(workdir)
        _release_file_publish(stream.pk, rec.source)
    return Recording.objects.filter(pk=rec.pk).values_list("status", flat=True).first()


def _probe_live(source, recording_id: str, attempts: int = 15):
    """Probe an RTMP pull, retrying while nginx has not started the stream yet (on_publish answers
    before the first packet); gives up when the publish is over."""


    for attempt in range(attempts):
        try:
            return media.probe(source, timeout=20)
        except (ValueError, OSError) as exc:
            if attempt == attempts - 1 or stop_requested(recording_id):
                raise ValueError(f"Could not read the live input: {exc}")
            time.sleep(1)
    raise ValueError("Could not read the live input.")


def _hls_duration(hls_dir) -> float | None:

    for rung in media.LADDER:
        playlist = hls_dir / rung.name / media.VARIANT_PLAYLIST
        if playlist.exists():
            return round(sum(d for d, _ in media.playlist_entries(playlist.read_text())), 3)
    return None


def _release_file_publish(stream_id: str, source: str) -> None:
    """After a rehearsal (file or pattern) ends: the stream is off air again, unless an encoder took over."""


    if source != Recording.Source.FILE:
        return
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().select_related("event").get(pk=stream_id)
        cache.delete(_heartbeat_key(stream_id, "file"))
        if stream.publishing_key == "file":
            stream.publishing_key, stream.publishing_since = "", None
            now = timezone.now()
            stream.status = LiveStream.Status.ENDED if now >= stream.event.ends_at else LiveStream.Status.IDLE
            stream.save(update_fields=["publishing_key", "publishing_since", "status", "updated_at"])


# --- chat -----------------------------------------------------------------------------------
# Posting, moderation and presence of an event's live chat. Consumers call these through
# database_sync_to_async; every call re-checks who the person is allowed to be. Limits that must
# hold across web processes (rate limit, slow mode, presence) live in Redis.

MAX_MUTE_MINUTES = 7 * 24 * 60
MAX_SLOW_MODE_SECONDS = 3600
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


def _chat_rate() -> tuple[int, float]:

    count, _slash, seconds = str(settings.CHAT_RATE_LIMIT).partition("/")
    return int(count), float(seconds or 10)


def _chat_access_or_refuse(event_id: str, user, *, moderate: bool = False):


    access = chat_access(event_id, user)
    if access is None:
        raise NotFound(_("No such event."), code="not_found")
    if user is None or not user.is_authenticated:
        raise Forbidden(_("Log in with a ticket to chat."), code="login_required")
    if moderate and not access.can_moderate:
        raise Forbidden(_("Only the event's moderators can do that."), code="forbidden")
    if not access.can_post:
        raise Forbidden(_("Only ticket holders and the team can chat."), code="forbidden")
    return access


def clean_chat_text(text) -> str:
    """One line of plain text: control characters (including NUL, which PostgreSQL refuses) become
    spaces; empty or over-long text is refused. HTML is never interpreted: clients set textContent."""


    if not isinstance(text, str):
        raise Invalid(_("The text must be a string."), code="invalid")
    text = _CONTROL_CHARS.sub(" ", text).strip()
    if not text:
        raise Invalid(_("Say something first."), code="empty")
    if len(text) > settings.CHAT_MAX_LENGTH:
        raise Invalid(
            _("Messages are at most %(chat_max_length)s characters.") % {"chat_max_length": settings.CHAT_MAX_LENGTH},
            code="too_long",
            max_length=settings.CHAT_MAX_LENGTH,
        )
    return text


def _take_rate_slot(event_id: str, user_id: str) -> None:
    """Sliding window in a Redis sorted set: at most N messages per window per person and event."""


    limit, window = _chat_rate()
    key = f"ms:chat:rate:{event_id}:{user_id}"
    now = time.time()
    member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
    pipe = chat_redis().pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", now - window)
    pipe.zadd(key, {member: now})
    pipe.zcard(key)
    pipe.zrange(key, 0, 0, withscores=True)
    pipe.expire(key, int(window) + 1)
    _added, _trimmed, count, oldest, _expiry = pipe.execute()
    if count > limit:
        chat_redis().zrem(key, member)  # a refused message does not use up a slot
        retry = max(0.1, (oldest[0][1] + window - now) if oldest else window)
        raise ServiceError(_("Slow down: at most %(limit)s messages every %(window)s seconds.")
                           % {"limit": limit, "window": f"{window:g}"}, code="rate_limited",
                           status=429, retry_after=round(retry, 1))


def _take_slow_mode_slot(event_id: str, user_id: str, seconds: int) -> None:


    if seconds <= 0:
        return
    r = chat_redis()
    key = f"ms:chat:slow:{event_id}:{user_id}"
    if not r.set(key, 1, nx=True, ex=seconds):
        left = max(1, r.ttl(key))
        raise ServiceError(
            _("Slow mode is on: one message every %(seconds)s seconds (wait %(left)s s).")
            % {"seconds": seconds, "left": left},
            code="slow_mode",
            status=429,
            retry_after=left,
        )


def post_chat(*, event_id: str, user, text) -> dict:
    """Keep a message and announce it to the room (on commit). Returns the broadcast payload."""



    text = clean_chat_text(text)
    access = _chat_access_or_refuse(event_id, user)
    now = timezone.now()
    mute = ChatMute.objects.filter(event_id=event_id, user=user, until__gt=now).first()
    if mute is not None:
        raise Forbidden(
            _("A moderator muted you until %(until)s UTC.") % {"until": f"{mute.until:%H:%M}"},
            code="muted",
            until=mute.until.isoformat(),
        )
    _take_rate_slot(event_id, user.pk)
    if not access.can_moderate:
        _take_slow_mode_slot(event_id, user.pk, slow_mode_seconds(event_id))
    with transaction.atomic():
        message = ChatMessage.objects.create(event_id=event_id, user=user, text=text)
        message.user = user
        payload = chat_payload(message)
        realtime.publish(realtime.event_group(event_id), payload)
    return payload


def delete_chat(*, event_id: str, message_id, actor) -> dict:
    """Moderators hide a message for everyone; deleting twice is harmless."""



    if not isinstance(message_id, str) or not message_id:
        raise Invalid(_("Which message? Give its id."), code="invalid")
    _chat_access_or_refuse(event_id, actor, moderate=True)
    return hide_chat_message(event_id=event_id, message_id=message_id, actor=actor)


def hide_chat_message(*, event_id: str, message_id: str, actor) -> dict:
    """Hide a message for everyone (after the caller checked the actor may: team moderators, or staff
    in the admin)."""



    with transaction.atomic():
        message = ChatMessage.objects.select_for_update().filter(pk=message_id, event_id=event_id).first()
        if message is None:
            raise NotFound(_("No such message."), code="not_found")
        if message.deleted_at is None:
            message.deleted_at, message.deleted_by = timezone.now(), actor
            message.save(update_fields=["deleted_at", "deleted_by"])
        payload = {"type": "chat_deleted", "id": message.pk}
        realtime.publish(realtime.event_group(event_id), payload)
    return payload


def mute_chat_user(*, event_id: str, user_id, minutes, actor) -> dict:
    """Silence someone in this event's chat for `minutes` (0 lifts the mute). The team cannot be muted."""



    if not isinstance(user_id, str) or not user_id:
        raise Invalid(_("Whom? Give the person's id."), code="invalid")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_MUTE_MINUTES:
        raise Invalid(
            _("Minutes are a whole number from 0 to %(max_mute_minutes)s.") % {"max_mute_minutes": MAX_MUTE_MINUTES},
            code="invalid",
        )
    _chat_access_or_refuse(event_id, actor, moderate=True)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound(_("No such person."), code="not_found")
    creator_id = Event.objects.filter(pk=event_id).values_list("creator_id", flat=True).first()
    if role_of(target, creator_id) is not None:
        raise Forbidden(_("Team members cannot be muted."), code="forbidden")
    realtime.access_changed(target.pk, event_id)  # their sockets go read-only (or back) at once
    if minutes == 0:
        ChatMute.objects.filter(event_id=event_id, user=target).delete()
        return {"type": "mute", "user": target.pk, "until": None}
    until = timezone.now() + timedelta(minutes=minutes)
    ChatMute.objects.update_or_create(event_id=event_id, user=target, defaults={"until": until, "muted_by": actor})
    return {"type": "mute", "user": target.pk, "until": until.isoformat()}


def set_slow_mode(*, event_id: str, seconds, actor) -> dict:
    """Per-event minimum seconds between one person's messages (0 turns slow mode off)."""


    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise Invalid(
            _("Slow mode is a whole number of seconds from 0 to %(max_slow_mode_seconds)s.")
            % {"max_slow_mode_seconds": MAX_SLOW_MODE_SECONDS},
            code="invalid",
        )
    _chat_access_or_refuse(event_id, actor, moderate=True)
    stream, _created = LiveStream.objects.get_or_create(event_id=event_id)
    if stream.slow_mode_seconds != seconds:
        stream.slow_mode_seconds = seconds
        stream.save(update_fields=["slow_mode_seconds", "updated_at"])
    payload = {"type": "slow_mode", "seconds": seconds}
    realtime.publish(realtime.event_group(event_id), payload)
    return payload


def presence_join(event_id: str, connection_id: str, person: str = "") -> None:
    """Count a watching connection of `person` (also its heartbeat: the score is the time last seen);
    viewer_count counts people, so one person's many connections count once."""

    key = presence_key(event_id)
    pipe = chat_redis().pipeline(transaction=False)
    pipe.zadd(key, {presence_member(connection_id, person): time.time()})
    pipe.expire(key, PRESENCE_TTL_SECONDS * 10)
    pipe.execute()


def presence_leave(event_id: str, connection_id: str, person: str = "") -> None:

    chat_redis().zrem(presence_key(event_id), presence_member(connection_id, person))


def claim_presence_broadcast(event_id: str) -> tuple[int | None, float]:
    """At most one viewer-count broadcast per event per PRESENCE_THROTTLE_SECONDS, across processes.

    Returns (viewers, 0) to whoever may broadcast now (also raising the stream's peak), else
    (None, seconds until it may try again) — the caller retries then, so the last change is
    always announced."""


    throttle_ms = max(1, int(settings.PRESENCE_THROTTLE_SECONDS * 1000))
    r = chat_redis()
    key = f"ms:presence:throttle:{event_id}"
    if not r.set(key, 1, nx=True, px=throttle_ms):
        wait = r.pttl(key)
        return None, (wait if wait and wait > 0 else throttle_ms) / 1000
    viewers = viewer_count(event_id)
    LiveStream.objects.filter(event_id=event_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)
    return viewers, 0.0


# --- clips -------------------------------------------------------------------------------------
# Creating clips (validated here, cut by a Celery task: streaming/clip_tasks.py) and uploaded
# recordings. The ffmpeg work itself is in streaming/cutting.py; files go through the default storage.
MAX_CLIP_SECONDS = 5 * 60
MIN_CLIP_SECONDS = 1.0
MAX_UPLOAD_BYTES = 8 * 1024**3
UPLOAD_CONTENT_TYPES = ("video/",)


def _storage():

    return default_storage


def storage_source(name: str) -> str:
    """Something ffmpeg can read for a stored file: its local path, or a presigned URL (S3: ffmpeg
    reads it with HTTP range requests, so cutting a minute does not download the hour)."""
    storage = _storage()
    try:
        return storage.path(name)
    except NotImplementedError:
        try:
            return storage.url(name, expire=6 * 3600)
        except TypeError:  # a storage whose url() takes no expiry
            return storage.url(name)


def _save(name: str, path) -> str:

    storage = _storage()
    if storage.exists(name):
        storage.delete(name)
    with open(path, "rb") as fh:
        return storage.save(name, File(fh))


def create_clip(*, event, user, start_seconds, end_seconds, title, access):
    """A clip of the event's replay, cut in the background; only the owner and managers make clips."""




    creator_for_team(user, event.creator_id, roles=EDIT_ROLES)
    fields: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        fields["title"] = [_("Give the clip a title.")]
    elif len(title) > 120:
        fields["title"] = [_("At most 120 characters.")]
    if access not in Clip.Access.values:
        fields["access"] = [_("One of: %(choices)s.") % {"choices": ", ".join(Clip.Access.values)}]
    try:
        start, end = float(start_seconds), float(end_seconds)
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError
    except (TypeError, ValueError):
        fields["start_seconds"] = [_("Seconds from the start of the recording, as numbers.")]
        raise Invalid(_("Some fields are invalid."), fields=fields) from None
    recording = replay_recording(event)
    if recording is None:
        raise Conflict(_("This event has no finished recording to cut clips from yet."), code="no_recording")
    if start < 0:
        fields["start_seconds"] = [_("The clip cannot start before the recording.")]
    if end <= start:
        fields["end_seconds"] = [_("The clip must end after it starts.")]
    elif end - start < MIN_CLIP_SECONDS:
        fields["end_seconds"] = [_("A clip lasts at least %(seconds)s second.") % {"seconds": f"{MIN_CLIP_SECONDS:g}"}]
    elif end - start > MAX_CLIP_SECONDS:
        fields["end_seconds"] = [_("A clip lasts at most %(minutes)s minutes.") % {"minutes": MAX_CLIP_SECONDS // 60}]
    if recording.duration_seconds is not None and end > recording.duration_seconds + 0.01:
        fields["end_seconds"] = [
            _("The recording lasts %(seconds)s s.") % {"seconds": f"{recording.duration_seconds:.1f}"}
        ]
    if fields:
        raise Invalid(next(iter(fields.values()))[0] if len(fields) == 1 else _("Some fields are invalid."),
                      fields=fields)
    with transaction.atomic():
        clip = Clip.objects.create(event=event, recording=recording, title=title, start_seconds=round(start, 3),
                                   end_seconds=round(end, 3), access=access, created_by=user)
        transaction.on_commit(lambda: _cut_later(clip.pk))
    return clip


def _cut_later(clip_id: str) -> None:
    from .clip_tasks import cut_clip

    cut_clip.delay(clip_id)


def _progress_writer(model, pk):
    """A callback that stores progress (0..99) when it moved by at least 2 points."""
    last = [-1]

    def write(fraction: float) -> None:
        value = max(0, min(99, int(fraction * 100)))
        if value >= last[0] + 2:
            last[0] = value
            model.objects.filter(pk=pk).update(progress=value)

    return write


def cut_clip(clip_id: str) -> None:
    """Cut a clip, make its thumbnail and store both. Idempotent: a ready clip is left alone, a
    re-run (crashed worker) starts over and replaces the files."""


    clip = Clip.objects.select_related("recording").filter(pk=clip_id).first()
    if clip is None or clip.status == Clip.Status.READY:
        return
    report = _progress_writer(Clip, clip.pk)
    try:
        source = storage_source(clip.recording.file)
        with tempfile.TemporaryDirectory(prefix="ms-clip-") as tmp:
            out, thumb = Path(tmp) / "clip.mp4", Path(tmp) / "thumb.jpg"
            result = cutting.cut(source, clip.start_seconds, clip.end_seconds, out,
                                 on_progress=lambda f: report(0.95 * f))
            cutting.thumbnail(str(out), min(1.0, result.duration / 2), thumb)
            # A random folder: the files are only reachable through signed URLs, even where the
            # storage itself is publicly served.
            folder = f"clips/{clip.pk}/{secrets.token_urlsafe(12)}"
            old = [n for n in (clip.file, clip.thumbnail) if n]
            file_name, thumb_name = _save(f"{folder}/clip.mp4", out), _save(f"{folder}/thumb.jpg", thumb)
    except (cutting.CutError, OSError) as exc:
        Clip.objects.filter(pk=clip.pk).update(status=Clip.Status.FAILED, error=str(exc)[:500])
        return
    Clip.objects.filter(pk=clip.pk).update(status=Clip.Status.READY, progress=100, file=file_name,
                                           thumbnail=thumb_name, duration=round(result.duration, 3),
                                           error=result.notes[:500])
    for name in old:
        _storage().delete(name)


def upload_recording(*, event, user, upload):
    """A recording uploaded when the live stream failed: validated (a video type, within the size
    limit, and it decodes), stored, then given HLS renditions by a task. Owner and managers only."""




    creator_for_team(user, event.creator_id, roles=EDIT_ROLES)
    content_type = (getattr(upload, "content_type", "") or "").lower()
    if not content_type.startswith(UPLOAD_CONTENT_TYPES):
        raise Invalid(_("Upload a video file."), fields={"file": [_("Upload a video file (video/*).")]})
    if upload.size > MAX_UPLOAD_BYTES:
        raise Invalid(
            _("The file is too large."),
            fields={"file": [_("At most %(size)s GB.") % {"size": MAX_UPLOAD_BYTES // 1024**3}]},
        )
    with tempfile.NamedTemporaryFile(prefix="ms-upload-", suffix=".bin") as tmp:
        if hasattr(upload, "temporary_file_path"):
            path = upload.temporary_file_path()
        else:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            path = tmp.name
        try:
            info = cutting.probe(path)
            if info.video_codec is None or not info.duration:
                raise cutting.CutError("no video stream")
            cutting.decodes(path, seconds=5)
        except cutting.CutError:
            raise Invalid(_("That file is not a video we can play."),
                          fields={"file": [_("That file is not a video we can play.")]}) from None
        stream, _created = LiveStream.objects.get_or_create(event=event)
        with transaction.atomic():
            recording = Recording.objects.create(stream=stream, source=Recording.Source.UPLOAD,
                                                 status=Recording.Status.PROCESSING,
                                                 duration_seconds=round(info.duration, 3))
            suffix = {"video/quicktime": ".mov", "video/webm": ".webm"}.get(content_type, ".mp4")
            upload.seek(0)
            name = _storage().save(f"recordings/{recording.pk}/upload{suffix}", upload)
            Recording.objects.filter(pk=recording.pk).update(file=name)
            recording.file = name
            transaction.on_commit(lambda: _package_later(recording.pk))
    return recording


def _package_later(recording_id: str) -> None:
    from .clip_tasks import package_upload

    package_upload.delay(recording_id)


def package_upload(recording_id: str) -> None:
    """HLS renditions of an uploaded recording, written through the storage. Idempotent."""



    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.status == Recording.Status.READY or not recording.file:
        return
    report = _progress_writer(Recording, recording.pk)
    try:
        with tempfile.TemporaryDirectory(prefix="ms-hls-") as tmp:
            out = Path(tmp)
            duration = cutting.hls_ladder(storage_source(recording.file), out, on_progress=lambda f: report(0.9 * f))
            prefix = f"recordings/{recording.pk}/hls-{secrets.token_urlsafe(8)}"
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    _save(f"{prefix}/{path.relative_to(out).as_posix()}", path)
    except (cutting.CutError, OSError) as exc:
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED, error=str(exc)[:500])
        return
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.READY, progress=100, hls_prefix=prefix,
                                                     duration_seconds=round(duration, 3), finished_at=timezone.now())


# --- control room preflight -----------------------------------------------------------------

PREFLIGHT_WINDOW_HOURS = 3  # how long before doors the checklist starts running by itself


def run_preflight(event_id: str) -> dict | None:
    """Run the checklist now and keep the result for the control room (idempotent: a later run
    simply replaces it)."""



    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return None
    result = preflight(event)
    cache.set(f"streaming:preflight:{event_id}", result, timeout=24 * 3600)
    alerts.check_preflight(event_id, result)
    return result


def preflight_due_events(now=None) -> list[str]:
    """Published events whose doors are within the preflight window (and not over)."""


    now = now or timezone.now()
    return list(Event.objects.filter(status=Event.Status.PUBLISHED, starts_at__lte=now + timedelta(
        hours=PREFLIGHT_WINDOW_HOURS), ends_at__gt=now).exclude(mode=Event.Mode.IN_PERSON)
        .values_list("pk", flat=True))
