"""Average viewers is fed by the beat task through a real worker, as production runs it."""
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from analytics.models import TelemetrySample
from analytics.selectors import event_metrics
from events.tests.factories import EventFactory
from microstage.celery import app as celery_app
from streaming.models import LiveStream
from streaming.services.presence import presence_join, presence_leave


def _wait_for_samples(event, n, timeout=30.0):
    deadline = time.monotonic() + timeout
    qs = TelemetrySample.objects.filter(event_id=event.pk, kind=TelemetrySample.Kind.VIEWERS)
    while qs.count() < n:
        assert time.monotonic() < deadline, "the worker did not record the sample"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_beat_message_reaches_the_worker_and_feeds_average_viewers():
    event = EventFactory()
    LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE)
    task_name = settings.CELERY_BEAT_SCHEDULE["sample-viewers"]["task"]
    connections = [f"conn-{i}" for i in range(3)]
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            for sent, watching in enumerate((3, 1), start=1):
                for c in connections[watching:]:
                    presence_leave(event.pk, c)
                for c in connections[:watching]:
                    presence_join(event.pk, c)
                # What beat does: a message naming the task; the worker looks the name up.
                celery_app.send_task(task_name)
                _wait_for_samples(event, sent)
    finally:
        for c in connections:
            presence_leave(event.pk, c)
    samples = TelemetrySample.objects.filter(event_id=event.pk, kind=TelemetrySample.Kind.VIEWERS)
    assert sorted(samples.values_list("value", flat=True)) == [1, 3]
    assert event_metrics(event)["average_viewers"] == 2.0
