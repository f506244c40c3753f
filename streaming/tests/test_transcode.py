"""The HLS ladder: test pattern, uploaded file and a real RTMP push through nginx, all decoding.

Decoding is checked with the imageio-ffmpeg binary (`ffmpeg -v error -i X -f null -`): this machine
has no ffprobe, and a clean full decode is a stronger check than probing anyway.
"""
import dataclasses
import re
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from events.tests.factories import EventFactory
from streaming import media
from streaming.services import ingest, transcode
from streaming.models import LiveStream, Recording
from microstage.permissions import SYSTEM



@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(ingest, "_queue_transcode",
                        lambda rec_id, spec: transaction.on_commit(lambda: calls.append((rec_id, spec))))
    return calls


def live_stream():
    now = timezone.now()
    return ingest.ensure_stream(EventFactory(starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)),
                                actor=SYSTEM)


def assert_hls_decodes(root: Path, rec: Recording, rungs: list[str], min_seconds: float):
    base = root / rec.hls_prefix
    master = (base / media.MASTER).read_text()
    assert master.startswith("#EXTM3U")
    listed = re.findall(r"^(\S+)/index\.m3u8$", master, re.M)
    assert listed == [*rungs, "audio"], master
    assert master.count("#EXT-X-STREAM-INF") == len(rungs) + 1
    assert 'CODECS="mp4a.40.2"' in master  # the audio-only fallback
    durations = {}
    for name in listed:
        text = (base / name / media.VARIANT_PLAYLIST).read_text()
        assert "#EXT-X-ENDLIST" in text and "#EXT-X-TARGETDURATION:2" in text
        entries = media.playlist_entries(text)
        assert entries, name
        for _, uri in entries:
            assert media.decode_errors(str(base / name / uri)) == "", (name, uri)
        assert media.decode_errors(str(base / name / media.VARIANT_PLAYLIST)) == ""
        durations[name] = [round(d, 1) for d, _ in entries]
    video = [durations[r] for r in rungs]
    assert all(d == video[0] for d in video), durations            # aligned keyframes: same cuts everywhere
    assert all(d == 2.0 for d in video[0][:-1]), video[0]           # 2-second segments
    assert media.decode_errors(str(base / media.MASTER)) == ""
    assert rec.file == rec.hls_prefix + media.RECORDING_NAME and default_storage.exists(rec.file)
    assert media.decode_errors(str(root / rec.file)) == ""
    assert rec.duration_seconds >= min_seconds


def keyframe_times(path: Path) -> list[float]:
    out = subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                          "-f", "framecrc", "-"], capture_output=True, text=True, check=True).stdout
    stats = media.InputStats(window=1e9)
    for line in out.splitlines():
        stats.feed(line)
    return [round(p[0], 2) for p in stats.packets if p[2]]


@pytest.mark.django_db
def test_test_pattern_makes_the_full_ladder(storage_root, queued, django_capture_on_commit_callbacks):
    stream = live_stream()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rec = ingest.start_rehearsal(stream, pattern_seconds=5, realtime=False, actor=SYSTEM)
    assert queued == []  # nothing is queued before the recording row is committed
    for callback in callbacks:
        callback()
    # Once committed, exactly this recording's transcode is queued, once.
    assert queued == [(rec.pk, {"kind": "pattern", "seconds": 5, "realtime": False})]
    status = transcode.transcode_recording(rec.pk, {"kind": "pattern", "seconds": 5, "realtime": False})
    rec.refresh_from_db()
    assert status == Recording.Status.READY, rec.error
    assert rec.progress == 100 and rec.finished_at and rec.source == Recording.Source.FILE
    assert rec.hls_prefix == f"streams/{stream.event_id}/{rec.pk}/"
    assert_hls_decodes(storage_root, rec, ["720p", "480p", "360p"], 4.9)
    assert abs(rec.duration_seconds - 5) < 0.3
    base = storage_root / rec.hls_prefix
    for rung in ("720p", "360p"):  # keyframes every 2 s, in every rendition
        seg = sorted((base / rung).glob("seg_*.ts"))[0]
        times = keyframe_times(seg)
        assert len(times) == 1, times
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE and stream.publishing_key == ""
    # Run twice: nothing done twice.
    assert transcode.transcode_recording(rec.pk, {"kind": "pattern", "seconds": 5}) == Recording.Status.READY


@pytest.mark.django_db
def test_uploaded_file_goes_through_the_same_pipeline(storage_root, queued, tmp_path):
    src = tmp_path / "clip.mp4"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25:duration=3",
                    "-f", "lavfi", "-i", "sine=frequency=330:duration=3", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-shortest", str(src)], check=True)
    stream = live_stream()
    upload = SimpleUploadedFile("clip.mp4", src.read_bytes(), content_type="video/mp4")
    rec = ingest.start_rehearsal(stream, upload=upload, realtime=False, actor=SYSTEM)
    spec = {"kind": "file", "path": next(iter(default_storage.listdir(f"streams/{stream.event_id}/uploads")[1])),
            "realtime": False}
    spec["path"] = f"streams/{stream.event_id}/uploads/{spec['path']}"
    assert transcode.transcode_recording(rec.pk, spec) == Recording.Status.READY
    rec.refresh_from_db()
    assert_hls_decodes(storage_root, rec, ["480p", "360p"], 2.9)  # never upscaled to 720p


