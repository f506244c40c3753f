"""Captions: a WebVTT file uploaded for the replay or a clip on the dashboard's replay page is checked
(webvtt-py plus our own rules; a bad file is refused with a clear error and nothing is saved), stored,
served behind the same playback token as the video, and played as a <track kind="captions">."""
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from events.models import Event
from events.tests.factories import EventFactory, TierFactory
from events.tests.helpers import buy
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from streaming import captions
from streaming.services import clips
from streaming.models import Clip, Recording

pytestmark = pytest.mark.django_db

GOOD = (b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nGood evening, Berlin!\n\n"
        b"00:05.000 --> 00:07.500 align:start\n<v Mara>Thank you.\n")


def vtt(data: bytes = GOOD, name: str = "captions.vtt"):
    return SimpleUploadedFile(name, data, content_type="text/vtt")


@pytest.fixture
def owner(event):
    return team_member(event.creator, Role.OWNER)


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def replay_url(event):
    return f"/dashboard/live/{event.pk}/replay/"


class TestCheck:
    def test_a_valid_file_counts_its_cues(self):
        assert captions.check_webvtt(GOOD) == 2
        with_bom_crlf_note_and_id = (b"\xef\xbb\xbfWEBVTT - Set list\r\n\r\nNOTE hi\r\n\r\n"
                                     b"1\r\n00:01.000 --> 00:03.000\r\nHi\r\n")
        assert captions.check_webvtt(with_bom_crlf_note_and_id) == 1

    @pytest.mark.parametrize("data, reason", [
        (b"1\n00:00:01,000 --> 00:00:02,000\nAn SRT file\n", "first line must be"),
        (b"WEBVTT\n", "no cues"),
        (b"WEBVTT\n\n00:00:01.000 -> 00:00:03.000\nHello\n", "could not be read"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:03\nHello\n", "not valid WebVTT"),
        (b"WEBVTT\n\n00:00:05.000 --> 00:00:03.000\nBackwards\n", "ends before it starts"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n\xff\xfe bad bytes\n", "UTF-8"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n" + b"x" * (512 * 1024), "too large"),
    ])
    def test_bad_files_are_refused_with_a_reason(self, data, reason):
        with pytest.raises(captions.Invalid) as exc:
            captions.check_webvtt(data)
        assert reason in exc.value.detail


class TestReplayCaptions:
    def test_upload_stores_them_and_the_players_get_a_track(self, event, recording, owner_client):
        r = owner_client.post(f"/dashboard/live/{event.pk}/replay/captions/",
                              {"captions": vtt(), "language": "en", "label": "English"})
        assert r.status_code == 302 and r["Location"] == replay_url(event)
        recording.refresh_from_db()
        name = recording.captions.name
        assert name.startswith(f"captions/{recording.pk}/") and name.endswith(".vtt")
        assert (recording.captions_language, recording.captions_label) == ("en", "English")
        assert recording.captions.read() == GOOD

        page = owner_client.get(replay_url(event)).content.decode()
        assert '<track kind="captions" src="/streaming/hls/' in page
        assert 'srclang="en" label="English" default>' in page

        # A ticket holder's watch page (the show is over: the replay plays) has the same track.
        fan = UserFactory()
        buy(TierFactory(event=event), fan)
        Event.objects.filter(pk=event.pk).update(ends_at=timezone.now(), starts_at=timezone.now() - timedelta(hours=2))
        client = Client()
        client.force_login(fan)
        html = client.get(f"/e/{event.slug}/watch/").content.decode()
        src = html.split('<track kind="captions" src="', 1)[1].split('"', 1)[0]
        assert src.endswith(f"/{recording.pk}/captions.vtt")

        # Served behind the playback token, like the video: any client with the token, no one without.
        served = Client().get(src)
        assert served.status_code == 200 and served["Content-Type"] == "text/vtt"
        assert served.content == GOOD
        token = src.split("/")[4]
        assert Client().get(src.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 403

    def test_a_new_file_replaces_the_old_one(self, event, recording, owner_client):
        url = f"/dashboard/live/{event.pk}/replay/captions/"
        owner_client.post(url, {"captions": vtt(), "language": "en"})
        recording.refresh_from_db()
        first = recording.captions.name
        second = GOOD.replace(b"Berlin", b"Hamburg")
        owner_client.post(url, {"captions": vtt(second), "language": "de", "label": "Deutsch"})
        recording.refresh_from_db()
        assert recording.captions.name != first and recording.captions.read() == second
        assert (recording.captions_language, recording.captions_label) == ("de", "Deutsch")

    @pytest.mark.parametrize("data, fields, message", [
        (b"not captions at all", {"language": "en"}, "first line must be"),
        (GOOD, {"language": "english please"}, "code such as"),
        (GOOD, {"language": "en", "label": "x" * 61}, "60 characters"),
    ])
    def test_a_bad_upload_is_explained_and_nothing_is_saved(self, event, recording, owner_client, data, fields,
                                                            message):
        r = owner_client.post(f"/dashboard/live/{event.pk}/replay/captions/", {"captions": vtt(data), **fields})
        assert r.status_code == 400
        html = r.content.decode()
        assert message in html and 'role="alert"' in html and 'aria-invalid="true"' in html
        recording.refresh_from_db()
        assert not recording.captions and recording.captions_language == ""
        assert "<track" not in html

    def test_no_file_is_a_clear_error(self, event, recording, owner_client):
        r = owner_client.post(f"/dashboard/live/{event.pk}/replay/captions/", {"language": "en"})
        assert r.status_code == 400 and "Choose a WebVTT" in r.content.decode()

    def test_only_owner_and_managers(self, event, recording):
        client = Client()
        client.force_login(team_member(event.creator, Role.MODERATOR))
        r = client.post(f"/dashboard/live/{event.pk}/replay/captions/", {"captions": vtt(), "language": "en"})
        assert r.status_code == 302  # sent back with a message
        client.force_login(UserFactory())
        assert client.post(f"/dashboard/live/{event.pk}/replay/captions/",
                           {"captions": vtt(), "language": "en"}).status_code == 404
        recording.refresh_from_db()
        assert not recording.captions

    def test_no_replay_yet_is_404(self, event, owner_client):
        assert owner_client.post(f"/dashboard/live/{event.pk}/replay/captions/",
                                 {"captions": vtt(), "language": "en"}).status_code == 404


class TestClipCaptions:
    @pytest.fixture
    def clip(self, event, recording, owner, monkeypatch):
        monkeypatch.setattr("streaming.jobs.enqueue", lambda *a: None)
        clip = clips.create_clip(event=event, actor=owner, start_seconds=2, end_seconds=6, title="Encore",
                                    access="public")
        clips.cut_clip(clip.pk)
        clip.refresh_from_db()
        return clip

    def test_upload_and_the_clip_page_plays_the_track(self, event, clip, owner_client):
        page = owner_client.get(replay_url(event)).content.decode()
        assert f'action="/dashboard/live/{event.pk}/clips/{clip.pk}/captions/"' in page
        r = owner_client.post(f"/dashboard/live/{event.pk}/clips/{clip.pk}/captions/",
                              {"captions": vtt(), "language": "de-DE", "label": "Deutsch"})
        assert r.status_code == 302
        clip.refresh_from_db()
        assert clip.captions and clip.captions_language == "de-DE"
        html = Client().get(f"/clips/{clip.pk}/").content.decode()
        src = html.split('<track kind="captions" src="', 1)[1].split('"', 1)[0]
        assert 'srclang="de-DE" label="Deutsch" default' in html
        served = Client().get(src)
        assert served.status_code == 200 and served.content == GOOD

    def test_a_bad_file_is_refused_in_the_clip_row(self, event, clip, owner_client):
        r = owner_client.post(f"/dashboard/live/{event.pk}/clips/{clip.pk}/captions/",
                              {"captions": vtt(b"WEBVTT\n"), "language": "en"})
        assert r.status_code == 400
        html = r.content.decode()
        assert "no cues" in html and f'id="captions-{clip.pk}-errors"' in html
        assert Clip.objects.get(pk=clip.pk).captions.name == ""

    def test_a_clip_of_another_event_is_404(self, event, clip, owner_client):
        other = EventFactory(creator=event.creator)
        assert owner_client.post(f"/dashboard/live/{other.pk}/clips/{clip.pk}/captions/",
                                 {"captions": vtt(), "language": "en"}).status_code == 404


def test_recordings_without_captions_have_no_track(event, recording, owner_client):
    assert Recording.objects.get(pk=recording.pk).captions.name == ""
    assert "<track" not in owner_client.get(replay_url(event)).content.decode()
