""""Notify me" (API.md "Notifications"): one message when a drop opens or a tier's sales start, with a
link that opens it already chosen; sent by the beat task exactly once. Also doors open and stream live."""
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from events import notices
from events.services import drops as drop_services
from events.models import Event, NotifyRequest
from events.tasks import send_due_notifications
from microstage.permissions import SYSTEM
from microstage.celery import app as celery_app
from microstage.notifications.models import Notification
from microstage.tests.factories import UserFactory

from .test_api_tickets import EventFactory, TierFactory, buy
from .test_drops import live_drop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def running_event():
    now = timezone.now()
    return EventFactory(starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3))


def drop_in_an_hour():
    now = timezone.now()
    return live_drop(running_event(), starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))


@pytest.fixture
def later_drop():
    return drop_in_an_hour()


def messages(kind):
    return list(Notification.objects.filter(kind=kind, channel="email"))


class TestDropApi:
    def test_idempotent_per_person(self, later_drop, auth_api):
        r = auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        assert r.status_code == 201 and r.json()["status"] == "waiting"
        again = auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
        assert NotifyRequest.objects.count() == 1

    def test_refusals(self, later_drop, api, auth_api):
        assert api.post(f"/api/v1/drops/{later_drop.pk}/notify-me").status_code == 401
        assert auth_api.post("/api/v1/drops/drp_nothere/notify-me").status_code == 404
        Event.objects.filter(pk=later_drop.event_id).update(status=Event.Status.DRAFT)
        assert auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me").status_code == 404
        Event.objects.filter(pk=later_drop.event_id).update(status=Event.Status.PUBLISHED)
        later_drop.stopped_at = timezone.now()
        later_drop.starts_at = timezone.now() - timedelta(minutes=5)
        later_drop.save()
        r = auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        assert r.status_code == 409 and r.json()["code"] == "ended"
        assert not NotifyRequest.objects.exists()


class TestSending:
    def test_sent_once_when_the_start_passes(self, later_drop, auth_api, django_capture_on_commit_callbacks):
        auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        with django_capture_on_commit_callbacks(execute=True):
            assert send_due_notifications() == 0  # not open yet
        assert mail.outbox == []
        with django_capture_on_commit_callbacks(execute=True):
            assert notices.send_due(now=later_drop.starts_at + timedelta(seconds=1)) == 1
            assert notices.send_due(now=later_drop.starts_at + timedelta(seconds=31)) == 0
        assert len(mail.outbox) == 1
        body = mail.outbox[0].body
        assert f"/e/{later_drop.event.slug}/?drop={later_drop.pk}#drop-{later_drop.pk}" in body
        assert NotifyRequest.objects.get().notified_at is not None
        r = auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        assert r.status_code == 201 and r.json()["status"] == "notified"

    def test_start_now_from_the_control_room_tells_them_at_once(self, later_drop, auth_api,
                                                               django_capture_on_commit_callbacks):
        auth_api.post(f"/api/v1/drops/{later_drop.pk}/notify-me")
        with django_capture_on_commit_callbacks(execute=True):
            drop_services.start_drop_now(later_drop, actor=SYSTEM)
        assert [n.kind for n in messages("drop_open")] == ["drop_open"]

    def test_tier_pre_enrolment(self, auth_api, django_capture_on_commit_callbacks):
        starts = timezone.now() + timedelta(days=1)
        tier = TierFactory(event=EventFactory(), sales_start=starts)
        r = auth_api.post(f"/api/v1/tiers/{tier.pk}/notify-me")
        assert r.status_code == 201
        with django_capture_on_commit_callbacks(execute=True):
            assert notices.send_due() == 0
            assert notices.send_due(now=starts + timedelta(seconds=5)) == 1
            assert notices.send_due(now=starts + timedelta(seconds=65)) == 0
        assert len(mail.outbox) == 1 and f"?tier={tier.pk}" in mail.outbox[0].body

    def test_the_beat_entry_names_registered_tasks(self):
        import events.tasks  # noqa: F401 - registers the app's tasks

        name = settings.CELERY_BEAT_SCHEDULE["send-due-notifications"]["task"]
        assert name == "events.send_due_notifications" and name in celery_app.tasks
        assert celery_app.tasks[name].run.__doc__ == send_due_notifications.run.__doc__

    def test_doors_open_once_to_in_person_holders(self, django_capture_on_commit_callbacks):
        now = timezone.now()
        event = EventFactory(starts_at=now + timedelta(days=1))
        holders = [UserFactory(), UserFactory()]
        tier = TierFactory(event=event)
        for h in holders:
            buy(tier, h)
        Event.objects.filter(pk=event.pk).update(starts_at=now - timedelta(minutes=2))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert notices.doors_open_due() == 2
            assert notices.doors_open_due() == 0
        assert sorted(m.to[0] for m in mail.outbox) == sorted(h.email.lower() for h in holders)
        assert all("Doors are open" in m.subject for m in mail.outbox)

    def test_stream_live_once_per_holder(self, django_capture_on_commit_callbacks):
        tier = TierFactory(event=EventFactory())
        holder = UserFactory()
        buy(tier, holder, quantity=2)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert notices.notify_stream_live(tier.event_id) == 1
            assert notices.notify_stream_live(tier.event_id) == 0
        assert len(mail.outbox) == 1 and "/watch/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_racing_beat_runs_send_exactly_once():
    drop = drop_in_an_hour()
    for _ in range(3):
        notices.request_drop(UserFactory(), drop)
    at = drop.starts_at + timedelta(seconds=1)
    barrier = threading.Barrier(4)
    counts = []

    def run():
        try:
            barrier.wait()
            counts.append(notices.send_due(now=at))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 3
    assert Notification.objects.filter(kind="drop_open", channel="email").count() == 3
    assert len(mail.outbox) == 3
