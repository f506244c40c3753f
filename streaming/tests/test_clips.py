"""Clips: POST/GET /api/v1/clips, the cut (duration measured on the output), thumbnails, access
rules for every access value, bad input, and uploaded recordings."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from commerce.models import Order
from events.tests.factories import EventFactory, TierFactory
from events.tests.test_api_tickets import buy
from memberships.models import Membership, MembershipPlan
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from streaming import cutting
from streaming.services import clips
from streaming.models import Clip, Recording
from streaming.selectors import can_view_clip, playback_for


pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(event):
    return team_member(event.creator, Role.OWNER)


@pytest.fixture
def queued(monkeypatch):
    """Clip ids handed to Celery (the cut itself is run explicitly in the tests)."""
    ids = []

    def enqueue(name, clip_id):
        assert name == "streaming.cut_clip"
        ids.append(clip_id)

    monkeypatch.setattr("streaming.jobs.enqueue", enqueue)
    return ids


def post_clip(client, event_, **overrides):
    body = {"event": event_.pk, "start_seconds": 3.3, "end_seconds": 13.7, "title": "The drop", "access": "public",
            **overrides}
    return client.post("/api/v1/clips", body, format="json")


def make_clip(event, recording, owner, start=3.3, end=13.7, access="public"):
    clip = clips.create_clip(event=event, actor=owner, start_seconds=start, end_seconds=end, title="Moment",
                                access=access)
    clips.cut_clip(clip.pk)
    clip.refresh_from_db()
    return clip


class TestCreateAndCut:
    def test_post_answers_202_queues_the_cut_and_the_clip_lasts_what_was_asked(
            self, event, recording, owner, make_api, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = post_clip(make_api(owner), event)
        assert r.status_code == 202
        assert r.json() == {"id": r.json()["id"], "status": "processing"}
        assert queued == [r.json()["id"]]
        clips.cut_clip(queued[0])
        clip = Clip.objects.get(pk=queued[0])
        assert clip.status == "ready" and clip.progress == 100
        measured = cutting.decoded_duration(default_storage.path(clip.file))  # decode the stored output
        assert abs(measured - 10.4) <= 0.5
        assert abs(clip.duration - 10.4) <= 0.5
        assert clip.error.startswith("copied 8.00 s")  # smart cut: the middle was stream-copied
        with default_storage.open(clip.thumbnail) as fh:
            assert fh.read(3) == b"\xff\xd8\xff"  # a JPEG

    @pytest.mark.parametrize(("start", "end"), [(4.0, 10.0), (1.1, 2.5), (0.0, 20.0), (17.25, 19.9)])
    def test_durations_on_and_off_keyframes(self, event, recording, owner, queued, start, end):
        clip = make_clip(event, recording, owner, start, end)
        assert clip.status == "ready", clip.error
        measured = cutting.decoded_duration(default_storage.path(clip.file))
        assert abs(measured - (end - start)) <= 0.5

    def test_the_cut_is_frame_accurate(self, event, recording, owner, queued, source_video):
        """PSNR of the clip against the exact span of the source: high when aligned, and clearly lower
        against the span shifted by one frame (so the test would notice an off-by-one)."""
        import re

        clip = make_clip(event, recording, owner, 3.3, 13.7)

        def psnr(offset):
            text = cutting._run(["-i", default_storage.path(clip.file), "-i", str(source_video), "-lavfi",
                                 f"[1:v]trim=start={3.3 + offset}:end=13.7,setpts=PTS-STARTPTS[r];[0:v][r]psnr",
                                 "-f", "null", "-"])
            return float(re.search(r"average:([\d.]+|inf)", text)[1])

        aligned, shifted = psnr(0), psnr(1 / 30)
        assert aligned > 45 and aligned > shifted + 8

    def test_progress_moves_while_it_works(self, event, recording, owner, queued, monkeypatch):
        seen = []
        real = Clip.objects.filter

        def spy(*a, **kw):
            qs = real(*a, **kw)
            original = qs.update

            def update(**values):
                if "progress" in values:
                    seen.append(values["progress"])
                return original(**values)

            qs.update = update
            return qs

        monkeypatch.setattr(Clip.objects, "filter", spy)
        make_clip(event, recording, owner)
        assert len(seen) >= 3 and seen[-1] == 100 and seen == sorted(seen)

    def test_a_rerun_leaves_a_ready_clip_alone(self, event, recording, owner, queued):
        clip = make_clip(event, recording, owner)
        clips.cut_clip(clip.pk)
        clip2 = Clip.objects.get(pk=clip.pk)
        assert clip2.file == clip.file and default_storage.exists(clip.file)


class TestBadInput:
    @pytest.mark.parametrize("overrides", [
        {"start_seconds": 5, "end_seconds": 5},
        {"start_seconds": 8, "end_seconds": 3},
        {"start_seconds": -1, "end_seconds": 3},
        {"start_seconds": 1, "end_seconds": 25},  # beyond the 20 s recording
        {"start_seconds": 0, "end_seconds": 400},  # longer than the maximum
        {"start_seconds": "soon"},
        {"start_seconds": "NaN"},
        {"title": ""},
        {"title": "x" * 121},
        {"access": "friends"},
        {"event": None},
    ])
    def test_400_and_nothing_created(self, event, recording, owner, make_api, queued, overrides):
        r = post_clip(make_api(owner), event, **overrides)
        assert r.status_code == 400, r.json()
        assert r.json()["code"] == "invalid" and r.json()["fields"]
        assert not Clip.objects.exists() and queued == []

    def test_only_owner_and_managers_make_clips(self, event, recording, make_api, queued):
        assert post_clip(make_api(team_member(event.creator, Role.MANAGER)), event).status_code == 202
        assert post_clip(make_api(team_member(event.creator, Role.DOOR)), event).status_code == 403
        assert post_clip(make_api(UserFactory()), event).status_code == 404
        assert Clip.objects.count() == 1

    def test_no_recording_yet_is_a_conflict(self, event, owner, make_api, queued):
        r = post_clip(make_api(owner), event)
        assert r.status_code == 409 and r.json()["code"] == "no_recording"
        assert not Clip.objects.exists()

    def test_anonymous_is_401(self, event, recording, api):
        assert post_clip(api, event).status_code == 401


def paid_order(user, creator, status=Order.Status.PAID):
    return Order.objects.create(creator=creator, buyer=user, email=user.email, status=status, currency="EUR",
                                total=Decimal("10.00"), expires_at=timezone.now() + timedelta(minutes=10))


def member(user, creator, clip_access=True):
    plan = MembershipPlan.objects.create(creator=creator, name="Club", price=Decimal("5.00"), currency="EUR",
                                         clip_access=clip_access)
    Membership.objects.create(plan=plan, creator=creator, user=user, status=Membership.Status.ACTIVE,
                              current_period_end=timezone.now() + timedelta(days=20))
    return user


class TestAccess:
    @pytest.fixture
    def clip(self, event, recording, owner, queued):
        return make_clip(event, recording, owner, 4.0, 8.0)

    def set_access(self, clip, access):
        Clip.objects.filter(pk=clip.pk).update(access=access)
        clip.refresh_from_db()
        return clip

    def test_public(self, clip):
        from django.contrib.auth.models import AnonymousUser

        assert can_view_clip(self.set_access(clip, "public"), AnonymousUser())

    def test_ticket_holders(self, clip, event):
        clip = self.set_access(clip, "ticket_holders")
        fan = UserFactory()
        buy(TierFactory(event=event), fan)
        other = UserFactory()
        buy(TierFactory(event=EventFactory(creator=event.creator)), other)  # a ticket of another event
        assert can_view_clip(clip, fan) and not can_view_clip(clip, other)

    def test_members_with_clip_access(self, clip, event):
        clip = self.set_access(clip, "members")
        assert can_view_clip(clip, member(UserFactory(), event.creator))
        assert not can_view_clip(clip, member(UserFactory(), event.creator, clip_access=False))
        assert not can_view_clip(clip, member(UserFactory(), EventFactory().creator))  # another creator's member
        assert not can_view_clip(clip, UserFactory())

    def test_buyers(self, clip, event):
        clip = self.set_access(clip, "buyers")
        assert can_view_clip(clip, paid_order(UserFactory(), event.creator).buyer)
        assert can_view_clip(clip, paid_order(UserFactory(), event.creator, Order.Status.PARTIALLY_REFUNDED).buyer)
        assert not can_view_clip(clip, paid_order(UserFactory(), event.creator, Order.Status.REFUNDED).buyer)
        assert not can_view_clip(clip, paid_order(UserFactory(), event.creator, Order.Status.RESERVED).buyer)
        assert not can_view_clip(clip, paid_order(UserFactory(), EventFactory().creator).buyer)

    @pytest.mark.parametrize("access", ["ticket_holders", "members", "buyers"])
    def test_team_always_strangers_and_anonymous_never(self, clip, event, access):
        from django.contrib.auth.models import AnonymousUser

        clip = self.set_access(clip, access)
        assert can_view_clip(clip, team_member(event.creator, Role.MODERATOR))
        assert not can_view_clip(clip, UserFactory()) and not can_view_clip(clip, AnonymousUser())

    def test_get_gives_urls_only_to_those_admitted(self, clip, event, make_api, api):
        clip = self.set_access(clip, "members")
        fan = member(UserFactory(), event.creator)
        body = make_api(fan).get(f"/api/v1/clips/{clip.pk}").json()
        assert body["status"] == "ready" and body["progress"] == 100 and abs(body["duration"] - 4.0) <= 0.5
        assert body["url"] and body["thumbnail_url"]
        stranger = make_api(UserFactory()).get(f"/api/v1/clips/{clip.pk}").json()
        assert stranger["status"] == "ready" and "url" not in stranger and "thumbnail_url" not in stranger
        assert "url" not in api.get(f"/api/v1/clips/{clip.pk}").json()
        # The signed file URL plays (with range requests for seeking); a tampered one does not.
        path = "/" + body["url"].split("://", 1)[1].split("/", 1)[1]
        r = Client().get(path)
        assert r.status_code == 200 and r["Content-Type"] == "video/mp4"
        part = Client().get(path, HTTP_RANGE="bytes=0-99")
        assert part.status_code == 206 and len(b"".join(part.streaming_content)) == 100
        assert Client().get(path.replace("/clip.mp4", "x/clip.mp4")).status_code in (403, 404)
        token = path.split("/")[4]
        assert Client().get(path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 403

    def test_public_clip_page_plays_or_says_why(self, clip, event, client):
        clip = self.set_access(clip, "ticket_holders")
        page = client.get(f"/clips/{clip.pk}/")
        assert page.status_code == 200
        assert b"for ticket holders" in page.content and b"<video" not in page.content
        fan = UserFactory()
        buy(TierFactory(event=event), fan)
        client.force_login(fan)
        page = client.get(f"/clips/{clip.pk}/")
        assert b"<video" in page.content and b"/streaming/clips/" in page.content


class TestDashboard:
    def test_replay_page_and_clip_creation_with_htmx_progress(self, event, recording, owner, client, queued):
        client.force_login(owner)
        page = client.get(f"/dashboard/live/{event.pk}/replay/")
        assert page.status_code == 200
        assert b"Mark in" in page.content and b"vendor/hls/hls.min.mjs" in page.content
        assert b"js/replay.js" in page.content
        r = client.post(f"/dashboard/live/{event.pk}/clips/new/", {"start_seconds": "1", "end_seconds": "5",
                                                                  "title": "Hi", "access": "public"},
                        HTTP_HX_REQUEST="true")
        assert r.status_code == 200 and b'hx-trigger="every 2s"' in r.content
        clip = Clip.objects.get()
        clips.cut_clip(clip.pk)
        row = client.get(f"/dashboard/live/{event.pk}/clips/{clip.pk}/status/")
        assert b"Ready" in row.content and b"every 2s" not in row.content
        assert client.get("/dashboard/live/clips/").status_code == 200

    def test_strangers_do_not_see_the_replay_page(self, event, recording, client):
        client.force_login(UserFactory())
        assert client.get(f"/dashboard/live/{event.pk}/replay/").status_code == 404


class TestUpload:
    def url(self, event):
        return f"/dashboard/live/{event.pk}/replay/upload/"

    def test_a_video_upload_becomes_a_playable_replay(self, event, owner, client, media_root, source_video,
                                                      monkeypatch, django_capture_on_commit_callbacks):
        queued = []
        monkeypatch.setattr("streaming.jobs.enqueue",
                            lambda name, rec_id: queued.append(rec_id) if name == "streaming.package_upload" else None)
        client.force_login(owner)
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(self.url(event), {"file": SimpleUploadedFile("show.mp4", source_video.read_bytes(),
                                                                         content_type="video/mp4")})
        assert r.status_code == 302
        recording = Recording.objects.get(source="upload")
        assert recording.status == "processing" and default_storage.exists(recording.file) and queued == [recording.pk]
        clips.package_upload(recording.pk)
        recording.refresh_from_db()
        assert recording.status == "ready" and recording.hls_prefix
        url = playback_for(event, owner)["hls_url"]
        assert f"/{recording.pk}/" in url and Client().get(url).status_code == 200

    @pytest.mark.parametrize(("name", "data", "ctype"), [
        ("notes.txt", b"hello", "text/plain"),
        ("fake.mp4", b"\x00" * 4096, "video/mp4"),
    ])
    def test_bad_uploads_are_refused(self, event, owner, client, media_root, name, data, ctype):
        client.force_login(owner)
        r = client.post(self.url(event), {"file": SimpleUploadedFile(name, data, content_type=ctype)}, follow=True)
        assert b"Upload a video file" in r.content or b"not a video we can play" in r.content
        assert not Recording.objects.exists()
