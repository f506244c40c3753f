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


# --- cheap liveness: cached worker health, never a task per request ------------------------------

@pytest.fixture
def count_pings(monkeypatch):
    """Counts ping tasks queued (the real send still runs)."""
    from microstage import health

    calls = []
    real = health.send_ping

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(health, "send_ping", counting)
    return calls


@pytest.mark.django_db
def test_many_probes_queue_at_most_one_ping(client, worker, count_pings, settings):
    settings.HEALTHZ_WORKER_INTERVAL = 60
    for _ in range(25):
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"database": "ok", "redis": "ok", "worker": "ok"}
    assert len(count_pings) <= 1


@pytest.mark.django_db
def test_a_fresh_heartbeat_answers_without_queueing(client, count_pings):
    from microstage.tasks import heartbeat

    heartbeat()  # what a worker does when beat queues it
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["worker"] == "ok"
    assert count_pings == []


@pytest.mark.django_db
def test_a_stale_heartbeat_is_checked_again_and_a_failure_is_cached(client, count_pings, settings):
    from microstage import health

    settings.HEALTHZ_WORKER_TIMEOUT = 0.3
    settings.HEALTHZ_WORKER_INTERVAL = 60
    health.cache.set(health.WORKER_KEY, {"at": 0, "status": "ok"})  # a heartbeat from long ago, no worker now
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["worker"].startswith("error")
    assert len(count_pings) == 1
    for _ in range(5):  # the failure is remembered for the interval: no new ping per probe
        assert client.get("/healthz").status_code == 503
    assert len(count_pings) == 1


@pytest.mark.django_db
def test_probes_during_a_refresh_answer_from_the_last_result(client, count_pings, settings):
    from microstage import health

    settings.HEALTHZ_WORKER_INTERVAL = 1
    settings.HEALTHZ_WORKER_TIMEOUT = 30
    health.cache.set(health.WORKER_KEY, {"at": time.time() - 3, "status": "ok"})  # stale, a ping is due
    health.cache.add(health.WORKER_LOCK, 1, timeout=30)  # another request queued it right now
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["worker"] == "ok"
    assert count_pings == []


@pytest.mark.django_db
def test_ready_always_pings_and_checks_migrations(client, worker, count_pings):
    for _ in range(2):
        r = client.get("/healthz/ready")
        assert r.status_code == 200
        assert r.json() == {"database": "ok", "redis": "ok", "worker": "ok", "migrations": "ok"}
    assert len(count_pings) == 2


@pytest.mark.django_db
def test_ready_without_a_worker_is_503(client, settings):
    settings.HEALTHZ_WORKER_TIMEOUT = 0.3
    r = client.get("/healthz/ready")
    assert r.status_code == 503 and r.json()["worker"].startswith("error")
    assert r.json()["migrations"] == "ok"


@pytest.mark.django_db
def test_a_stale_heartbeat_queues_one_ping_and_never_waits(client, count_pings, settings, monkeypatch):
    from microstage import health

    settings.HEALTHZ_WORKER_INTERVAL = 60
    settings.HEALTHZ_WORKER_TIMEOUT = 30
    health.cache.set(health.WORKER_KEY, {"at": time.time() - 61, "status": "ok"})
    monkeypatch.setattr(health, "ping_worker", lambda: pytest.fail("a probe waited for a worker"))
    for _ in range(10):
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json()["worker"] == "ok"  # within interval + timeout: still ok
    assert len(count_pings) == 1  # queued once, not per probe


@pytest.mark.django_db
def test_the_asgi_fast_path_answers_the_same_report(worker):
    """Under uvicorn /healthz is answered before Django's middleware, with the same body and codes."""
    import asyncio

    from microstage.asgi import application

    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/healthz", "method": "GET", "headers": [], "query_string": b""}

    async def probes():
        for _ in range(3):  # one report per second per process; the others reuse it
            await application(scope, receive, send)

    asyncio.run(probes())
    assert len(sent) == 6 and sent[0]["status"] == sent[2]["status"] == sent[4]["status"]
    assert sent[0]["status"] == 200
    assert dict(sent[0]["headers"])[b"cache-control"].startswith(b"max-age=0")
    import json

    assert json.loads(sent[1]["body"]) == {"database": "ok", "redis": "ok", "worker": "ok"}