@pytest.mark.django_db
def test_broken_input_fails_cleanly(storage_root, queued):
    stream = live_stream()
    rec = ingest.start_rehearsal(stream, upload=SimpleUploadedFile("x.mp4", b"not a video"), realtime=False,
                                 actor=SYSTEM)
    name = f"streams/{stream.event_id}/uploads/" + default_storage.listdir(f"streams/{stream.event_id}/uploads")[1][0]
    assert transcode.transcode_recording(rec.pk, {"kind": "file", "path": name}) == Recording.Status.FAILED
    rec.refresh_from_db()
    assert rec.error and rec.finished_at
    stream.refresh_from_db()
    assert stream.publishing_key == "" and stream.status == LiveStream.Status.IDLE


def test_progress_and_input_stats_parsing():
    blocks = list(media.parse_progress(["frame=60\n", "fps=29.5\n", "bitrate=1234.5kbits/s\n", "drop_frames=3\n",
                                        "out_time_us=2000000\n", "speed=1.01x\n", "progress=continue\n"]))
    assert len(blocks) == 1 and media.out_seconds(blocks[0]) == 2.0
    stats = media.InputStats()
    stats.feed("#tb 0: 1/1000")
    for i in range(121):  # 30 fps, 5000 bytes a frame, keyframe every 60 frames
        flags = "" if i % 60 == 0 else ", F=0x0"
        stats.feed(f"0, {i * 33}, {round(i * 1000 / 30)}, 33, 5000, 0xdeadbeef{flags}")
    health = media.health_from(blocks[0], stats, time.monotonic())
    assert health["measured"] == "input" and health["dropped_frames"] == 3 and health["fps"] == 29.5
    assert abs(health["input_fps"] - 30) < 0.5 and abs(health["keyframe_interval_s"] - 2.0) < 0.05
    assert abs(health["bitrate_kbps"] - 1200) < 30  # 5000 B x 30/s = 1200 kbit/s
    assert media.health_from(blocks[0], None, time.monotonic())["bitrate_kbps"] == 1234.5


# --- a real RTMP push through nginx with the RTMP module -------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_rtmp_push_through_nginx_makes_decodable_hls(nginx_rtmp, storage_root, queued):
    stream = live_stream()
    push = subprocess.Popen(
        [media.ffmpeg_exe(), "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=854x480:rate=25:duration=6",
         "-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "50", "-c:a", "aac", "-f", "flv", f"rtmp://127.0.0.1:{nginx_rtmp}/live/{stream.stream_key}"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not queued:
        assert push.poll() is None and time.monotonic() < deadline, push.stderr.read()
        time.sleep(0.1)
    rec_id, spec = queued[0]
    assert spec == {"kind": "rtmp", "which": "main"}
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStream.Status.LIVE
    # Somebody else with the same key is refused while this one is live (nginx asks our hook).
    intruder = subprocess.run(
        [media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=5:duration=1",
         "-c:v", "libx264", "-f", "flv", f"rtmp://127.0.0.1:{nginx_rtmp}/live/{stream.stream_key}"],
        capture_output=True, text=True, timeout=30)
    assert intruder.returncode != 0

    result = {}
    worker = threading.Thread(target=lambda: result.update(status=transcode.transcode_recording(rec_id, spec)))
    worker.start()
    worker.join(90)
    assert not worker.is_alive(), "transcode did not finish after the publisher left"
    assert push.wait(30) == 0, push.stderr.read()
    rec = Recording.objects.get(pk=rec_id)
    assert result["status"] == Recording.Status.READY, rec.error
    assert_hls_decodes(storage_root, rec, ["480p", "360p"], 2.0)
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE and stream.publishing_key == ""   # on_publish_done came
    assert stream.health and stream.health_at   # measured while it ran


def _reordered_frames(segment: Path) -> int:
    """Video packets shown before one that came earlier in the stream (B-frames, which hold frames back)."""
    out = subprocess.run([media.ffmpeg_exe(), "-v", "error", "-i", str(segment), "-map", "0:v:0", "-c", "copy",
                          "-f", "framecrc", "-"], capture_output=True, text=True, check=True).stdout
    pts = [int(line.split(",")[2]) for line in out.splitlines() if line and not line.startswith("#")]
    return sum(later < earlier for earlier, later in zip(pts, pts[1:]))


@pytest.mark.parametrize("live", [True, False], ids=["live", "file"])
def test_live_ladder_encodes_without_frame_delay(tmp_path, live):
    """Live input: no B-frames or lookahead holding frames in the encoder (glass-to-glass); files keep them."""
    source = dataclasses.replace(media.pattern_source(2, width=320, height=240, fps=30), live=live)
    workdir = tmp_path / "hls"
    (workdir / "240p").mkdir(parents=True)
    argv = media.hls_command(source, workdir, preset="veryfast", rungs=[media.Rung("240p", 240, 400)])
    subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    reordered = _reordered_frames(workdir / "240p" / "seg_00000.ts")
    assert (reordered == 0) if live else (reordered > 0)
