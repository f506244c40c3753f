"""Playback: signed HLS URLs (playlists and segments) and GET /api/v1/events/{id}/playback."""
import re
import time

import pytest
from django.test import Client

from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from streaming import playback
from streaming.models import LiveStream
from streaming.selectors import can_watch, playback_for


pytestmark = pytest.mark.django_db


def ticket_holder(event):
    fan = UserFactory()
    buy(TierFactory(event=event), fan)
    return fan


def hls_url(event, user):
    return playback_for(event, user)["hls_url"]


class TestTokens:
    def test_master_playlist_media_playlist_and_segment_with_a_valid_token(self, event, recording):
        client = Client()
        url = hls_url(event, team_member(event.creator))
        master = client.get(url)
        assert master.status_code == 200
        assert master["Content-Type"] == "application/vnd.apple.mpegurl"
        body = master.content.decode()  # playlists are small: answered whole
        variant = next(line for line in body.splitlines() if line and not line.startswith("#"))
        assert not variant.startswith("/") and "://" not in variant  # relative: nothing rewritten
        base = url.rsplit("/", 1)[0]
        media = client.get(f"{base}/{variant}")
        assert media.status_code == 200
        segment = next(line for line in media.content.decode().splitlines()
                       if line.endswith(".ts"))
        seg = client.get(f"{base}/{variant.rsplit('/', 1)[0]}/{segment}")
        assert seg.status_code == 200
        assert seg["Content-Type"] == "video/mp2t"
        data = b"".join(seg.streaming_content)
        assert data[:1] == b"\x47"  # MPEG-TS sync byte
        max_age = int(re.search(r"max-age=(\d+)", seg["Cache-Control"])[1])
        assert playback.WINDOW_SECONDS - 5 <= max_age <= 2 * playback.WINDOW_SECONDS
        assert "public" in seg["Cache-Control"]

    def test_the_token_is_shared_within_a_window_so_a_cdn_can_cache(self, event, recording):
        fan, other = ticket_holder(event), ticket_holder(event)
        assert hls_url(event, fan) == hls_url(event, other)

    def test_expired_token_is_refused(self, event, recording):
        token, _ = playback.make_token(event.pk, now=time.time() - 3 * playback.WINDOW_SECONDS)
        r = Client().get(f"/streaming/hls/{event.pk}/{token}/{recording.pk}/master.m3u8")
        assert r.status_code == 403
        assert r["Cache-Control"] == "no-store"

    @pytest.mark.parametrize("name", ["master.m3u8", "v0/index.m3u8", "v0/seg_00000.ts"])
    def test_tampered_token_is_refused(self, event, recording, name):
        token, _ = playback.make_token(event.pk)
        expires, mac = token.split("-", 1)
        for bad in (f"{expires}-{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # changed signature
                    f"{int(expires) + playback.WINDOW_SECONDS}-{mac}",  # extended expiry
                    "garbage", "1-" + "x" * 22, "9" * 40):
            r = Client().get(f"/streaming/hls/{event.pk}/{bad}/{recording.pk}/{name}")
            assert r.status_code == 403, bad

    def test_another_events_token_is_refused(self, event, recording):
        other = EventFactory()
        token, _ = playback.make_token(other.pk)
        for name in ("master.m3u8", "v0/seg_00000.ts"):
            assert Client().get(f"/streaming/hls/{event.pk}/{token}/{recording.pk}/{name}").status_code == 403
        # ... and a valid token of the other event cannot reach this event's recording through its own URL.
        assert Client().get(f"/streaming/hls/{other.pk}/{token}/{recording.pk}/master.m3u8").status_code == 404

    def test_paths_outside_the_renditions_are_not_served(self, event, recording):
        token, _ = playback.make_token(event.pk)
        base = f"/streaming/hls/{event.pk}/{token}/{recording.pk}"
        for path in ("../recording.mp4", "v0/../../recording.mp4", "v0/%2e%2e/x.ts", "nope.m3u8", "v0/x.py"):
            assert Client().get(f"{base}/{path}").status_code == 404, path

    def test_live_playlists_are_cached_for_a_second_only(self, event, recording):
        recording.status = "recording"
        recording.save(update_fields=["status"])
        LiveStream.objects.filter(event=event).update(status=LiveStream.Status.LIVE)
        url = hls_url(event, team_member(event.creator))
        assert Client().get(url)["Cache-Control"] == "public, max-age=1"


class TestPlaybackAPI:
    def url(self, event):
        return f"/api/v1/events/{event.pk}/playback"

    def test_ticket_holder_gets_a_url_and_expiry(self, event, recording, make_api):
        r = make_api(ticket_holder(event)).get(self.url(event))
        assert r.status_code == 200
        body = r.json()
        assert f"/streaming/hls/{event.pk}/" in body["hls_url"] and body["hls_url"].endswith("/master.m3u8")
        assert body["expires_at"]
        path = body["hls_url"].split("://", 1)[-1].split("/", 1)[1]
        assert Client().get("/" + path).status_code == 200

    @pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.DOOR, Role.MODERATOR])
    def test_the_team_watches(self, event, recording, make_api, role):
        assert make_api(team_member(event.creator, role)).get(self.url(event)).status_code == 200

    def test_anyone_signed_in_watches_a_free_stream(self, event, recording, make_api):
        LiveStream.objects.filter(event=event).update(is_free=True)
        assert make_api(UserFactory()).get(self.url(event)).status_code == 200

    def test_a_stranger_is_refused(self, event, recording, make_api):
        r = make_api(UserFactory()).get(self.url(event))
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"

    def test_a_holder_of_another_events_ticket_is_refused(self, event, recording, make_api):
        other = EventFactory(creator=event.creator)
        assert make_api(ticket_holder(other)).get(self.url(event)).status_code == 403

    def test_anonymous_is_401(self, event, recording, api):
        assert api.get(self.url(event)).status_code == 401

    def test_nothing_to_play_yet_is_a_clear_conflict(self, event, make_api):
        r = make_api(team_member(event.creator)).get(self.url(event))
        assert r.status_code == 409
        assert r.json()["code"] == "not_live"


class TestSelectors:
    def test_playback_for_says_none_to_strangers_and_anonymous(self, event, recording):
        from django.contrib.auth.models import AnonymousUser

        assert playback_for(event, UserFactory()) is None
        assert playback_for(event, AnonymousUser()) is None

    def test_free_streams_admit_anonymous_viewers_of_published_events_only(self, event, recording):
        from django.contrib.auth.models import AnonymousUser

        LiveStream.objects.filter(event=event).update(is_free=True)
        assert can_watch(event, AnonymousUser())
        event.status = "draft"
        event.save(update_fields=["status"])
        assert not can_watch(event, AnonymousUser())
        assert can_watch(event, team_member(event.creator))
