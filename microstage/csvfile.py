"""The one way the platform writes CSV for people: safe against formula injection, streamed, UTF-8
with a byte-order mark so spreadsheet apps read accented names, never cached.

Formula guard (OWASP "CSV injection"): a text cell that starts with = + - @ | % or a tab/CR/LF would
be run by a spreadsheet, so it gets a leading apostrophe, which the spreadsheet shows but never runs.
Numbers given as numbers (int, Decimal, float) are written as they are, so a refund of -5.00 stays a
number; the same characters given as text ("-5") are text and get the apostrophe, whoever typed them.
"""
import csv
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from microstage.filesend import streaming_response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
BOM = "\ufeff"


def cell(value) -> str:
    """One CSV cell: None is empty, numbers stay numbers, dates are ISO 8601, text is guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value):
        return value


def lines(rows: Iterable[Iterable]) -> Iterable[str]:
    """The CSV text of `rows` (the first is the header), line by line, after a byte-order mark."""
    writer = csv.writer(_Echo())
    yield BOM
    for row in rows:
        yield writer.writerow([cell(c) for c in row])


def filename(*parts: str, stamp: bool = True) -> str:
    """`name-part-20261205-1830.csv`, with anything but letters, digits, _ and - replaced."""
    name = "-".join(re.sub(r"[^A-Za-z0-9_-]", "-", str(p))[:60] for p in parts if p) or "export"
    return f"{name}-{timezone.now():%Y%m%d-%H%M}.csv" if stamp else f"{name}.csv"


def response(request, rows: Iterable[Iterable], name: str):
    """A streamed CSV download of `rows` named `name` (see filename())."""
    out = streaming_response(request, lines(rows), content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = f'attachment; filename="{name}"'
    out["Cache-Control"] = "no-store"
    out["X-Content-Type-Options"] = "nosniff"
    return out
