"""No module imports another module's private name (a leading underscore): what two modules share is
public API of the one that owns it."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("microstage", "commerce", "catalog", "groupbuys", "risk", "stock", "payouts", "fulfilment", "memberships",
        "events", "streaming", "analytics")


def test_no_private_name_is_imported_across_modules():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in APPS):
                    private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    own_submodule = path.name == "__init__.py" and node.level == 1  # a package loading its part
                    private += [f"{a.name} as {a.asname}" for a in node.names
                                if (a.asname or "").startswith("_") and not own_submodule]
                    if private:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {private}")
    assert found == [], "\n".join(found)


def test_no_private_name_is_reached_through_another_module():
    """`from app import selectors` then `selectors._rows(...)` is the same leak as importing `_rows`."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            modules = set()  # local names bound to one of our modules
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in APPS):
                    modules |= {a.asname or a.name for a in node.names if not a.name[:1].isupper()}
                elif isinstance(node, ast.Import):
                    modules |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in APPS}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                        and node.attr.startswith("_") and not node.attr.startswith("__")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert found == [], "\n".join(found)
