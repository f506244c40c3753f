"""The watch page plays what the live ladder makes (x264 tuned for zero latency: no B-frames), in Chromium."""
import dataclasses
import shutil
import subprocess

import pytest

from streaming import media as media_cmd
from streaming.models import LiveStream, Recording

from .live_helpers import UvicornServer, make_room
from .test_watch_browser import logged_in_page, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def test_the_watch_page_plays_the_live_ladder(browser, tmp_path, artifacts):
    room = off_the_loop(make_room)
    stream = LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
    recording = Recording.objects.create(stream=stream, source=Recording.Source.LIVE,
                                         status=Recording.Status.RECORDING)
    prefix = f"streams/{room.event.pk}/{recording.pk}/"
    media = tmp_path / "media"
    (media / prefix).mkdir(parents=True)
    source = dataclasses.replace(media_cmd.pattern_source(12, width=640, height=360, fps=25), live=True)
    argv = media_cmd.hls_command(source, media / prefix, preset="veryfast",
                                 rungs=[media_cmd.Rung("360p", 360, 800)])
    assert "zerolatency" in argv
    subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    Recording.objects.filter(pk=recording.pk).update(hls_prefix=prefix)

    with UvicornServer(MICROSTAGE_MEDIA_ROOT=str(media)) as server:
        context, page = logged_in_page(browser, server, room.holder)
        try:
            page.goto(f"/e/{room.event.slug}/watch/")
            page.wait_for_function("() => document.getElementById('player').currentTime > 2", timeout=60_000)
            assert page.evaluate("() => document.getElementById('player').videoWidth") == 640
            page.screenshot(path=str(artifacts / "watch-live-ladder.png"), full_page=False)
            assert page.js_errors == []
        finally:
            context.close()
    shutil.rmtree(media, ignore_errors=True)
