"""How streaming's modules fit together: services queue work by task name (tasks stay thin and call the
services, not the other way round), and services is a package of sub-domain modules."""
import ast
from pathlib import Path

import pytest

from microstage import health
from microstage.celery import app as celery_app
from streaming import jobs

APP = Path(__file__).resolve().parents[1]


@pytest.mark.django_db  # a worker runs the system checks (some read the database) on import
def test_every_task_name_a_service_sends_is_registered():
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery + CELERY_IMPORTS
    registered = set(celery_app.tasks.keys())
    sent = {*jobs.TASK_NAMES, health.PING_TASK}
    assert sent - registered == set()


def test_enqueue_sends_the_named_task_with_its_arguments(monkeypatch):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args: sent.append((name, args)))
    jobs.enqueue(jobs.TRANSCODE_RECORDING, "rec_1", {"kind": "rtmp", "which": "main"})
    assert sent == [("streaming.transcode_recording", ["rec_1", {"kind": "rtmp", "which": "main"}])]


def test_services_is_a_package_of_sub_domains_without_a_second_home_for_names():
    package = APP / "services"
    assert sorted(p.stem for p in package.glob("*.py")) == [
        "__init__", "chat", "clips", "ingest", "preflight", "presence", "transcode"]
    body = ast.parse((package / "__init__.py").read_text(encoding="utf-8")).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert not (APP / "services.py").exists()
