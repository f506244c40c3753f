"""Health of the three engines the platform runs on: database, Redis and a Celery worker.

`/healthz` (liveness, polled by load balancers, also during a rush) must cost next to nothing: the
database and Redis answer a trivial round trip each, and the worker part is read from the worker's
last heartbeat in Redis (`microstage.heartbeat`, queued by beat every half HEALTHZ_WORKER_INTERVAL,
and `microstage.ping` record it when a worker runs them). A probe never waits for a worker once one
has been seen, and a flood of probes queues at most one ping per interval (see check_worker). Under
uvicorn, /healthz is answered before Django's middleware (microstage/health_asgi.py), so it does not
queue behind the page and API requests of a rush. `/healthz/ready` (deploys) always does the real
round trip and also checks that no migration is pending.
"""
import logging
import time

import redis
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections

log = logging.getLogger(__name__)
WORKER_KEY = "health:worker"  # {"at": epoch seconds, "status": "ok" | "error: ..."}
WORKER_LOCK = "health:worker:lock"
PING_TASK = "microstage.ping"  # registered by microstage/tasks.py, which records through this module
_clients: dict[str, redis.Redis] = {}


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # report, don't raise: this is a probe
        return f"error: {type(exc).__name__}"


def _client() -> redis.Redis:
    location = settings.CACHES["default"]["LOCATION"]
    client = _clients.get(location)
    if client is None:  # one pooled client per location, not a new connection per probe
        client = _clients[location] = redis.Redis.from_url(location, socket_timeout=2, socket_connect_timeout=2)
    return client


def check_redis() -> str:
    try:
        return "ok" if _client().ping() else "error: no pong"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def ping_worker() -> str:
    """The real round trip: queue the ping task and wait for a worker's answer (records the result)."""
    try:
        result = send_ping()
        answer = result.get(timeout=settings.HEALTHZ_WORKER_TIMEOUT)
        result.forget()
        status = "ok" if answer == "pong" else "error: unexpected answer"
    except Exception as exc:
        status = f"error: {type(exc).__name__}"
    record_worker(status)
    return status


def send_ping():
    """Queue the ping task by its registered name (the tasks module imports this one, not the reverse)."""
    return current_app.send_task(PING_TASK, expires=settings.HEALTHZ_WORKER_TIMEOUT)


def record_worker(status: str) -> None:
    try:
        cache.set(WORKER_KEY, {"at": time.time(), "status": status}, timeout=24 * 3600)
    except Exception:  # Redis down: the Redis part of the report says so
        log.warning("worker health not recorded", exc_info=True)


def _last_worker() -> dict | None:
    found = cache.get(WORKER_KEY)
    return found if isinstance(found, dict) and "at" in found else None


def queue_ping() -> None:
    """Ask a worker for a heartbeat without waiting for it (it records itself when it runs)."""
    try:
        send_ping()
    except Exception:  # the broker is Redis: the Redis part of the report says so
        log.warning("worker ping not queued", exc_info=True)


def check_worker() -> str:
    """The worker's health from its last heartbeat; never waits for a worker once one has been seen.

    A heartbeat younger than HEALTHZ_WORKER_INTERVAL is the answer. An older one makes one request per
    interval (a Redis lock) queue a ping and answer from what is known: still "ok" while the heartbeat
    is younger than the interval plus HEALTHZ_WORKER_TIMEOUT (the time a worker has to answer), an
    error after that. Only when no heartbeat was ever recorded (a fresh Redis) does a probe wait for
    a worker's answer — one probe; the others wait for its result.
    """
    interval, timeout = settings.HEALTHZ_WORKER_INTERVAL, settings.HEALTHZ_WORKER_TIMEOUT
    last = _last_worker()
    age = time.time() - last["at"] if last else None
    if age is not None and age <= interval:
        return last["status"]
    if cache.add(WORKER_LOCK, 1, timeout=max(1, int(interval))):
        if last is None:
            return ping_worker()
        queue_ping()
    if last is None:  # the very first probe is pinging: wait for its answer
        deadline = time.monotonic() + timeout + 1
        while time.monotonic() < deadline:
            time.sleep(0.05)
            last = _last_worker()
            if last:
                return last["status"]
        return "error: TimeoutError"
    if age <= interval + timeout:
        return last["status"]
    return f"error: no heartbeat for {int(age)} s"


def check_migrations() -> str:
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return "ok" if not pending else f"error: {len(pending)} migrations pending"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def report() -> tuple[dict[str, str], bool]:
    """Liveness: database, Redis, and the cached worker health."""
    parts = {"database": check_database(), "redis": check_redis()}
    parts["worker"] = check_worker() if parts["redis"] == "ok" else "error: broker unavailable"
    return parts, all(v == "ok" for v in parts.values())


def ready_report() -> tuple[dict[str, str], bool]:
    """Readiness for deploys: a fresh worker round trip and no pending migrations."""
    parts = {"database": check_database(), "redis": check_redis()}
    parts["worker"] = ping_worker() if parts["redis"] == "ok" else "error: broker unavailable"
    parts["migrations"] = check_migrations() if parts["database"] == "ok" else "error: database unavailable"
    return parts, all(v == "ok" for v in parts.values())
