"""The HLS file hot path: one HMAC and no database query per segment; a change to the recording is
honoured by every process within HLS_LOOKUP_SECONDS (issue 11, item 7)."""
import shutil
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from microstage.models import Role
from microstage.tests.factories import team_member
from streaming import playback, selectors
from streaming.models import Recording
from streaming.selectors import HLS_LOOKUP_SECONDS, private_test_subject

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nginx_accel(settings):
    settings.MICROSTAGE_MEDIA_ACCEL = "nginx"


@pytest.fixture
def clock(monkeypatch):
    """streaming.selectors' monotonic clock, moved forward by hand (only that module's)."""

    class Clock:
        offset = 0.0

        @staticmethod
        def monotonic():
            return time.monotonic() + Clock.offset

        @staticmethod
        def time():
            return time.time()

    monkeypatch.setattr(selectors, "time", Clock)
    return Clock


def first_segment(recording) -> str:
    """The path of the first segment of the first rendition, relative to the recording's hls_prefix."""
    root = Path(default_storage.path(recording.hls_prefix))
    return str(min(root.rglob("*.ts")).relative_to(root))


def base_url(event, recording, subject=None) -> str:
    token, _ = playback.make_token(subject or event.pk)
    return f"/streaming/hls/{event.pk}/{token}/{recording.pk}"


def test_after_the_first_request_segments_and_playlists_cost_no_query(event, recording,
                                                                       django_assert_num_queries):
    client, base, segment = Client(), base_url(event, recording), first_segment(recording)
    with django_assert_num_queries(1):  # the first request of this process reads the recording
        assert client.get(f"{base}/{segment}").status_code == 200
    with django_assert_num_queries(0):  # then: one HMAC and the X-Accel-Redirect, nothing else
        seg = client.get(f"{base}/{segment}")
        master = client.get(f"{base}/master.m3u8")
    assert seg.status_code == 200 and seg["X-Accel-Redirect"] == f"/_media/{recording.hls_prefix}/{segment}"
    assert master.status_code == 200 and master.content.startswith(b"#EXTM3U")


def test_a_cached_recording_still_checks_every_token(event, recording, django_assert_num_queries):
    client, base, segment = Client(), base_url(event, recording), first_segment(recording)
    assert client.get(f"{base}/{segment}").status_code == 200
    token = base.split("/")[-2]
    forged = base.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    expired, _ = playback.make_token(event.pk, now=time.time() - 3 * playback.WINDOW_SECONDS)
    with django_assert_num_queries(0):
        assert client.get(f"{forged}/{segment}").status_code == 403
        assert client.get(f"{base.replace(token, expired)}/{segment}").status_code == 403


def test_a_new_hls_prefix_is_served_within_the_lookup_window(event, recording, clock):
    client, base, segment = Client(), base_url(event, recording), first_segment(recording)
    old = recording.hls_prefix
    assert client.get(f"{base}/{segment}")["X-Accel-Redirect"] == f"/_media/{old}/{segment}"
    new = f"recordings/{recording.pk}/hls-v2"
    shutil.copytree(default_storage.path(old), default_storage.path(new))
    Recording.objects.filter(pk=recording.pk).update(hls_prefix=new)
    clock.offset = HLS_LOOKUP_SECONDS + 0.01
    assert client.get(f"{base}/{segment}")["X-Accel-Redirect"] == f"/_media/{new}/{segment}"


@pytest.mark.parametrize("change", ["deleted", "renditions removed"])
def test_a_withdrawn_recording_stops_playing_within_the_lookup_window(event, recording, clock, change):
    client, base, segment = Client(), base_url(event, recording), first_segment(recording)
    assert client.get(f"{base}/{segment}").status_code == 200
    if change == "deleted":
        Recording.objects.filter(pk=recording.pk).delete()
    else:
        Recording.objects.filter(pk=recording.pk).update(hls_prefix="")
    clock.offset = HLS_LOOKUP_SECONDS + 0.01
    for path in (segment, "master.m3u8"):
        r = client.get(f"{base}/{path}")
        assert r.status_code == 404 and "X-Accel-Redirect" not in r


def test_a_finished_live_recording_loses_its_one_second_playlist_within_the_window(event, recording, clock):
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.RECORDING)
    client, base = Client(), base_url(event, recording)
    assert client.get(f"{base}/master.m3u8")["Cache-Control"] == "public, max-age=1"
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.READY)
    clock.offset = HLS_LOOKUP_SECONDS + 0.01
    assert client.get(f"{base}/master.m3u8")["Cache-Control"] != "public, max-age=1"


def test_a_private_test_recording_never_opens_with_the_event_token_even_when_cached(event, recording):
    Recording.objects.filter(pk=recording.pk).update(source=Recording.Source.TEST)
    team = Client()
    team.force_login(team_member(event.creator, Role.OWNER))
    assert team.get(f"{base_url(event, recording, private_test_subject(event.pk))}/master.m3u8").status_code == 200
    assert Client().get(f"{base_url(event, recording)}/master.m3u8").status_code == 403


def test_an_unknown_recording_is_not_remembered(event, recording, django_assert_num_queries):
    """A recording that just got its renditions plays at once: misses are never cached."""
    Recording.objects.filter(pk=recording.pk).update(hls_prefix="")
    client, base = Client(), base_url(event, recording)
    assert client.get(f"{base}/master.m3u8").status_code == 404
    Recording.objects.filter(pk=recording.pk).update(hls_prefix=f"recordings/{recording.pk}/hls")
    with django_assert_num_queries(1):
        assert client.get(f"{base}/master.m3u8").status_code == 200
