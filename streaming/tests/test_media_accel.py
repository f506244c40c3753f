"""HLS segments and clips leave through nginx (X-Accel-Redirect) after the token check (issue 11, item 7)."""
import pytest
from django.test import Client

from microstage.tests.factories import team_member
from streaming.selectors import playback_for

pytestmark = pytest.mark.django_db


def test_segments_go_to_nginx_playlists_are_answered_here(settings, event, recording):
    settings.MICROSTAGE_MEDIA_ACCEL = "nginx"
    client = Client()
    url = playback_for(event, team_member(event.creator))["hls_url"]
    base = url.rsplit("/", 1)[0]
    master = client.get(url)
    assert master.status_code == 200 and "X-Accel-Redirect" not in master
    variant = next(ln for ln in master.content.decode().splitlines() if ln and not ln.startswith("#"))
    media = client.get(f"{base}/{variant}")
    segment = next(ln for ln in media.content.decode().splitlines() if ln.endswith(".ts"))
    seg = client.get(f"{base}/{variant.rsplit('/', 1)[0]}/{segment}")
    assert seg.status_code == 200 and seg.content == b""
    expected = f"/_media/{recording.hls_prefix.rstrip('/')}/{variant.rsplit('/', 1)[0]}/{segment}"
    assert seg["X-Accel-Redirect"] == expected
    assert seg["Content-Type"] == "video/mp2t" and "public" in seg["Cache-Control"]
    # A forged token or a missing file never reaches nginx.
    token = url.split("/")[-3]
    forged = client.get(f"{base}/{variant.rsplit('/', 1)[0]}/{segment}".replace(token, token[:-1] + "x"))
    assert forged.status_code == 403 and "X-Accel-Redirect" not in forged
    missing = client.get(f"{base}/{variant.rsplit('/', 1)[0]}/nope99.ts")
    assert missing.status_code == 404 and "X-Accel-Redirect" not in missing
