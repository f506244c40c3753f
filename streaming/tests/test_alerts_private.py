"""Stream alerts are the team's: opening or clearing one never sends a frame to the event's websocket
group, which every viewer of the watch page is in (the control room polls its own status instead)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from events.tests.factories import EventFactory
from microstage import realtime
from streaming.services import transcode
from streaming.models import LiveStream, StreamIncident

pytestmark = pytest.mark.django_db


def test_alerts_are_not_broadcast_to_viewers(settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.STREAM_MIN_BITRATE_KBPS = 500
    now = timezone.now()
    event = EventFactory(starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2))
    stream = LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE)
    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda group, payload: sent.append((group, payload)))
    with django_capture_on_commit_callbacks(execute=True):
        transcode.record_health(stream.pk, {"bitrate_kbps": 40.0})
    assert StreamIncident.objects.filter(stream=stream, resolved_at__isnull=True).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        transcode.record_health(stream.pk, {"bitrate_kbps": 2500.0})
    assert not StreamIncident.objects.filter(stream=stream, resolved_at__isnull=True).exists()
    assert [p for _, p in sent if "alert" in str(p.get("type"))] == []
