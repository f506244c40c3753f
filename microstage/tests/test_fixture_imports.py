"""Fixtures are found by pytest in conftest.py files (and the fixture modules the root conftest
names in pytest_plugins), never imported by name into a test module: an imported fixture needs
`noqa: F811` on every test that requests it and silently changes meaning when two modules define it."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("microstage", "commerce", "catalog", "groupbuys", "risk", "stock", "payouts", "fulfilment", "memberships",
        "events", "streaming", "analytics")


def _fixtures_in(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list):
            names.add(node.name)
    return names


def _module_file(module: str, level: int, importer: Path) -> Path:
    base = importer.parent if level else ROOT
    for _ in range(max(level - 1, 0)):
        base = base.parent
    return base.joinpath(*module.split(".")).with_suffix(".py")


def test_no_test_module_imports_a_fixture():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app / "tests").glob("*.py")):
            source = path.read_text(encoding="utf-8")
            if "noqa: F811" in source and path != Path(__file__).resolve():
                found.append(f"{path.relative_to(ROOT)}: noqa: F811")
            for node in ast.parse(source).body:
                if isinstance(node, ast.ImportFrom) and node.module:
                    target = _module_file(node.module, node.level, path)
                    if target.exists():
                        fixtures = _fixtures_in(target) & {a.name for a in node.names}
                        if fixtures:
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports fixtures {sorted(fixtures)}")
    assert found == [], "move these fixtures to a conftest.py:\n" + "\n".join(found)
