"""Clips and uploaded recordings: creating clips (validated here, cut by the Celery task in
streaming/clip_tasks.py, queued by its name) and recordings uploaded when the live stream failed. The
ffmpeg work itself is in streaming/cutting.py; files go through the default storage.
"""
import math
import secrets
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.errors import Conflict, Invalid
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role

from .. import cutting, jobs
from ..models import Clip, LiveStream, Recording
from ..selectors import replay_recording

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


def create_clip(*, event, actor, start_seconds, end_seconds, title, access):
    """A clip of the event's replay, cut in the background; only the owner and managers make clips."""




    require_role(actor, event.creator_id, EDIT_ROLES)
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
                                   end_seconds=round(end, 3), access=access, created_by=actor)
        transaction.on_commit(lambda: _cut_later(clip.pk))
    return clip


def _cut_later(clip_id: str) -> None:
    jobs.enqueue(jobs.CUT_CLIP, clip_id)


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


def upload_recording(*, event, actor, upload):
    """A recording uploaded when the live stream failed: validated (a video type, within the size
    limit, and it decodes), stored, then given HLS renditions by a task. Owner and managers only."""




    require_role(actor, event.creator_id, EDIT_ROLES)
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
    jobs.enqueue(jobs.PACKAGE_UPLOAD, recording_id)


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
