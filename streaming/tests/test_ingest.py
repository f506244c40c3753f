"""The RTMP publish hooks, key rotation and the ingest API."""
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from events.tests.factories import EventFactory
from microstage.models import Role
from microstage.tests.factories import team_member
from streaming import selectors
from streaming.services import ingest
from streaming.models import LiveStream, Recording

from .rtmp_helpers import HOOK_PATHS, ON_PUBLISH, ON_UPDATE, SECRET, done, publish
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hook_secret")]

@pytest.fixture
def stream():
    """A stream whose event started 10 minutes ago and runs for another two hours."""
    now = timezone.now()
    event = EventFactory(starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2))
    return ingest.ensure_stream(event, actor=SYSTEM)


def test_own_key_accepted_once_then_again_after_done(client, stream, queued):
    assert publish(client, stream.stream_key).status_code == 200
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.LIVE and stream.publishing_key == "main"
    assert stream.publisher_addr == "203.0.113.7"
    rec = Recording.objects.get(stream=stream)
    assert rec.source == Recording.Source.LIVE and queued == [(rec.pk, {"kind": "rtmp", "which": "main"})]

    second = publish(client, stream.stream_key, addr="198.51.100.1")
    assert second.status_code == 403 and second.json()["code"] == "already_publishing"

    assert done(client, stream.stream_key).status_code == 200
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE and stream.publishing_key == ""
    assert selectors.stop_requested(rec.pk)
    assert publish(client, stream.stream_key).status_code == 200
    assert len(queued) == 2


def test_unknown_and_other_events_keys_refused(client, stream, queued):
    other = ingest.ensure_stream(EventFactory(starts_at=timezone.now() + timedelta(days=3)), actor=SYSTEM)
    assert publish(client, "live_not-a-key").status_code == 403
    # A key is a secret for one event only: the other event's key opens the other event's stream,
    # which is outside its window — it never opens this one.
    response = publish(client, other.stream_key)
    assert response.status_code == 403 and response.json()["code"] == "too_early"
    stream.refresh_from_db()
    assert stream.publishing_key == "" and not queued


@pytest.mark.parametrize(("start_in", "end_in", "allowed"), [
    (timedelta(minutes=119), timedelta(hours=3), True),      # inside the 120-minute rehearsal allowance
    (timedelta(minutes=121), timedelta(hours=3), False),     # before it
    (timedelta(hours=-3), timedelta(minutes=1), True),       # last minute of the show
    (timedelta(hours=-3), timedelta(seconds=-1), False),     # the show is over
])
def test_time_window_with_rehearsal_allowance(client, queued, start_in, end_in, allowed):
    now = timezone.now()
    stream = ingest.ensure_stream(EventFactory(starts_at=now + start_in, ends_at=now + end_in), actor=SYSTEM)
    response = publish(client, stream.stream_key)
    assert (response.status_code == 200) is allowed
    if not allowed:
        assert response.json()["code"] in ("too_early", "too_late")


def test_rehearsal_allowance_is_per_stream(client, queued):
    now = timezone.now()
    stream = ingest.ensure_stream(EventFactory(starts_at=now + timedelta(minutes=30)), actor=SYSTEM)
    stream.rehearsal_minutes = 15
    stream.save()
    assert publish(client, stream.stream_key).json()["code"] == "too_early"
    stream.rehearsal_minutes = 45
    stream.save()
    assert publish(client, stream.stream_key).status_code == 200


def test_cancelled_event_refused(client, stream, queued):
    Event.objects.filter(pk=stream.event_id).update(status=Event.Status.CANCELLED)
    assert publish(client, stream.stream_key).json()["code"] == "event_cancelled"


def test_wrong_app_and_bad_form_refused(client, stream, queued):
    assert publish(client, stream.stream_key, app="other").json()["code"] == "wrong_app"
    assert client.post(ON_PUBLISH, {"app": "live"}).status_code == 403
    assert client.post(ON_PUBLISH, {"name": stream.stream_key + "\x00", "app": "live"}).status_code == 403
    assert client.get(f"{ON_PUBLISH}&name={stream.stream_key}&app=live").status_code == 405
    assert not queued


