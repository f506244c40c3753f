"""The watch player's audio-only fallback in Chromium, on HLS made by the real ladder command.

The ladder writes an audio-only rendition next to the video ones, but hls.js drops audio-only
levels when video levels exist. On a network too slow for the video (CDP network throttling), the
player stalls, falls back to the audio-only rendition by itself and plays it; the viewer's switch
brings the video back."""
import shutil
import subprocess
from pathlib import Path

import pytest

from streaming.media import Rung, Source, hls_command
from streaming.models import LiveStream, Recording

from .live_helpers import UvicornServer, make_room
from .test_watch_browser import logged_in_page, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def make_ladder(directory: Path, seconds: int = 24) -> str | None:
    """`seconds` of a noisy test pattern (so the video really needs its ~1.6 Mbit/s) and a tone,
    through the production ladder command: one 360p rendition plus the audio-only one."""
    directory.mkdir(parents=True, exist_ok=True)
    source = Source(args=["-f", "lavfi", "-i", f"testsrc=size=640x360:rate=25:duration={seconds},noise=alls=60:allf=t",
                          "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"],
                    video="0:v:0", audio="1:a:0", height=360, fps=25.0, duration=float(seconds), stats=False)
    try:
        argv = hls_command(source, directory, preset="ultrafast", rungs=[Rung("360p", 360, 1500)])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except Exception as exc:
        return f"ffmpeg could not run: {exc}"
    if proc.returncode or not (directory / "audio" / "index.m3u8").exists():
        return f"ffmpeg failed: {proc.stderr[-300:]}"
    return None


def bytes_per_second(directory: Path) -> float:
    files = sorted(directory.glob("seg_*.ts"))
    return sum(f.stat().st_size for f in files) / (2 * len(files))


def test_slow_network_falls_back_to_audio_only(browser, tmp_path, artifacts):
    room = off_the_loop(make_room)
    stream = LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
    recording = Recording.objects.create(stream=stream, source=Recording.Source.LIVE,
                                         status=Recording.Status.RECORDING)
    prefix = f"streams/{room.event.pk}/{recording.pk}/"
    media = tmp_path / "media"
    problem = make_ladder(media / prefix)
    if problem:
        pytest.skip(problem)
    video_rate = bytes_per_second(media / prefix / "360p")
    audio_rate = bytes_per_second(media / prefix / "audio")
    # A network that carries the sound four times over but not a fifth of the picture.
    throughput = 4 * audio_rate
    assert throughput < video_rate / 4

    with UvicornServer(MICROSTAGE_MEDIA_ROOT=str(media)) as server:
        context, page = logged_in_page(browser, server, room.holder)
        try:
            # The page and its modules load at full speed, with no stream yet ("starting…").
            page.goto(f"/e/{room.event.slug}/watch/")
            page.wait_for_selector("#watch[data-ready='true']", state="attached")
            # hls.js fetched now (the player imports the same module URL later, from the module map).
            hls_lib = "document.getElementById('watch').dataset.hlsLib"
            assert page.evaluate(f"() => import({hls_lib}).then((m) => Boolean(m.default))")
            playlists = []
            page.on("request", lambda request: playlists.append(request.url) if ".m3u8" in request.url else None)

            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 40,
                                                          "downloadThroughput": throughput,
                                                          "uploadThroughput": throughput})
            Recording.objects.filter(pk=recording.pk).update(hls_prefix=prefix)  # the stream begins
            page.evaluate("() => window.dispatchEvent(new Event('online'))")  # the page asks for the stream now
            page.wait_for_selector("#audio-only:not([hidden])")  # the ladder has an audio-only rendition

            # Stalls on the video, then the player switches to audio only by itself, and plays.
            page.wait_for_selector("#player-wrap[data-mode='audio']", state="attached", timeout=90_000)
            assert "too slow for video" in page.inner_text("#audio-note")
            assert page.get_attribute("#audio-only", "aria-pressed") == "true"
            assert any(url.split("?")[0].endswith("/audio/index.m3u8") for url in playlists)
            start = page.evaluate("() => document.getElementById('player').currentTime")
            page.wait_for_function(f"() => document.getElementById('player').currentTime > {start} + 3",
                                   timeout=30_000)
            assert page.evaluate("() => document.getElementById('player').videoWidth") == 0  # sound only
            page.screenshot(path=str(artifacts / "watch-audio-only.png"), full_page=False)

            # On a good network again, the viewer's switch brings the picture back.
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                          "downloadThroughput": -1, "uploadThroughput": -1})
            page.click("#audio-only")
            page.wait_for_selector("#player-wrap[data-mode='video']", state="attached")
            page.wait_for_function("() => document.getElementById('player').videoWidth > 0", timeout=30_000)
            assert page.js_errors == []
        finally:
            context.close()
    shutil.rmtree(media, ignore_errors=True)
