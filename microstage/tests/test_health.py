"""/healthz reports database, Redis and a real Celery worker answering a ping task."""
import subprocess
import sys
import time

import pytest

from microstage.celery import app as celery_app


@pytest.fixture
def worker():
    """A real Celery worker process on the test broker, as `make run` starts one."""
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "microstage", "worker", "--pool", "solo",
                             "--loglevel", "WARNING", "--hostname", f"healthz-test-{time.time_ns()}@%h"])
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5):
            assert proc.poll() is None, "the Celery worker exited"
            assert time.monotonic() < deadline, "the Celery worker did not come up"
        yield proc
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.django_db
def test_all_parts_ok_with_a_worker(client, worker):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "redis": "ok", "worker": "ok"}
    assert "no-cache" in r.headers["Cache-Control"] or "max-age=0" in r.headers["Cache-Control"]


@pytest.mark.django_db
def test_no_worker_is_503_naming_the_worker(client, settings):
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker"].startswith("error")


@pytest.mark.django_db
def test_redis_down_is_503_naming_redis(client, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["redis"].startswith("error") and r.json()["database"] == "ok"
