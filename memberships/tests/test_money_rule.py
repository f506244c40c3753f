"""Commerce and memberships read amounts with the one parser (microstage/money.py)."""
from decimal import Decimal

import pytest

from microstage.errors import Invalid


def test_api_and_forms_answer_with_the_same_rule():
    """A product's price and a plan's price follow the same rule (they disagreed about floats before)."""
    from catalog.services import _check_money
    from memberships.services import _money

    assert _check_money("19,90") == Decimal("19.90") == _money("19.90", "price")
    for bad in (19.9, "19.999", True):
        with pytest.raises(Invalid):
            _check_money(bad)
        with pytest.raises(Invalid):
            _money(bad, "price")
