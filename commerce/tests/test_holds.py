"""Holds expire by the clock alone; expired orders cannot be paid; bad input to reserve changes nothing."""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import selectors, services, stock_snapshot
from commerce.models import Order, OrderLine
from commerce.models.inventory import Hold, Inventory
from commerce.services import LineRequest
from microstage.errors import Conflict, Invalid, NotFound
from microstage.payments.models import Payment
from microstage.tests.factories import CreatorFactory, UserFactory

from .helpers import KIND, buy, taken
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def lapse(order: Order) -> None:
    """Move an order's hold into the past, as the clock would (no sweeper, no status change)."""
    past = timezone.now() - timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    Hold.objects.filter(order=order).update(expires_at=past)
    # A sold-out snapshot ends when a hold it counted lapses by the clock; moving the clock by hand
    # in the database has to say so (commerce/stock_snapshot.py).
    stock_snapshot.forget(Hold.objects.filter(order=order).values_list("inventory__key", flat=True))


class TestExpiryWithoutSweeper:
    def test_availability_returns_when_the_hold_lapses(self, catalog):
        item = catalog.add("x", {"tier:x": 3})
        first = buy(item, 3)
        assert selectors.availability(["tier:x"]) == 0
        with pytest.raises(Conflict) as exc:
            buy(item, 1)
        assert exc.value.code == "sold_out"

        lapse(first)
        assert Order.objects.get(pk=first.pk).status == Order.Status.RESERVED  # nothing swept it
        assert selectors.availability(["tier:x"]) == 3
        second = buy(item, 3)
        assert second.status == Order.Status.RESERVED
        assert taken("tier:x") == 3

    def test_real_clock_with_a_one_second_hold(self, catalog, settings):
        settings.HOLD_SECONDS = 1
        item = catalog.add("y", {"tier:y": 1})
        buy(item)
        with pytest.raises(Conflict):
            buy(item)
        time.sleep(1.2)
        assert selectors.availability(["tier:y"]) == 1
        assert buy(item).status == Order.Status.RESERVED

    def test_checkout_of_an_expired_order_is_refused(self, catalog, sandbox):
        order = buy(catalog.add("z", {"tier:z": 2}), 2)
        lapse(order)
        with pytest.raises(Conflict) as exc:
            services.checkout(order.pk)
        assert exc.value.code == "expired"
        order.refresh_from_db()
        assert order.status == Order.Status.EXPIRED
        assert not Hold.objects.filter(order=order, status=Hold.Status.ACTIVE).exists()
        assert Payment.objects.count() == 0  # no checkout was started
        with pytest.raises(Conflict) as exc:
            services.sandbox_pay(order.pk)
        assert exc.value.code == "expired"

    def test_checkout_awaiting_payment_after_expiry_is_refused(self, catalog, sandbox):
        """An order whose checkout was started but never paid cannot be checked out again once expired."""
        order = buy(catalog.add("w", {"tier:w": 2}), 1)
        services.checkout(order.pk)
        assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
        lapse(order)
        with pytest.raises(Conflict) as exc:
            services.checkout(order.pk)
        assert exc.value.code == "expired"
        with pytest.raises(Conflict):
            services.sandbox_pay(order.pk)
        assert Order.objects.get(pk=order.pk).status == Order.Status.EXPIRED
        assert catalog.names("paid") == []

    def test_expire_due_orders_is_housekeeping_only(self, catalog):
        item = catalog.add("v", {"tier:v": 2})
        old, fresh = buy(item), buy(item)
        lapse(old)
        assert services.expire_due_orders() == 1
        assert Order.objects.get(pk=old.pk).status == Order.Status.EXPIRED
        assert Order.objects.get(pk=fresh.pk).status == Order.Status.RESERVED
        assert services.expire_due_orders() == 0

    def test_cancel_frees_the_stock_at_once(self, catalog):
        item = catalog.add("c", {"tier:c": 1})
        order = buy(item)
        services.cancel(order.pk, actor=SYSTEM)
        assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
        assert buy(item).status == Order.Status.RESERVED
        with pytest.raises(Conflict) as exc:
            services.checkout(order.pk)
        assert exc.value.code == "expired"


