"""Transcode: running a recording's HLS ladder and the transcoder's bookkeeping (health readings,
progress, the end of a rehearsal). streaming/media.py runs ffmpeg; the Celery task in streaming/tasks.py
only calls transcode_recording here.
"""
import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .. import alerts, media
from ..models import LiveStream, Recording
from ..selectors import heartbeat_key, stop_requested
from .ingest import INGEST_APP, TEST_KEY, beat, rtmp_endpoint

log = logging.getLogger(__name__)


def record_health(stream_id: str, health: dict, *, which: str | None = None) -> None:
    """The transcoder's latest measurements (also a heartbeat for the key it follows)."""


    previous = LiveStream.objects.filter(pk=stream_id).values_list("health", flat=True).first()
    LiveStream.objects.filter(pk=stream_id).update(health=health, health_at=timezone.now())
    try:  # thresholds crossed → an incident for the team; never stops the transcoder
        alerts.check_health(stream_id, health, previous)
    except Exception:
        log.exception("stream health check of %s failed", stream_id)
    if which and LiveStream.objects.filter(pk=stream_id, publishing_key=which).exists():
        beat(stream_id, which)  # only while the stream still follows this key (not after a rotation)


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
                    beat(stream.pk, TEST_KEY)
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
        cache.delete(heartbeat_key(stream_id, "file"))
        if stream.publishing_key == "file":
            stream.publishing_key, stream.publishing_since = "", None
            now = timezone.now()
            stream.status = LiveStream.Status.ENDED if now >= stream.event.ends_at else LiveStream.Status.IDLE
            stream.save(update_fields=["publishing_key", "publishing_since", "status", "updated_at"])
