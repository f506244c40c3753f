"""The watch page (access and states before, during and after the show) and the control room."""
import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from events.models import Event
from microstage.models import Role
from streaming import preflight_tasks
from streaming.models import ChatMessage, LiveStream, Recording

from .live_helpers import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def room():
    return make_room()


def watch(client, event, user=None):
    if user is not None:
        client.force_login(user)
    return client.get(f"/e/{event.slug}/watch/")


def playback_data(response):
    match = re.search(r'<script id="playback-data" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match.group(1))


class TestAccess:
    def test_without_a_ticket_you_see_how_to_get_one(self, client, room):
        response = watch(client, room.event)
        assert response.status_code == 200
        html = response.content.decode()
        assert "This stream is for ticket holders." in html
        assert f'href="/e/{room.event.slug}/#tickets"' in html and "Log in" in html
        assert 'id="chat-form"' not in html and 'id="player"' not in html

    def test_signed_in_without_a_ticket(self, client, room):
        html = watch(client, room.event, room.stranger).content.decode()
        assert "This stream is for ticket holders." in html and 'id="chat-form"' not in html

    def test_ticket_holder_gets_the_room(self, client, room):
        html = watch(client, room.event, room.holder).content.decode()
        assert 'id="chat-form"' in html and 'id="player"' in html
        assert 'data-can-post="true"' in html and 'data-can-moderate="false"' in html
        assert f'id="stock-{room.tier.pk}"' in html and "18 left" in html
        assert "vendor/hls/hls.min.mjs" in html and "js/watch.js" in html

    def test_a_moderator_may_moderate(self, client, room):
        html = watch(client, room.event, room.moderator).content.decode()
        assert 'data-can-moderate="true"' in html

    def test_free_stream_is_open_to_everyone_but_posting_still_needs_a_ticket(self, client, room):
        LiveStream.objects.create(event=room.event, is_free=True)
        html = watch(client, room.event).content.decode()
        assert 'id="player"' in html and 'id="chat-list"' in html and 'id="chat-form"' not in html

    def test_drafts_are_hidden_except_from_the_team(self, client, room):
        Event.objects.filter(pk=room.event.pk).update(status=Event.Status.DRAFT)
        assert watch(client, room.event).status_code == 404
        client.force_login(room.holder)
        assert watch(client, room.event).status_code == 404
        assert watch(client, room.event, room.owner).status_code == 200

    def test_unknown_show(self, client, db):
        assert client.get("/e/no-such-show/watch/").status_code == 404

    def test_chat_history_is_escaped(self, client, room):
        ChatMessage.objects.create(event=room.event, user=room.holder, text='<img src=x onerror="alert(1)">')
        html = watch(client, room.event, room.holder2).content.decode()
        assert '<img src=x' not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


class TestStates:
    def test_before_shows_a_countdown(self, client, room):
        response = watch(client, room.event, room.holder)
        html = response.content.decode()
        assert 'data-state="before"' in html and 'id="countdown"' in html
        assert playback_data(response) is None

    def test_live_shows_the_badge(self, client, room):
        LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
        html = watch(client, room.event, room.holder).content.decode()
        assert 'data-state="live"' in html and 'id="live-badge"' in html
        assert "The stream is starting" in html  # live, but no renditions yet

    def test_live_with_renditions_plays(self, client, room):
        stream = LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
        Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.RECORDING,
                                 hls_prefix="streams/x/")
        data = playback_data(watch(client, room.event, room.holder))
        assert data["hls_url"].startswith(f"/streaming/hls/{room.event.pk}/") and data["expires_at"]

    def test_after_without_a_replay_says_thanks(self, client, room):
        Event.objects.filter(pk=room.event.pk).update(starts_at=timezone.now() - timedelta(hours=4),
                                                      ends_at=timezone.now() - timedelta(hours=1))
        response = watch(client, room.event, room.holder)
        html = response.content.decode()
        assert 'data-state="after"' in html and "Thanks for watching!" in html
        assert playback_data(response) is None

    def test_after_with_a_replay(self, client, room):
        stream = LiveStream.objects.create(event=room.event, status=LiveStream.Status.ENDED)
        Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.READY,
                                 hls_prefix="streams/x/")
        response = watch(client, room.event, room.holder)
        assert "this is the replay" in response.content.decode()
        assert playback_data(response)["hls_url"]

    def test_cancelled(self, client, room):
        Event.objects.filter(pk=room.event.pk).update(status=Event.Status.CANCELLED)
        html = watch(client, room.event, room.holder).content.decode()
        assert "This show is cancelled" in html

    def test_status_json_renews_playback_for_those_admitted_only(self, client, room):
        stream = LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE)
        Recording.objects.create(stream=stream, source=Recording.Source.LIVE, status=Recording.Status.RECORDING,
                                 hls_prefix="streams/x/")
        url = f"/e/{room.event.slug}/watch/status/"
        assert client.get(url).json()["playback"] is None
        client.force_login(room.holder)
        body = client.get(url).json()
        assert body["state"] == "live" and body["playback"]["hls_url"] and body["viewers"] == 0


