"""Guard: one permission check (microstage.permissions.require_role), and an actor is always given.

Fails when a function in the apps takes `actor` with a default of None (trusted code passes SYSTEM,
it never leaves the actor out), and when one of the team-permission helpers that require_role replaced
comes back under its old name."""
import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = tuple(app for app in settings.INSTALLED_APPS if "." not in app and (ROOT / app).is_dir())
OLD_HELPERS = frozenset({"creator_for_team", "_require_editor", "require_team", "require_door",
                         "_require_event_editor", "team_event", "_team_event"})


def _modules(*, tests: bool):
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or ("tests" in path.parts and not tests):
                continue
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _defaults(args: ast.arguments):
    positional = args.posonlyargs + args.args
    yield from zip(positional[len(positional) - len(args.defaults):], args.defaults)
    yield from ((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None)


def test_the_apps_are_found():
    assert {"microstage", "commerce", "events"} <= set(APPS)


def test_no_function_takes_an_actor_that_defaults_to_none():
    found = []
    for path, tree in _modules(tests=False):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                for arg, default in _defaults(node.args):
                    if arg.arg == "actor" and isinstance(default, ast.Constant) and default.value is None:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {getattr(node, 'name', 'lambda')}")
    assert found == [], "pass the user, or SYSTEM for trusted code:\n" + "\n".join(found)


def test_the_old_permission_helpers_do_not_come_back():
    me = Path(__file__).resolve()
    found = []
    for path, tree in _modules(tests=True):
        if path.resolve() == me:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names = [a.asname or a.name for a in node.names] + [a.name for a in node.names]
            for name in set(names) & OLD_HELPERS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert found == [], "use microstage.permissions.require_role:\n" + "\n".join(sorted(set(found)))
