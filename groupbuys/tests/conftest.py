"""Group-buy tests run what settlement queues by task name (its emails) at once, as a worker would,
and keep the list of what was queued (`queued_tasks`)."""
import pytest

from groupbuys import tasks
from microstage.celery import app as celery_app


@pytest.fixture(autouse=True)
def queued_tasks(monkeypatch):
    queued = []

    def send_task(name, args=None, kwargs=None, **options):
        queued.append((name, list(args or ())))
        return celery_app.tasks[name].apply(args=args, kwargs=kwargs)

    assert tasks.send_group_buy_email.name in celery_app.tasks
    monkeypatch.setattr(celery_app, "send_task", send_task)
    return queued
