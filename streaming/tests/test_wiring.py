"""How streaming's modules fit together: services queue work by task name, and no module imports
another one that imports it back (tasks stay thin and call the services, not the other way round)."""
import ast
from pathlib import Path

import grimp
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


def _cycles(graph, modules):
    """Strongly connected components of more than one module (Tarjan), function-level imports included."""
    adj = {m: [x for x in graph.find_modules_directly_imported_by(m) if x in modules] for m in modules}
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_no_import_cycle_in_streaming_or_between_health_and_tasks():
    graph = grimp.build_graph("streaming", "microstage", cache_dir=None)
    modules = {m for m in graph.modules if ".tests" not in m and ".migrations" not in m}
    assert _cycles(graph, {m for m in modules if m.startswith("streaming")}) == []
    assert _cycles(graph, {"microstage.health", "microstage.tasks"}) == []


def test_services_is_a_package_of_sub_domains_without_a_second_home_for_names():
    package = APP / "services"
    assert sorted(p.stem for p in package.glob("*.py")) == [
        "__init__", "chat", "clips", "ingest", "preflight", "presence", "transcode"]
    body = ast.parse((package / "__init__.py").read_text(encoding="utf-8")).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert not (APP / "services.py").exists()
