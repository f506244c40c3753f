"""Health of the three engines the platform runs on: database, Redis and a Celery worker.

`/healthz` (liveness, polled by load balancers, also during a rush) must cost next to nothing: the
database and Redis answer a trivial round trip each, and the worker part is read from a cached
result. That result is refreshed at most every HEALTHZ_WORKER_INTERVAL seconds: the `microstage.ping`
task writes it whenever a worker runs it (beat queues one every half interval), and when it is
older than the interval, exactly one web request (a Redis lock) queues a ping and waits for it while
every other request answers from the last known result. So a flood of /healthz never queues more
than one task per interval. `/healthz/ready` (deploys) always does the real round trip and also checks
that no migration is pending.
"""
import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections

log = logging.getLogger(__name__)
WORKER_KEY = "health:worker"  # {"at": epoch seconds, "status": "ok" | "error: ..."}
WORKER_LOCK = "health:worker:lock"
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
    from .tasks import ping

    try:
        result = ping.apply_async(expires=settings.HEALTHZ_WORKER_TIMEOUT)
        answer = result.get(timeout=settings.HEALTHZ_WORKER_TIMEOUT)
        result.forget()
        status = "ok" if answer == "pong" else "error: unexpected answer"
    except Exception as exc:
        status = f"error: {type(exc).__name__}"
    record_worker(status)
    return status


def record_worker(status: str) -> None:
    try:
        cache.set(WORKER_KEY, {"at": time.time(), "status": status}, timeout=24 * 3600)
    except Exception:  # Redis down: the Redis part of the report says so
        log.warning("worker health not recorded", exc_info=True)


def _last_worker() -> dict | None:
    found = cache.get(WORKER_KEY)
    return found if isinstance(found, dict) and "at" in found else None


def check_worker() -> str:
    """The worker's health, at most HEALTHZ_WORKER_INTERVAL seconds old; one request at a time refreshes it."""
    interval = settings.HEALTHZ_WORKER_INTERVAL
    last = _last_worker()
    if last and time.time() - last["at"] <= interval:
        return last["status"]
    if cache.add(WORKER_LOCK, 1, timeout=settings.HEALTHZ_WORKER_TIMEOUT + 1):
        try:
            return ping_worker()
        finally:
            cache.delete(WORKER_LOCK)
    if last:  # someone is refreshing it right now: the last known answer, a few seconds old
        return last["status"]
    deadline = time.monotonic() + settings.HEALTHZ_WORKER_TIMEOUT + 1
    while time.monotonic() < deadline:  # the very first probe: wait for the one ping in flight
        time.sleep(0.05)
        last = _last_worker()
        if last:
            return last["status"]
    return "error: TimeoutError"


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
