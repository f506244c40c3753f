"""Stream trouble reaches the team, and the program switch reaches viewers: incidents opened and resolved by
health readings, the encoder heartbeat and preflight; one notification per incident to owner and managers;
the control room's switch (roles, bad input) publishing a "program" frame and the page's initial state."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from events.tests.factories import EventFactory
from microstage.models import Role
from microstage.notifications.models import Notification
from microstage.tests.factories import UserFactory, team_member
from streaming import alerts, selectors
from streaming.services import preflight, transcode
from streaming.models import LiveStream, Recording, StreamIncident

pytestmark = pytest.mark.django_db
Kind = StreamIncident.Kind


@pytest.fixture
def show(settings):
    settings.STREAM_MIN_BITRATE_KBPS = 500
    settings.STREAM_MAX_DROPPED_FRAMES = 10
    event = EventFactory(mode=Event.Mode.HYBRID, starts_at=timezone.now() - timedelta(minutes=10),
                         ends_at=timezone.now() + timedelta(hours=2))
    stream = LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE, publishing_key="main")
    team = {role: team_member(event.creator, role) for role in (Role.OWNER, Role.MANAGER, Role.DOOR, Role.MODERATOR)}
    return event, stream, team


def told(kind="stream_trouble"):
    return sorted(Notification.objects.filter(kind=kind, channel="email").values_list("recipient", flat=True))


def test_low_bitrate_opens_one_incident_and_tells_owner_and_managers_once(show, django_capture_on_commit_callbacks):
    event, stream, team = show
    with django_capture_on_commit_callbacks(execute=True):
        transcode.record_health(stream.pk, {"bitrate_kbps": 120.0, "dropped_frames": 0})
        transcode.record_health(stream.pk, {"bitrate_kbps": 90.0, "dropped_frames": 0})  # still low: same incident
    incident = StreamIncident.objects.get()
    assert incident.kind == Kind.LOW_BITRATE and incident.resolved_at is None
    assert told() == sorted([team[Role.OWNER].email, team[Role.MANAGER].email])
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert selectors.open_alerts(stream)[0]["kind"] == Kind.LOW_BITRATE
    transcode.record_health(stream.pk, {"bitrate_kbps": 2500.0, "dropped_frames": 0})
    incident.refresh_from_db()
    assert incident.resolved_at is not None and selectors.open_alerts(stream) == []


def test_a_flapping_bitrate_reopens_the_same_incident_without_a_new_message(show):
    event, stream, team = show
    transcode.record_health(stream.pk, {"bitrate_kbps": 100.0})
    transcode.record_health(stream.pk, {"bitrate_kbps": 3000.0})
    transcode.record_health(stream.pk, {"bitrate_kbps": 100.0})
    assert StreamIncident.objects.count() == 1 and StreamIncident.objects.get().resolved_at is None
    assert len(told()) == 2
    StreamIncident.objects.update(resolved_at=timezone.now() - timedelta(hours=1))  # long gone: a new one
    transcode.record_health(stream.pk, {"bitrate_kbps": 100.0})
    assert StreamIncident.objects.count() == 2 and len(told()) == 4


def test_dropped_frames_count_between_readings(show):
    event, stream, _ = show
    transcode.record_health(stream.pk, {"dropped_frames": 100})  # first reading: 100 since the start
    assert StreamIncident.objects.filter(kind=Kind.DROPPED_FRAMES, resolved_at__isnull=True).exists()
    transcode.record_health(stream.pk, {"dropped_frames": 105})  # 5 more: fine again
    assert not StreamIncident.objects.filter(kind=Kind.DROPPED_FRAMES, resolved_at__isnull=True).exists()
    transcode.record_health(stream.pk, {"dropped_frames": 2})  # a new transcoder counts from zero
    assert not StreamIncident.objects.filter(resolved_at__isnull=True).exists()


def test_no_figure_no_judgement(show):
    _, stream, _ = show
    transcode.record_health(stream.pk, {"bitrate_kbps": None, "dropped_frames": None, "fps": 30})
    assert not StreamIncident.objects.exists()


def test_the_encoder_gone_while_the_show_runs(show):
    event, stream, team = show
    Recording.objects.create(stream=stream, source=Recording.Source.LIVE)
    assert alerts.check_encoders() == 1  # live earlier, no heartbeat now
    assert alerts.check_encoders() == 0  # one incident, one message
    assert StreamIncident.objects.get().kind == Kind.ENCODER_GONE and len(told()) == 2
    cache.set(f"ms:ingest:publishing:{stream.pk}:main", "-", 45)  # the encoder is back
    alerts.check_encoders()
    assert StreamIncident.objects.get().resolved_at is not None


def test_the_encoder_check_runs_as_the_beat_task(show):
    from streaming.preflight_tasks import check_encoders

    event, stream, _ = show
    Recording.objects.create(stream=stream, source=Recording.Source.LIVE)
    assert check_encoders.name == "streaming.check_encoders"
    assert check_encoders.apply().get() == 1


def test_a_failed_preflight_tells_the_team(show):
    event, stream, team = show
    preflight.run_preflight(event.pk)  # nothing is publishing: the ingest line fails
    incident = StreamIncident.objects.get(kind=Kind.PREFLIGHT)
    assert "Ingest" in incident.detail and len(told()) == 2
    alerts.check_preflight(event.pk, {"lines": [{"status": "pass"}]})
    incident.refresh_from_db()
    assert incident.resolved_at is not None


class TestProgramSwitch:
    def test_switch_publishes_a_frame_and_is_the_pages_initial_state(self, show, client, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
        event, stream, team = show
        sent = []
        monkeypatch.setattr("microstage.realtime.send_now", lambda group, payload: sent.append((group, payload)))
        client.force_login(team[Role.OWNER])
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(f"/dashboard/live/{event.pk}/control/program/", {"mode": "slate"})
        assert r.status_code == 200 and r.json() == {"program": "slate"}
        assert sent[-1][0] == f"event.{event.pk}"
        assert sent[-1][1] == {"type": "program", "mode": "slate"}
        stream.refresh_from_db()
        assert stream.program_mode == "slate"
        holder = UserFactory()
        from streaming.tests.live_helpers import buy

        client.force_login(holder)
        event.tiers.create(name="Stream", price="5.00", currency="EUR", quantity=10, kind="online")
        buy(event.tiers.get(name="Stream"), holder)
        page = client.get(f"/e/{event.slug}/watch/").content.decode()
        assert 'data-program="slate"' in page and 'id="program-slate" role="status">' in page
        client.force_login(team[Role.OWNER])
        assert client.post(f"/dashboard/live/{event.pk}/control/program/",
                           {"mode": "live"}).json() == {"program": "live"}

    def test_bad_mode_and_roles_change_nothing(self, show, client):
        event, stream, team = show
        client.force_login(team[Role.OWNER])
        r = client.post(f"/dashboard/live/{event.pk}/control/program/", {"mode": "disco"})
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        client.force_login(team[Role.MODERATOR])
        assert client.post(f"/dashboard/live/{event.pk}/control/program/", {"mode": "slate"}).status_code == 302
        client.force_login(UserFactory())
        assert client.post(f"/dashboard/live/{event.pk}/control/program/", {"mode": "slate"}).status_code == 404
        stream.refresh_from_db()
        assert stream.program_mode == "live"

    def test_control_room_shows_alerts_and_the_switch(self, show, client):
        event, stream, team = show
        transcode.record_health(stream.pk, {"bitrate_kbps": 50.0})
        client.force_login(team[Role.OWNER])
        page = client.get(f"/dashboard/live/{event.pk}/control/").content.decode()
        assert "Input bitrate too low" in page and 'data-mode="audio_only"' in page
        status = client.get(f"/dashboard/live/{event.pk}/control/status/").json()
        assert status["alerts"][0]["kind"] == "low_bitrate" and status["program"] == "live"
