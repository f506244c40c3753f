"""The private test ingest: a creator tests OBS days before the show with a key that is always open to
the team; it is transcoded and shown in the control room only — never live on the watch page, never
played to ticket holders."""
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from streaming import media, playback, selectors
from streaming.services import ingest, transcode
from streaming.models import LiveStream, Recording
from streaming.selectors import playable_recording, playback_for, private_test_preview

from .rtmp_helpers import done, publish
from .test_transcode import assert_hls_decodes
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hook_secret")]


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def show_in_three_days():
    start = timezone.now() + timedelta(days=3)
    event = EventFactory(starts_at=start, ends_at=start + timedelta(hours=2))
    return ingest.ensure_stream(event, actor=SYSTEM)


def test_the_test_key_is_open_days_ahead_and_never_puts_the_show_on_air(client, queued):
    stream = show_in_three_days()
    early = publish(client, stream.stream_key)
    assert early.status_code == 403 and early.json()["code"] == "too_early"
    assert publish(client, stream.test_key).status_code == 200
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE and stream.publishing_key == ""
    rec = Recording.objects.get(stream=stream)
    assert rec.source == Recording.Source.TEST
    assert queued == [(rec.pk, {"kind": "rtmp", "which": "test"})]  # transcoded like the show
    again = publish(client, stream.test_key, addr="198.51.100.1")
    assert again.status_code == 403 and again.json()["code"] == "already_publishing"
    assert not selectors.is_publishing(stream)  # the show's keys: nothing on air
    assert done(client, stream.test_key).status_code == 200
    assert selectors.stop_requested(rec.pk)
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE


def test_a_test_beside_the_live_show_leaves_the_show_alone(client, queued):
    now = timezone.now()
    event = EventFactory(starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1))
    stream = ingest.ensure_stream(event, actor=SYSTEM)
    assert publish(client, stream.stream_key).status_code == 200
    assert publish(client, stream.test_key).status_code == 200
    live = Recording.objects.get(stream=stream, source=Recording.Source.LIVE)
    assert done(client, stream.test_key).status_code == 200
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.LIVE and stream.publishing_key == "main"
    assert not selectors.stop_requested(live.pk)


def test_attendees_never_see_it_and_the_control_room_does(media_root, source_video, source_hls, make_api):
    stream = show_in_three_days()
    event = stream.event
    from .media_helpers import make_recording

    rec = make_recording(event, source_video, source_hls, status=Recording.Status.RECORDING)
    Recording.objects.filter(pk=rec.pk).update(source=Recording.Source.TEST)
    LiveStream.objects.filter(pk=stream.pk).update(status=LiveStream.Status.LIVE)  # even if it were
    fan = UserFactory()
    buy(TierFactory(event=event), fan)
    assert playable_recording(event) is None and playback_for(event, fan) is None
    r = make_api(fan).get(f"/api/v1/events/{event.pk}/playback")
    assert r.status_code != 200 or rec.pk not in r.json().get("hls_url", "")
    client = Client()
    client.force_login(fan)
    watch = client.get(f"/e/{event.slug}/watch/").content.decode()
    assert rec.pk not in watch
    # An attendee's event token does not open the test's files.
    token, _ = playback.make_token(event.pk)
    assert client.get(f"/streaming/hls/{event.pk}/{token}/{rec.pk}/master.m3u8").status_code == 403
    # The team sees it in the control room, with a token of its own.
    owner = team_member(event.creator, Role.OWNER)
    client.force_login(owner)
    page = client.get(f"/dashboard/live/{event.pk}/control/").content.decode()
    preview = private_test_preview(event)
    assert preview["recording"] == rec.pk and preview["hls_url"] in page and "Private test" in page
    assert client.get(preview["hls_url"]).status_code == 200
    ingest = client.get(f"/dashboard/live/{event.pk}/ingest/").content.decode()
    assert stream.test_key in ingest and "Private test ingest" in ingest
    body = make_api(owner).post(f"/api/v1/events/{event.pk}/stream").json()
    assert body["test_stream_key"] == stream.test_key


@pytest.mark.django_db(transaction=True)
def test_an_obs_push_three_days_ahead_is_transcoded_for_the_team(nginx_rtmp, storage_root, queued):
    stream = show_in_three_days()
    push = subprocess.Popen(
        [media.ffmpeg_exe(), "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=854x480:rate=25:duration=10",
         "-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "50", "-c:a", "aac", "-f", "flv", f"rtmp://127.0.0.1:{nginx_rtmp}/live/{stream.test_key}"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not queued:
        assert push.poll() is None and time.monotonic() < deadline, push.stderr.read()
        time.sleep(0.1)
    rec_id, spec = queued[0]
    assert spec == {"kind": "rtmp", "which": "test"}
    result = {}
    worker = threading.Thread(target=lambda: result.update(status=transcode.transcode_recording(rec_id, spec)))
    worker.start()
    worker.join(90)
    assert not worker.is_alive(), "transcode did not finish after the test publisher left"
    assert push.wait(30) == 0, push.stderr.read()
    rec = Recording.objects.get(pk=rec_id)
    assert result["status"] == Recording.Status.READY, rec.error
    assert_hls_decodes(storage_root, rec, ["480p", "360p"], 2.0)
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE and stream.publishing_key == ""
    assert playable_recording(stream.event) is None  # the replay is not the test
    assert private_test_preview(stream.event)["recording"] == rec.pk
