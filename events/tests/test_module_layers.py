"""How the modules of events, memberships and analytics depend on each other: services never import tasks or
views, selectors never import services, and a service that enqueues work names a task that exists. (No import
cycle anywhere: microstage/tests/test_importcycles.py.)"""
import ast
import importlib
import importlib.util
from pathlib import Path

import grimp
import pytest
from microstage.permissions import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
APPS = ("events", "memberships", "analytics")
SENDERS = (*APPS, "commerce", "groupbuys")  # apps whose services queue tasks by name (send_task)


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*APPS, cache_dir=None)  # a cache keyed on mtimes can miss a changed import


def _modules(graph, app: str) -> set[str]:
    return {m for m in graph.modules if m.split(".")[0] == app and ".tests" not in m and ".migrations" not in m}


def test_services_never_import_tasks_or_views_and_selectors_never_import_services(graph):
    services = {m for m in _modules(graph, "events") if m == "events.services" or m.startswith("events.services.")}
    services |= {"memberships.services", "analytics.services"}
    wrong = []
    for module in sorted(services | {"events.selectors", "memberships.selectors", "analytics.selectors"}):
        for imported in graph.find_modules_directly_imported_by(module):
            last = imported.rsplit(".", 1)[-1]
            if imported.split(".")[0] in APPS and (last == "tasks" or last.endswith("views")
                                                   or imported.startswith(f"{imported.split('.')[0]}.views")):
                wrong.append(f"{module} imports {imported}")
            if module.endswith(".selectors") and ".services" in f".{imported}." and imported.split(".")[0] in APPS:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def _sent_task_names() -> list[tuple[str, str]]:
    """(where, task name) for every `send_task(<name>, ...)` or `queued.after_commit(<name>, ...)` in the apps'
    code: a literal or a module constant."""
    sent = []
    for app in SENDERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                         and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                         for t in node.targets if isinstance(t, ast.Name)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("send_task", "after_commit"):
                    arg = node.args[0] if node.args else None
                    name = (arg.value if isinstance(arg, ast.Constant)
                            else constants.get(arg.id) if isinstance(arg, ast.Name) else None)
                    sent.append((f"{path.relative_to(ROOT)}:{node.lineno}", name))
    return sent


def test_every_task_sent_by_name_is_registered():
    from django.apps import apps

    from microstage.celery import app as celery_app

    for config in apps.get_app_configs():  # what the worker's autodiscovery imports
        if importlib.util.find_spec(f"{config.name}.tasks") is not None:
            importlib.import_module(f"{config.name}.tasks")
    sent = _sent_task_names()
    where = {(w.split(":")[0], n) for w, n in sent}
    assert ("events/services/events.py", "events.render_preview_image") in where
    assert ("commerce/services.py", "commerce.send_order_email") in where  # order emails, after commit
    assert ("groupbuys/services.py", "groupbuys.send_group_buy_email") in where
    assert [(where, name) for where, name in sent if name not in celery_app.tasks] == []


@pytest.mark.django_db
def test_publishing_sends_the_preview_task_by_its_registered_name(monkeypatch, django_capture_on_commit_callbacks):
    from celery import current_app

    from events.services import events as event_services
    from events.tests.factories import EventFactory, TierFactory

    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=None, **kw: sent.append((name, args)))
    event = EventFactory(status="draft")
    TierFactory(event=event)
    with django_capture_on_commit_callbacks(execute=True):
        event_services.publish(event, actor=SYSTEM)
    assert sent == [("events.render_preview_image", [event.pk])]
