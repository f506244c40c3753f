"""Health of the three engines the platform runs on: database, Redis and a Celery worker."""
import redis
from django.conf import settings
from django.db import connection

from .tasks import ping


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # report, don't raise: this is a probe
        return f"error: {type(exc).__name__}"


def check_redis() -> str:
    try:
        location = settings.CACHES["default"]["LOCATION"]
        client = redis.Redis.from_url(location, socket_timeout=2, socket_connect_timeout=2)
        return "ok" if client.ping() else "error: no pong"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def check_worker() -> str:
    try:
        result = ping.apply_async(expires=settings.HEALTHZ_WORKER_TIMEOUT)
        answer = result.get(timeout=settings.HEALTHZ_WORKER_TIMEOUT)
        result.forget()
        return "ok" if answer == "pong" else "error: unexpected answer"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def report() -> tuple[dict[str, str], bool]:
    parts = {"database": check_database(), "redis": check_redis()}
    parts["worker"] = check_worker() if parts["redis"] == "ok" else "error: broker unavailable"
    return parts, all(v == "ok" for v in parts.values())
