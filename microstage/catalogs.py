"""The translation catalogues under locale/: compile them to .mo and check they are complete.

    python -m microstage.catalogs compile   # every locale/<lang>/LC_MESSAGES/*.po → .mo (run by make)
    python -m microstage.catalogs check     # fails on an untranslated or fuzzy entry

Compiling uses Babel (a pinned dependency) rather than GNU gettext's msgfmt, so `make` works on a
machine without gettext installed. The .mo files are build output and never committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues(root: Path = LOCALE_DIR) -> list[Path]:
    return sorted(root.glob("*/LC_MESSAGES/*.po"))


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parts[-3], abort_invalid=True)


def compile_all(root: Path = LOCALE_DIR) -> list[Path]:
    written = []
    for po in catalogues(root):
        catalog = _read(po)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def problems(root: Path = LOCALE_DIR) -> list[str]:
    """One line per entry that a reader would see in English (untranslated) or wrongly (fuzzy)."""
    found = []
    for po in catalogues(root):
        for message in _read(po):
            if not message.id:
                continue
            where = f"{po.relative_to(root.parent)}: {message.id if isinstance(message.id, str) else message.id[0]!r}"
            if message.fuzzy:
                found.append(f"{where} is fuzzy")
            strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
            if not all(strings):
                found.append(f"{where} is not translated")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "compile":
        for mo in compile_all():
            print(f"compiled {mo.relative_to(LOCALE_DIR.parent)}")
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print(f"{len(found)} catalogue entries need a translation", file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
