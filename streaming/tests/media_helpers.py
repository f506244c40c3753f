"""Test media for playback and clip tests: a short test video (lavfi testsrc + sine), made once per
session with the imageio-ffmpeg binary, and recordings written into the default storage."""
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from streaming.cutting import ffmpeg_exe, hls_ladder
from streaming.models import LiveStream, Recording

SOURCE_SECONDS = 20


@pytest.fixture(scope="session")
def source_video(tmp_path_factory) -> Path:
    """20 s of 320x240 at 30 fps, H.264 with a keyframe every 2 s (as the live ladder), AAC audio."""
    out = tmp_path_factory.mktemp("media") / "source.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(SOURCE_SECONDS),
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(out)],
                   check=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def source_hls(tmp_path_factory, source_video) -> Path:
    out = tmp_path_factory.mktemp("hls")
    hls_ladder(str(source_video), out)
    return out


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def make_recording(event, source_video: Path, source_hls: Path, *, status=Recording.Status.READY,
                   is_free=False) -> Recording:
    """A recording of `event` with its file and HLS renditions in the default storage."""
    stream, _ = LiveStream.objects.get_or_create(event=event, defaults={"is_free": is_free})
    if stream.is_free != is_free:
        stream.is_free = is_free
        stream.save(update_fields=["is_free"])
    recording = Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=status,
                                         duration_seconds=float(SOURCE_SECONDS))
    root = Path(default_storage.path(f"recordings/{recording.pk}"))
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(source_video, root / "recording.mp4")
    shutil.copytree(source_hls, root / "hls")
    recording.file = f"recordings/{recording.pk}/recording.mp4"
    recording.hls_prefix = f"recordings/{recording.pk}/hls"
    recording.save(update_fields=["file", "hls_prefix"])
    return recording
