"""Creator promo and partner codes: making them (bad input changes nothing), pricing tickets and goods with
them, limits, dates and items, the usage limit under simultaneous payments, and each code's sales."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from commerce import services as commerce
from catalog import services as catalog
from commerce import stock_snapshot
from commerce.models import Order
from commerce.models.inventory import Hold
from commerce.services import LineRequest
from memberships import promos
from memberships.models import PromoCode, PromoCodeUse
from microstage.errors import Conflict, Invalid, ServiceError
from microstage.tests.factories import CreatorFactory

from .factories import EventFactory, TierFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def tier():
    return TierFactory(event=EventFactory(), price=Decimal("20.00"), quantity=50)


def buy(tier, code, quantity=1, email="fan@example.com"):
    return commerce.reserve(requests=[LineRequest("ticket", tier.pk, quantity, (("code", code),))], email=email)


class TestMaking:
    def test_a_percent_code_is_stored_upper_case(self, tier):
        promo = promos.create_promo_code(creator=tier.event.creator, code=" spring10 ", percent_off="10",
                                         tier_ids=[tier.pk], max_uses=5, actor=SYSTEM)
        assert (promo.code, promo.percent_off, promo.tier_ids, promo.max_uses) == ("SPRING10", Decimal("10"),
                                                                                    [tier.pk], 5)

    @pytest.mark.parametrize("values, field", [
        ({"code": "x"}, "code"),
        ({"code": "OK10"}, "percent_off"),  # neither percent nor amount
        ({"code": "OK10", "percent_off": "10", "amount_off": "2"}, "percent_off"),
        ({"code": "OK10", "percent_off": "150"}, "percent_off"),
        ({"code": "OK10", "percent_off": "abc"}, "percent_off"),
        ({"code": "OK10", "amount_off": "2", "currency": "EURO"}, "currency"),
        ({"code": "OK10", "percent_off": "5", "max_uses": 0}, "max_uses"),
        ({"code": "OK10", "percent_off": "5", "valid_from": "2026-05-02T00:00+00:00",
          "valid_until": "2026-05-01T00:00+00:00"}, "valid_until"),
        ({"code": "OK10", "percent_off": "5", "valid_from": "soon"}, "valid_from"),
        ({"code": "OK10", "percent_off": "5", "kind": "partner"}, "partner"),
        ({"code": "OK10", "percent_off": "5", "tier_ids": ["tier_not_mine"]}, "tier_ids"),
    ])
    def test_bad_input_is_refused_and_changes_nothing(self, tier, values, field):
        with pytest.raises(Invalid) as exc:
            promos.create_promo_code(creator=tier.event.creator, actor=SYSTEM, **values)
        assert field in exc.value.fields
        assert not PromoCode.objects.exists()

    def test_another_creators_tier_is_refused(self, tier):
        other = TierFactory(event=EventFactory(creator=CreatorFactory()))
        with pytest.raises(Invalid):
            promos.create_promo_code(creator=tier.event.creator, code="MINE", percent_off="5", tier_ids=[other.pk],
                                     actor=SYSTEM)

    def test_a_code_name_is_unique_per_creator(self, tier):
        promos.create_promo_code(creator=tier.event.creator, code="SAME", percent_off="5", actor=SYSTEM)
        with pytest.raises(Invalid) as exc:
            promos.create_promo_code(creator=tier.event.creator, code="same", amount_off="2", actor=SYSTEM)
        assert "code" in exc.value.fields
        promos.create_promo_code(creator=CreatorFactory(), code="SAME", percent_off="5", actor=SYSTEM)  # others may


class TestBuying:
    def test_percent_off_a_ticket(self, tier):
        promos.create_promo_code(creator=tier.event.creator, code="TEN", percent_off="10", actor=SYSTEM)
        order = buy(tier, "ten", 2)
        line = order.lines.get()
        assert (line.unit_price, line.list_price, order.total) == (Decimal("18.00"), Decimal("20.00"),
                                                                   Decimal("36.00"))

    def test_amount_off_never_below_zero(self, tier):
        promos.create_promo_code(creator=tier.event.creator, code="COMP", amount_off="25", currency="EUR", actor=SYSTEM)
        assert buy(tier, "COMP").total == Decimal("0.00")

    def test_amount_in_another_currency_is_refused(self, tier):
        promos.create_promo_code(creator=tier.event.creator, code="USD5", amount_off="5", currency="USD", actor=SYSTEM)
        with pytest.raises(Invalid):
            buy(tier, "USD5")
        assert not Order.objects.exists()

    def test_only_the_named_tiers(self, tier):
        other = TierFactory(event=tier.event)
        promos.create_promo_code(creator=tier.event.creator, code="VIPONLY", percent_off="50", tier_ids=[other.pk],
                                 actor=SYSTEM)
        with pytest.raises(Invalid):
            buy(tier, "VIPONLY")
        assert buy(other, "VIPONLY").total == other.price / 2

    def test_dates_and_switching_off(self, tier):
        now = timezone.now()
        promo = promos.create_promo_code(creator=tier.event.creator, code="LATER", percent_off="5",
                                         valid_from=now + timedelta(days=1), actor=SYSTEM)
        with pytest.raises(Conflict) as exc:
            buy(tier, "LATER")
        assert exc.value.code == "code_not_started"
        PromoCode.objects.filter(pk=promo.pk).update(valid_from=None, valid_until=now - timedelta(minutes=1))
        with pytest.raises(Conflict) as exc:
            buy(tier, "LATER")
        assert exc.value.code == "code_expired"
        PromoCode.objects.filter(pk=promo.pk).update(valid_until=None)
        promos.set_active(creator=tier.event.creator, promo_id=promo.pk, active=False, actor=SYSTEM)
        with pytest.raises(Conflict) as exc:
            buy(tier, "LATER")
        assert exc.value.code == "code_inactive"

    def test_a_limited_code_counts_paid_and_open_orders(self, sandbox, tier):
        promos.create_promo_code(creator=tier.event.creator, code="ONCE", percent_off="10", max_uses=1, actor=SYSTEM)
        first = buy(tier, "ONCE")
        with pytest.raises(Conflict) as exc:  # held by the open reservation
            buy(tier, "ONCE", email="b@example.com")
        assert exc.value.code == "code_used"
        commerce.sandbox_pay(first.pk)
        assert PromoCodeUse.objects.filter(order_id=first.pk).count() == 1
        with pytest.raises(Conflict):
            buy(tier, "ONCE", email="c@example.com")

    def test_goods_take_a_product_code(self, sandbox, tier):
        product = catalog.create_product(creator=tier.event.creator, name="Shirt", price=Decimal("30.00"),
                                         currency="EUR", kind="physical", stock=5, actor=SYSTEM)
        promos.create_promo_code(creator=tier.event.creator, code="MERCH", amount_off="5", currency="EUR",
                                 product_ids=[product.pk], actor=SYSTEM)
        order = commerce.reserve(requests=[LineRequest("product", product.pk, 1, (("code", "MERCH"),))],
                                 email="fan@example.com")
        assert order.total == Decimal("25.00")
        commerce.sandbox_pay(order.pk)
        assert PromoCodeUse.objects.filter(order_id=order.pk).exists()
        with pytest.raises(Invalid):  # a goods-only code does not take money off tickets
            buy(tier, "MERCH")

    def test_sales_by_code(self, sandbox, tier):
        promos.create_promo_code(creator=tier.event.creator, code="PARTNERX", kind="partner", partner="Radio X",
                                 percent_off="25", actor=SYSTEM)
        commerce.sandbox_pay(buy(tier, "PARTNERX", 2).pk)
        buy(tier, "PARTNERX", 1, email="late@example.com")  # not paid: not a sale
        row = promos.sales_by_code(tier.event.creator_id)[0]
        assert (row["code"], row["orders"], row["units"], row["revenue"], row["discount"]) == (
            "PARTNERX", 1, 2, Decimal("30.00"), Decimal("10.00"))
        assert promos.sales_by_code(tier.event.creator_id, item_ids=["tier_other"])[0]["orders"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_single_use_code_is_spent_once_when_two_orders_pay_at_once(settings):
    """Two orders reserved with a single-use code (the first's hold lapsed before the second was made), then
    both paid at the same moment: the late one cannot take the code back from the open reservation, so
    exactly one order is paid with it and the code is used once."""
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(event=EventFactory(), price=Decimal("20.00"), quantity=50)
    promos.create_promo_code(creator=tier.event.creator, code="SOLO", amount_off="20", currency="EUR", max_uses=1,
                             actor=SYSTEM)
    first = buy(tier, "SOLO")
    Order.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    Hold.objects.filter(order=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_snapshot.forget(Hold.objects.filter(order=first).values_list("inventory__key", flat=True))
    second = buy(tier, "SOLO", email="b@example.com")  # the first no longer holds it
    barrier, results = threading.Barrier(2), []

    def pay(order_id):
        try:
            barrier.wait()
            commerce.checkout(order_id)
            results.append(Order.objects.get(pk=order_id).status)
        except ServiceError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(o.pk,)) for o in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("paid") == 1 and Order.objects.get(pk=second.pk).status == "paid"
    assert Order.objects.get(pk=first.pk).status != "paid"
    assert PromoCodeUse.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_hold_a_single_use_code_once(settings):
    """Ten buyers reserve with one single-use code at the same moment: the code's use is held under
    reserve's locks like stock, so exactly one order gets the discount; the others are told it is used."""
    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(event=EventFactory(), price=Decimal("20.00"), quantity=50)
    promos.create_promo_code(creator=tier.event.creator, code="FIRSTONE", percent_off="10", max_uses=1, actor=SYSTEM)
    barrier, results = threading.Barrier(10), []

    def reserve(n):
        try:
            barrier.wait()
            results.append(buy(tier, "FIRSTONE", email=f"fan{n}@example.com").pk)
        except ServiceError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for r in results if not r.startswith("ord")) == ["code_used"] * 9
    assert Order.objects.filter(lines__description__contains="FIRSTONE").distinct().count() == 1
