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
                    if private:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {private}")
    assert found == [], "\n".join(found)