class TestControlRoom:
    def url(self, room, suffix=""):
        return f"/dashboard/live/{room.event.pk}/control/{suffix}"

    def test_access(self, client, room):
        assert client.get(self.url(room)).status_code == 302  # to the login page
        client.force_login(room.stranger)
        assert client.get(self.url(room)).status_code == 404
        client.force_login(room.door)
        assert client.get(self.url(room)).status_code == 302  # a role that cannot moderate is sent back
        for user in (room.owner, room.moderator):
            client.force_login(user)
            assert client.get(self.url(room)).status_code == 200

    def test_page_health_and_preflight(self, client, room):
        LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE, health_at=timezone.now(),
                                  health={"bitrate_kbps": 3500, "fps": 30, "keyframe_interval": 2,
                                          "dropped_frames": 0}, peak_viewers=7)
        client.force_login(room.moderator)
        html = client.get(self.url(room)).content.decode()
        assert "Preflight" in html and "Chat moderation" in html and 'id="slow-mode"' in html
        status = client.get(self.url(room, "status/")).json()
        assert status["health"]["bitrate_kbps"] == 3500 and status["health_fresh"] is True
        assert status["peak_viewers"] == 7 and status["status"] == "live"
        result = client.post(self.url(room, "preflight/")).json()
        lines = {line["key"]: line["status"] for line in result["lines"]}
        assert lines == {"ingest": "pass", "renditions": "fail", "tickets": "pass", "payments": "fail",
                         "drops": "n/a"}

    def test_preflight_fails_without_ingest_and_with_stale_health(self, client, room):
        client.force_login(room.owner)
        lines = {x["key"]: x for x in client.post(self.url(room, "preflight/")).json()["lines"]}
        assert lines["ingest"]["status"] == "fail"
        LiveStream.objects.create(event=room.event, status=LiveStream.Status.LIVE,
                                  health_at=timezone.now() - timedelta(minutes=5))
        lines = {x["key"]: x for x in client.post(self.url(room, "preflight/")).json()["lines"]}
        assert lines["ingest"]["status"] == "fail" and "no health report" in lines["ingest"]["detail"]

    def test_renditions_pass_when_the_master_playlist_exists(self, client, room, settings, tmp_path):
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
        stream = LiveStream.objects.create(event=room.event)
        rec = Recording.objects.create(stream=stream, source=Recording.Source.LIVE, hls_prefix="streams/e/r/")
        (tmp_path / "streams/e/r").mkdir(parents=True)
        (tmp_path / "streams/e/r/master.m3u8").write_text("#EXTM3U\n")
        client.force_login(room.owner)
        lines = {x["key"]: x["status"] for x in client.post(self.url(room, "preflight/")).json()["lines"]}
        assert lines["renditions"] == "pass"
        rec.delete()

    def test_payments_pass_with_stripe_keys(self, client, room, settings):
        settings.PAYMENTS_PROVIDER = "stripe"
        settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_x", "whsec_x"
        client.force_login(room.owner)
        lines = {x["key"]: x["status"] for x in client.post(self.url(room, "preflight/")).json()["lines"]}
        assert lines["payments"] == "pass"

    def test_the_beat_task_runs_the_checklist_before_doors(self, room):
        soon = EventFactoryOnline(room, hours=1)
        later = EventFactoryOnline(room, hours=30)
        assert preflight_tasks.preflight_due.apply().get() >= 1
        assert cache.get(f"streaming:preflight:{soon.pk}")["lines"]
        assert cache.get(f"streaming:preflight:{later.pk}") is None


def EventFactoryOnline(room, hours):  # noqa: N802 - reads like a factory
    from events.tests.factories import EventFactory

    start = timezone.now() + timedelta(hours=hours)
    return EventFactory(creator=room.event.creator, mode=Event.Mode.ONLINE, starts_at=start,
                        ends_at=start + timedelta(hours=2))


def test_team_role_constants_match_the_brief():
    from microstage.models import MODERATION_ROLES

    assert MODERATION_ROLES == {Role.OWNER, Role.MANAGER, Role.MODERATOR}
