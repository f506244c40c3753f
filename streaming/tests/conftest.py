"""Fixtures shared by the streaming tests: an event and a short recording in storage, the RTMP hooks'
secret, transcodes that would be queued, a media root and nginx with the RTMP module."""
import socket
import subprocess
import time
from pathlib import Path

import pytest

from events.tests.factories import EventFactory
from microstage import devstack
from streaming.services import ingest

from .media_helpers import make_recording
from .rtmp_helpers import NGINX, SECRET, free_port


@pytest.fixture
def event():
    return EventFactory()


@pytest.fixture
def recording(event, media_root, source_video, source_hls):
    return make_recording(event, source_video, source_hls)


@pytest.fixture
def hook_secret(settings):
    settings.RTMP_HOOK_SECRET = SECRET
    settings.RTMP_HOOK_ALLOW = []


@pytest.fixture
def queued(monkeypatch):
    """Transcode tasks that would be queued (none run here)."""
    calls = []
    monkeypatch.setattr(ingest, "_queue_transcode", lambda rec_id, spec: calls.append((rec_id, spec)))
    return calls


@pytest.fixture
def storage_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def nginx_rtmp(settings, live_server, tmp_path, monkeypatch):
    if NGINX is None:
        pytest.skip("needs nginx with the RTMP module (CI installs nginx and libnginx-mod-rtmp)")
    port = free_port()
    from streaming.hook_auth import hook_secret

    settings.RTMP_HOOK_SECRET = "nginx-hook-secret"
    conf = devstack.render_nginx_rtmp(tmp_path / "nginx", hook_base=live_server.url, rtmp_port=port,
                                      load_module=NGINX[1], hook_secret=hook_secret())
    proc = subprocess.Popen(devstack.nginx_rtmp_argv(NGINX[0], conf), stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "nginx" / "error.log").read_text()
        time.sleep(0.1)
    settings.RTMP_PORT = port
    yield port
    proc.terminate()
    proc.wait(10)
