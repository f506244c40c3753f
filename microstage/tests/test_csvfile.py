"""The one CSV writer: formula guard, numbers, dates, streaming, headers."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import RequestFactory

from microstage import csvfile


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+33 6 12", "'+33 6 12"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("\nx", "'\nx"), ("|cmd", "'|cmd"), ("%0A", "'%0A"),
    ("=HYPERLINK(\"http://x.test\")", "'=HYPERLINK(\"http://x.test\")"),
    ("Ada", "Ada"), ("", ""), (None, ""), ("a=b", "a=b"),
])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(value, expected):
    assert csvfile.cell(value) == expected


def test_numbers_given_as_numbers_stay_numbers():
    assert csvfile.cell(Decimal("-12.50")) == "-12.50"
    assert csvfile.cell(-5) == "-5" and csvfile.cell(3) == "3" and csvfile.cell(2.5) == "2.5"
    assert csvfile.cell(True) == "yes" and csvfile.cell(False) == "no"
    assert csvfile.cell(datetime(2026, 12, 5, 18, 30, tzinfo=UTC)) == "2026-12-05T18:30:00+00:00"


def test_lines_start_with_a_byte_order_mark_and_quote_what_csv_needs():
    out = "".join(csvfile.lines([["name", "note"], ["Zoë", "=evil, \"quoted\""]]))
    assert out == '\ufeffname,note\r\nZoë,"\'=evil, ""quoted"""\r\n'


def test_the_response_streams_and_is_never_cached():
    request = RequestFactory().get("/x.csv")
    response = csvfile.response(request, iter([["a"], [1]]), csvfile.filename("orders", "late night/show"))
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-late-night-show-')
    assert b"".join(response.streaming_content).decode() == "\ufeffa\r\n1\r\n"
    assert csvfile.filename("payout", "pay_1", stamp=False) == "payout-pay_1.csv"


def test_there_is_one_formula_guard():
    """No module keeps its own copy of the guard (the rule lives in microstage.csvfile)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    copies = [str(p.relative_to(root)) for app in ("microstage", "commerce", "catalog", "groupbuys", "risk", "stock",
                                                     "payouts", "fulfilment", "memberships", "events", "streaming",
                                                     "analytics")
              for p in (root / app).rglob("*.py")
              if "tests" not in p.parts and p.name != "csvfile.py"
              and ("_FORMULA_START" in p.read_text() or "csv.writer(" in p.read_text())]
    assert copies == []
