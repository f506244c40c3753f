"""The translation catalogues under locale/: compile them to .mo and check they are complete.

    python -m microstage.catalogs compile   # every locale/<lang>/LC_MESSAGES/*.po → .mo (run by make)
    python -m microstage.catalogs check     # fails on an untranslated or fuzzy entry
    python -m microstage.catalogs check-templates [FILES]  # fails on template text not marked

Compiling uses Babel (a pinned dependency) rather than GNU gettext's msgfmt, so `make` works on a
machine without gettext installed. The .mo files are build output and never committed.
"""
from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TEMPLATES_DIR = LOCALE_DIR.parent / "templates"


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


# --- templates: every visible string is marked ---------------------------------------------------

# Attributes a person reads or hears (the value of a button-like input too).
READ_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description",
                             "aria-roledescription", "aria-valuetext", "label"})
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
HOLE = "\x00"  # stands for a variable or a tag's output: a translated string or data, never English
_LETTER = re.compile(r"[^\W\d_]")
# Text that needs no translation: the brand and acronyms (VIP, RTMP, HLS, QR, CSV, SMS …).
_UNTRANSLATED_WORD = re.compile(r"^(Microstage|[A-Z0-9]{2,6})$")


def _needs_translation(text: str) -> bool:
    words = [w for w in re.split(r"[\s\x00]+", text) if _LETTER.search(w)]
    words = [re.sub(r"^\W+|\W+$", "", w) for w in words]
    return any(not _UNTRANSLATED_WORD.match(w) for w in words if w)


def _skeleton(source: str) -> str:
    """The template with every variable/tag replaced by HOLE and translate blocks removed, keeping
    the line breaks (so findings point at the right line)."""
    from django.template.base import Lexer, TokenType

    out, skip_until = [], None
    for token in Lexer(source).tokenize():
        raw = token.contents
        newlines = "\n" * (token.token_type == TokenType.TEXT and raw.count("\n") or 0)
        if token.token_type == TokenType.BLOCK:
            name = raw.split(None, 1)[0] if raw else ""
            if skip_until:
                if name == skip_until:
                    skip_until = None
                continue
            skip_until = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans",
                          "comment": "endcomment", "verbatim": "endverbatim"}.get(name)
            if name == "block" and raw.split()[1:2] in (["body_class"], ["container_class"]):
                skip_until = "endblock"  # CSS class names filled into an attribute
            out.append(HOLE)
        elif token.token_type == TokenType.VAR:
            out.append(HOLE)
        elif token.token_type == TokenType.TEXT:
            out.append(newlines if skip_until else raw)
        # comments ({# #}) vanish
    # A tag whose name a template tag chooses (`<{% if href %}a{% else %}button{% endif %}`) is a tag.
    # Then every hole becomes a space, which HTML's syntax tolerates between attributes.
    return re.sub(r"<(/?)\x00+", r"<\1", "".join(out)).replace(HOLE, " ")


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.raw = 0  # inside <script>/<style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.raw += 1
        values = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            # An <input type="submit">'s value is its label; a <button>'s value is data sent with the form
            # (its label is its content, checked as text).
            readable = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and (values.get("type") or "").lower() in BUTTON_INPUTS)
            if readable and _needs_translation(value):
                self.found.append((self.getpos()[0], f'{name}="{value.strip()}"'))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.raw -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.raw:
            self.raw -= 1

    def handle_data(self, data):
        if not self.raw and _needs_translation(data):
            first = _LETTER.search(data).start()
            self.found.append((self.getpos()[0] + data.count("\n", 0, first), " ".join(data.split())))


def untranslated_in_template(path: Path) -> list[tuple[int, str]]:
    skeleton = _skeleton(path.read_text(encoding="utf-8"))
    if path.suffix == ".txt":  # plain-text email bodies, subjects and SMS: all of it is read
        return [(n, " ".join(line.split()))
                for n, line in enumerate(skeleton.splitlines(), 1) if _needs_translation(line)]
    finder = _Finder()
    finder.feed(skeleton)
    finder.close()
    return finder.found


def template_problems(paths: list[Path] | None = None) -> list[str]:
    from django.conf import settings

    if not settings.configured:  # the template lexer needs no project settings
        settings.configure()
    if not paths:
        paths = sorted(p for p in TEMPLATES_DIR.rglob("*") if p.suffix in (".html", ".txt"))
    found = []
    for path in paths:
        for line, text in untranslated_in_template(path):
            found.append(f"{path.relative_to(LOCALE_DIR.parent) if path.is_absolute() else path}:{line}: {text[:100]}")
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
    if command == "check-templates":
        found = template_problems([Path(p).resolve() for p in argv[1:]] or None)
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print(f"{len(found)} template strings are not marked for translation "
                  "({% translate %} / {% blocktranslate %})", file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