def nothing_created():
    return (Order.objects.count(), OrderLine.objects.count(), Hold.objects.count(), Inventory.objects.count()) \
        == (0, 0, 0, 0)


class TestBadInput:
    @pytest.mark.parametrize("quantity", [0, -1, -100, 101, 10**12, 2**63, True, False, 1.0, 2.5, "1", "two", None,
                                          Decimal("1")])
    def test_quantity(self, catalog, quantity):
        item = catalog.add("q", {"tier:q": 1000})
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[LineRequest(KIND, item, quantity)], buyer=UserFactory())
        assert "lines[0].quantity" in exc.value.fields
        assert nothing_created()

    def test_the_bad_line_is_named(self, catalog):
        item = catalog.add("q2", {"tier:q2": 10})
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[LineRequest(KIND, item, 1), LineRequest(KIND, item, 0)], buyer=UserFactory())
        assert list(exc.value.fields) == ["lines[1].quantity"]
        assert nothing_created()

    def test_no_lines(self, catalog):
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[], buyer=UserFactory())
        assert "lines" in exc.value.fields
        assert nothing_created()

    def test_too_many_lines(self, catalog):
        ids = [catalog.add(f"m{i}", {f"tier:m{i}": 5}) for i in range(services.MAX_LINES + 1)]
        with pytest.raises(Invalid):
            services.reserve(requests=[LineRequest(KIND, i, 1) for i in ids], buyer=UserFactory())
        assert nothing_created()

    def test_unknown_kind(self, catalog):
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[LineRequest("spaceship", "x", 1)], buyer=UserFactory())
        assert "lines[0]" in exc.value.fields
        assert nothing_created()

    @pytest.mark.parametrize("item_id", ["nope", "", "tier_" + "x" * 500, None, 42])
    def test_unknown_item(self, catalog, item_id):
        with pytest.raises(NotFound):
            services.reserve(requests=[LineRequest(KIND, item_id, 1)], buyer=UserFactory())
        assert nothing_created()

    def test_two_creators_in_one_order(self, catalog):
        a = catalog.add("mine", {"tier:mine": 5})
        b = catalog.add("theirs", {"tier:theirs": 5}, creator_id=CreatorFactory().pk)
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[LineRequest(KIND, a, 1), LineRequest(KIND, b, 1)], buyer=UserFactory())
        assert "lines" in exc.value.fields
        assert nothing_created()

    def test_two_currencies_in_one_order(self, catalog):
        a = catalog.add("eur", {"tier:eur": 5})
        b = catalog.add("usd", {"tier:usd": 5}, currency="USD")
        with pytest.raises(Invalid):
            services.reserve(requests=[LineRequest(KIND, a, 1), LineRequest(KIND, b, 1)], buyer=UserFactory())
        assert nothing_created()

    @pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@", "x" * 250 + "@example.com"])
    def test_anonymous_buyer_needs_a_valid_email(self, catalog, email):
        item = catalog.add("e", {"tier:e": 5})
        with pytest.raises(Invalid) as exc:
            services.reserve(requests=[LineRequest(KIND, item, 1)], buyer=None, email=email)
        assert "email" in exc.value.fields
        assert nothing_created()

    def test_more_than_is_left_is_sold_out_and_leaves_no_order(self, catalog):
        item = catalog.add("s", {"tier:s": 3})
        with pytest.raises(Conflict) as exc:
            buy(item, 4)
        assert exc.value.code == "sold_out"
        assert exc.value.extra["available"] == 3
        assert Order.objects.count() == 0 and Hold.objects.count() == 0
        assert not Inventory.objects.filter(sold__gt=0).exists()

    def test_repeated_lines_are_merged_and_counted_together(self, catalog):
        item = catalog.add("r", {"tier:r": 3})
        with pytest.raises(Conflict):
            services.reserve(requests=[LineRequest(KIND, item, 2), LineRequest(KIND, item, 2)], buyer=UserFactory())
        order = services.reserve(requests=[LineRequest(KIND, item, 1), LineRequest(KIND, item, 2)],
                                 buyer=UserFactory())
        line = order.lines.get()
        assert line.quantity == 3 and line.total == Decimal("30.00") and order.total == Decimal("30.00")