@pytest.mark.parametrize("which", sorted(HOOK_PATHS))
@pytest.mark.parametrize("query", ["", "?secret=", "?secret=wrong", "?secret=" + SECRET[:-1], "?key=" + SECRET])
def test_hooks_refuse_callers_without_the_secret(client, stream, queued, which, query):
    """Someone who learned a stream key cannot start, keep or stop the stream by calling the hooks."""
    if which != "publish":
        assert publish(client, stream.stream_key).status_code == 200
    before = LiveStream.objects.get(pk=stream.pk)
    r = client.post(HOOK_PATHS[which] + query, {"name": stream.stream_key, "app": "live", "addr": "203.0.113.9"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get(HOOK_PATHS[which] + query, {"name": stream.stream_key, "app": "live"}).status_code == 403
    after = LiveStream.objects.get(pk=stream.pk)
    assert (after.status, after.publishing_key, after.publisher_addr) == \
        (before.status, before.publishing_key, before.publisher_addr)
    assert len(queued) == (0 if which == "publish" else 1)


def test_hooks_accept_the_allow_list_without_a_secret(client, stream, queued, settings):
    settings.RTMP_HOOK_ALLOW = ["10.1.2.0/24", "::1"]
    plain = {"name": stream.stream_key, "app": "live", "addr": "203.0.113.7"}
    assert client.post(HOOK_PATHS["publish"], plain, REMOTE_ADDR="10.1.3.4").status_code == 403
    assert client.post(HOOK_PATHS["publish"], plain, REMOTE_ADDR="10.1.2.4").status_code == 200
    assert client.post(HOOK_PATHS["done"], plain, REMOTE_ADDR="::1").status_code == 200
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStream.Status.IDLE


def test_unset_secret_is_generated_into_the_data_dir(client, stream, queued, settings, tmp_path):
    from streaming.hook_auth import hook_secret

    settings.RTMP_HOOK_SECRET = ""
    settings.DATA_DIR = tmp_path
    generated = hook_secret()
    assert len(generated) >= 32 and (tmp_path / "rtmp-hook-secret").read_text() == generated
    plain = {"name": stream.stream_key, "app": "live"}
    assert client.post(HOOK_PATHS["publish"] + "?secret=" + SECRET, plain).status_code == 403
    assert client.post(HOOK_PATHS["publish"] + "?secret=" + generated, plain).status_code == 200


def test_make_run_nginx_config_sends_the_secret(tmp_path):
    from microstage import devstack

    conf = devstack.render_nginx_rtmp(tmp_path, hook_base="http://127.0.0.1:8000/", rtmp_port=1935,
                                      load_module="", hook_secret="s3cr/t+")
    text = conf.read_text()
    for path in HOOK_PATHS.values():
        assert f"http://127.0.0.1:8000{path}?secret=s3cr%2Ft%2B;" in text
    assert "@HOOK_SECRET@" not in text
    assert conf.stat().st_mode & 0o077 == 0


def test_backup_key_publishes_beside_main_and_takes_over(client, stream, queued):
    assert publish(client, stream.stream_key).status_code == 200
    assert publish(client, stream.backup_key).status_code == 200          # stands by
    assert publish(client, stream.backup_key).status_code == 403          # but once at a time
    assert len(queued) == 1
    assert done(client, stream.stream_key).status_code == 200             # main leaves: backup takes over
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.LIVE and stream.publishing_key == "backup"
    assert queued[-1][1] == {"kind": "rtmp", "which": "backup"} and len(queued) == 2
    done(client, stream.backup_key)
    stream.refresh_from_db()
    assert stream.status == LiveStream.Status.IDLE


def test_rotated_key_refused_at_once_and_dropped_on_update(client, stream, queued):
    old = stream.stream_key
    assert publish(client, old).status_code == 200
    assert client.post(ON_UPDATE, {"name": old, "app": "live"}).status_code == 200
    stream = ingest.rotate_key(stream, actor=SYSTEM)
    assert stream.stream_key != old and stream.key_rotated_at is not None
    assert publish(client, old).json()["code"] == "unknown_key"
    assert client.post(ON_UPDATE, {"name": old, "app": "live"}).status_code == 403   # nginx drops it
    assert done(client, old).status_code == 200                                       # harmless
    stream.refresh_from_db()
    assert stream.publishing_key == "" and stream.status == LiveStream.Status.IDLE
    assert publish(client, stream.stream_key).status_code == 200                      # the new key works now


def test_stale_publish_does_not_block_the_key(client, stream, queued):
    from django.core.cache import cache

    assert publish(client, stream.stream_key).status_code == 200
    cache.delete(selectors.heartbeat_key(stream.pk, "main"))   # nginx died without publish_done
    assert publish(client, stream.stream_key).status_code == 200


def test_encoder_takes_over_from_a_rehearsal(client, stream, queued):
    rec = ingest.start_rehearsal(stream, pattern_seconds=60, actor=SYSTEM)
    stream.refresh_from_db()
    assert stream.publishing_key == "file" and stream.status == LiveStream.Status.LIVE
    with pytest.raises(Exception) as err:
        ingest.start_rehearsal(stream, pattern_seconds=60, actor=SYSTEM)
    assert getattr(err.value, "code", "") == "already_publishing"
    assert publish(client, stream.stream_key).status_code == 200
    assert selectors.stop_requested(rec.pk)
    stream.refresh_from_db()
    assert stream.publishing_key == "main"


# --- API -----------------------------------------------------------------------------------------

def test_api_stream_and_rotate_for_owner_and_manager(make_api, stream):
    for role in (Role.OWNER, Role.MANAGER):
        api = make_api(team_member(stream.event.creator, role))
        response = api.post(f"/api/v1/events/{stream.event_id}/stream")
        assert response.status_code == 201
        body = response.json()
        assert body["ingest_url"] == "rtmp://127.0.0.1:1935/live"
        assert body["stream_key"] == LiveStream.objects.get(pk=stream.pk).stream_key
        assert body["backup_stream_key"] and body["backup_ingest_url"].startswith("rtmp://")
        rotated = api.post(f"/api/v1/events/{stream.event_id}/stream/rotate-key")
        assert rotated.status_code == 200 and rotated.json()["stream_key"] != body["stream_key"]
        assert LiveStream.objects.get(pk=stream.pk).stream_key == rotated.json()["stream_key"]


def test_api_creates_the_stream_and_honours_settings(make_api, settings):
    settings.RTMP_HOST, settings.RTMP_BACKUP_HOST, settings.RTMP_PORT = "ingest.example", "ingest.example", 1936
    event = EventFactory()
    api = make_api(team_member(event.creator, Role.OWNER))
    response = api.post(f"/api/v1/events/{event.pk}/stream")
    assert response.status_code == 201 and response.json()["ingest_url"] == "rtmp://ingest.example:1936/live"
    assert LiveStream.objects.filter(event=event).count() == 1


def test_api_rotate_backup_key(make_api, stream):
    api = make_api(team_member(stream.event.creator, Role.OWNER))
    old_main, old_backup = stream.stream_key, stream.backup_key
    response = api.post(f"/api/v1/events/{stream.event_id}/stream/rotate-key", {"which": "backup"}, format="json")
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.stream_key == old_main and stream.backup_key != old_backup
    assert response.json()["stream_key"] == stream.backup_key
    bad = api.post(f"/api/v1/events/{stream.event_id}/stream/rotate-key", {"which": "both"}, format="json")
    assert bad.status_code == 400


def test_api_access(api, make_api, user, stream):
    url = f"/api/v1/events/{stream.event_id}/stream"
    assert api.post(url).status_code in (401, 403)                          # anonymous
    outsider = make_api(user)
    assert outsider.post(url).status_code == 404
    assert outsider.post(url + "/rotate-key").status_code == 404
    for role in (Role.DOOR, Role.MODERATOR):
        member = make_api(team_member(stream.event.creator, role))
        assert member.post(url).status_code == 403
        assert member.post(url + "/rotate-key").status_code == 403
    owner = make_api(team_member(stream.event.creator, Role.OWNER))
    assert owner.post("/api/v1/events/evt_nope/stream").status_code == 404
    assert owner.post("/api/v1/events/bad%00id/stream").status_code == 404
    old = stream.stream_key
    stream.refresh_from_db()
    assert stream.stream_key == old                                          # nobody rotated it


# --- dashboard panel -------------------------------------------------------------------------------

def test_dashboard_ingest_panel(client, stream, queued, user):
    owner = team_member(stream.event.creator, Role.OWNER)
    client.force_login(owner)
    url = f"/dashboard/live/{stream.event_id}/ingest/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "rtmp://127.0.0.1:1935/live" in html and stream.stream_key in html and stream.backup_key in html
    assert "<details>" in html and "Go live from a file or test pattern" in html
    assert "nginx" in html  # says whether RTMP ingest runs here
    assert client.get(url + "status/").status_code == 200

    old = stream.stream_key
    assert client.post(url + "rotate/", {"which": "main"}).status_code == 400          # no confirmation
    assert LiveStream.objects.get(pk=stream.pk).stream_key == old
    assert client.post(url + "rotate/", {"which": "main", "confirm": "on"}).status_code == 302
    assert LiveStream.objects.get(pk=stream.pk).stream_key != old

    assert client.post(url + "rehearsal/", {"source": "pattern", "minutes": "0"}).status_code == 400
    assert client.post(url + "rehearsal/", {"source": "file"}).status_code == 400
    assert client.post(url + "rehearsal/", {"source": "pattern", "minutes": "2"}).status_code == 302
    assert queued[-1][1] == {"kind": "pattern", "seconds": 120, "realtime": True}
    assert client.post(url + "rehearsal/", {"source": "pattern", "minutes": "2"}).status_code == 400  # on air
    assert client.post(url + "rehearsal/stop/").status_code == 302
    assert selectors.stop_requested(queued[-1][0])


def test_dashboard_ingest_access(client, stream, user):
    url = f"/dashboard/live/{stream.event_id}/ingest/"
    assert client.get(url).status_code == 302                                          # log in first
    client.force_login(user)
    assert client.get(url).status_code == 404                                          # outsider
    client.force_login(team_member(stream.event.creator, Role.DOOR))
    response = client.get(url)
    assert response.status_code == 302 and stream.stream_key not in response.content.decode()
    assert client.post(url + "rotate/", {"which": "main", "confirm": "on"}).status_code == 302
    assert LiveStream.objects.get(pk=stream.pk).stream_key == stream.stream_key


def test_going_live_tells_ticket_holders_once(client, stream, queued, monkeypatch, django_capture_on_commit_callbacks):
    from django.core import mail

    from events.notices import notify_stream_live
    from events.models import TICKET_KIND
    from events.tasks import notify_stream_live as task
    from events.tests.factories import TierFactory
    from commerce import services as commerce
    from microstage.tests.factories import UserFactory

    monkeypatch.setattr(task, "delay", notify_stream_live)  # the worker, inline
    tier = TierFactory(event=stream.event)
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 1)], buyer=UserFactory())
    commerce.sandbox_pay(order.pk)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert publish(client, stream.stream_key).status_code == 200
    assert done(client, stream.stream_key).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert publish(client, stream.stream_key).status_code == 200  # back after a drop-out: no second message
    live = [m for m in mail.outbox if "is live now" in m.subject]
    assert len(live) == 1 and live[0].to == [order.email.lower()]
