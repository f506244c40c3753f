"""Platform tasks."""
from celery import shared_task

from .health import record_worker


@shared_task(name="microstage.ping", ignore_result=False)
def ping() -> str:
    """Answered by any live worker. Also records the worker as healthy, so /healthz reads a fresh
    result instead of queueing a task of its own (beat queues this one every few seconds)."""
    record_worker("ok")
    return "pong"


@shared_task(name="microstage.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Queued by beat every half HEALTHZ_WORKER_INTERVAL: a worker running it is a worker answering."""
    record_worker("ok")
