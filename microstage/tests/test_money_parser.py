"""The one parser for amounts from outside (microstage/money.py)."""
from decimal import Decimal

import pytest

from microstage.errors import Invalid
from microstage.money import parse_amount, parse_optional_amount


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", "12.50"), ("12.5", "12.50"), (" 7 ", "7.00"), (12, "12.00"), (Decimal("3.1"), "3.10"),
    ("12,50", "12.50"), ("0", "0.00"), ("100000", "100000.00"),
])
def test_amounts_people_type_are_read(value, expected):
    assert parse_amount(value) == Decimal(expected)


@pytest.mark.parametrize("value", [
    None, True, False, "", "  ", "abc", "NaN", "Infinity", "-Infinity", "1e400000", [], {}, "1,000.50",
    "1.000,50", "12.345", 0.1 + 0.2, 12.5, 0.1, "1 000", "0x10",
])
def test_anything_else_is_refused_with_a_field_error(value):
    with pytest.raises(Invalid) as caught:
        parse_amount(value, field="price")
    assert list(caught.value.fields) == ["price"]


def test_bounds_are_inclusive_and_named():
    assert parse_amount("5", minimum=Decimal("5"), maximum=Decimal("10")) == Decimal("5.00")
    assert parse_amount("10", minimum=Decimal("5"), maximum=Decimal("10")) == Decimal("10.00")
    for outside in ("4.99", "10.01", "-1"):
        with pytest.raises(Invalid) as caught:
            parse_amount(outside, minimum=Decimal("5"), maximum=Decimal("10"))
        assert "5" in caught.value.fields["amount"][0] and "10" in caught.value.fields["amount"][0]


def test_the_currency_decides_the_decimals():
    assert parse_amount("1500", currency="JPY") == Decimal("1500.00")
    with pytest.raises(Invalid):
        parse_amount("12.5", currency="JPY")
    assert parse_amount("12.34", currency="KWD") == Decimal("12.34")  # stored amounts keep two places
    with pytest.raises(Invalid):
        parse_amount("12.345", currency="KWD")


def test_optional_amounts():
    assert parse_optional_amount(None) is None and parse_optional_amount("  ") is None
    assert parse_optional_amount("2,5") == Decimal("2.50")
