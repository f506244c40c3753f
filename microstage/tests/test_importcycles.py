"""The import-cycle check run by `make lint` and `make test` finds circles, including lazy imports."""
import sys

import pytest

from microstage import importcycles


@pytest.fixture
def package(tmp_path, monkeypatch):
    def make(name: str, files: dict[str, str]) -> str:
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        for module, source in files.items():
            (root / f"{module}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
        return name

    yield make
    for name in [m for m in sys.modules if m.startswith("cyc_")]:
        sys.modules.pop(name, None)


def test_a_circle_through_a_function_level_import_is_found(package, capsys):
    name = package("cyc_lazy", {
        "services": "from . import selectors\n\ndef sell():\n    return selectors.price()\n",
        "selectors": "def price():\n    from .tasks import queue\n    return queue()\n",
        "tasks": "def queue():\n    from .services import sell\n    return sell\n",
        "views": "from .services import sell\n",
    })
    found, _graph = importcycles.find([name])
    assert [component for component, _circle in found] == [
        [f"{name}.selectors", f"{name}.services", f"{name}.tasks"]
    ]
    circle = found[0][1]
    assert circle[0] == circle[-1] and len(circle) == 4
    assert importcycles.report([name]) == 1
    out = capsys.readouterr().out
    assert f"{name}.tasks -> {name}.services (line 2)" in out


def test_imports_that_only_point_down_pass(package, capsys):
    name = package("cyc_clean", {
        "models": "X = 1\n",
        "selectors": "from .models import X\n",
        "services": "from .selectors import X\n\ndef later():\n    from . import models\n    return models\n",
        "tasks": "from .services import later\n",
        "migrations": "from .services import later\n",
    })
    assert importcycles.find([name])[0] == []
    assert importcycles.report([name]) == 0
    assert "no import cycles" in capsys.readouterr().out


def test_the_checked_packages_are_the_layered_apps():
    assert set(importcycles.root_packages()) >= {"microstage", "commerce", "events", "streaming", "analytics"}


def test_the_project_has_no_import_cycles():
    """What `make lint` checks, in the test run too: every app of the layers, each module on its own."""
    found, graph = importcycles.find(importcycles.root_packages())
    circles = [" -> ".join(circle) for _component, circle in found]
    assert circles == []
