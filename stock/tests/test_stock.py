"""Stock across places: the movement ledger, transfers, overrides that expire and hand back, and the
services' answers to bad input and strangers."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services as catalog
from stock import services as stock
from stock.models import StockLocation, StockMovement
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    creator = CreatorFactory()
    owner = team_member(creator)
    product = catalog.create_product(creator=creator, name="Tour shirt", price=Decimal("20.00"), currency="EUR",
                                     variants=[{"name": "M", "stock": 0}, {"name": "L", "stock": 0}], actor=SYSTEM)
    m, large = product.variants.order_by("position")
    central = stock.create_location(creator=creator, name="Warehouse", kind="central", actor=owner)
    popup = stock.create_location(creator=creator, name="Merch table", event_id="evt_x", actor=owner)
    return {"creator": creator, "owner": owner, "m": m, "l": large, "central": central, "popup": popup}


def test_on_hand_is_the_sum_of_movements(shop):
    c, m, large = shop["central"], shop["m"], shop["l"]
    stock.receive(location=c, variant=m, quantity=10, actor=shop["owner"])
    stock.receive(location=c, variant=m, quantity=5, actor=shop["owner"])
    stock.receive(location=c, variant=large, quantity=3, actor=shop["owner"])
    assert stock.on_hand(c) == {m.pk: 15, large.pk: 3}
    assert stock.on_hand(shop["popup"]) == {}


def test_receive_is_once_per_key(shop):
    for _ in range(3):
        stock.receive(location=shop["central"], variant=shop["m"], quantity=4, key="delivery-1", actor=SYSTEM)
    assert stock.on_hand_of(shop["central"], shop["m"].pk) == 4
    assert StockMovement.objects.filter(key="recv:delivery-1").count() == 1


def test_transfer_makes_two_movements_under_one_key(shop):
    c, p, m = shop["central"], shop["popup"], shop["m"]
    stock.receive(location=c, variant=m, quantity=10, actor=SYSTEM)
    out, into = stock.transfer(source=c, target=p, variant=m, quantity=4, key="t1", actor=shop["owner"])
    again = stock.transfer(source=c, target=p, variant=m, quantity=4, key="t1", actor=shop["owner"])
    assert (out.quantity, into.quantity) == (-4, 4)
    assert {again[0].pk, again[1].pk} == {out.pk, into.pk}
    assert {out.key, into.key} == {"xfer:t1:out", "xfer:t1:in"}
    assert stock.on_hand_of(c, m.pk) == 6 and stock.on_hand_of(p, m.pk) == 4


def test_transfer_never_takes_more_than_the_source_holds(shop):
    stock.receive(location=shop["central"], variant=shop["m"], quantity=2, actor=SYSTEM)
    with pytest.raises(Conflict) as exc:
        stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["m"], quantity=3, actor=SYSTEM)
    assert exc.value.code == "not_enough_stock"
    assert stock.on_hand_of(shop["central"], shop["m"].pk) == 2
    assert not StockMovement.objects.filter(reason="transfer_in").exists()


def test_transfer_rejects_bad_input_and_other_creators(shop):
    other = stock.create_location(creator=CreatorFactory(), name="Elsewhere", actor=SYSTEM)
    with pytest.raises(NotFound):
        stock.transfer(source=shop["central"], target=other, variant=shop["m"], quantity=1, actor=SYSTEM)
    with pytest.raises(Invalid):
        stock.transfer(source=shop["central"], target=shop["central"], variant=shop["m"], quantity=1, actor=SYSTEM)
    for bad in (0, -1, "3", 1.5, True, 10**9):
        with pytest.raises(Invalid):
            stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["m"], quantity=bad, actor=SYSTEM)
    foreign = catalog.create_product(creator=CreatorFactory(), name="X", price=1, actor=SYSTEM).variants.get()
    with pytest.raises(NotFound):
        stock.receive(location=shop["central"], variant=foreign, quantity=1, actor=SYSTEM)


def test_override_wins_until_it_expires_then_the_ledger_is_back(shop):
    p, m = shop["popup"], shop["m"]
    stock.receive(location=p, variant=m, quantity=10, actor=SYSTEM)
    override = stock.set_override(location=p, variant=m, quantity=7, ttl=3600, actor=shop["owner"])
    assert stock.on_hand_of(p, m.pk) == 7
    stock.receive(location=p, variant=m, quantity=2, actor=SYSTEM)  # moves after the count apply on top of it
    assert stock.on_hand_of(p, m.pk) == 9
    override.expires_at = timezone.now() - timedelta(seconds=1)
    override.save(update_fields=["expires_at"])
    assert stock.on_hand_of(p, m.pk) == 12  # the computed value, by the clock alone


def test_clear_override_hands_back_at_once(shop):
    p, m = shop["popup"], shop["m"]
    stock.receive(location=p, variant=m, quantity=3, actor=SYSTEM)
    stock.set_override(location=p, variant=m, quantity=0, ttl=timedelta(hours=1), actor=SYSTEM)
    assert stock.on_hand_of(p, m.pk) == 0
    stock.clear_override(location=p, variant=m, actor=SYSTEM)
    assert stock.on_hand_of(p, m.pk) == 3


@pytest.mark.parametrize("ttl", [0, 30, 10**9, "3600", None, True])
def test_override_ttl_is_checked(shop, ttl):
    with pytest.raises(Invalid):
        stock.set_override(location=shop["popup"], variant=shop["m"], quantity=1, ttl=ttl, actor=SYSTEM)


def test_only_owners_and_managers_change_stock(shop):
    door = team_member(shop["creator"], Role.DOOR)
    with pytest.raises(Forbidden):
        stock.receive(location=shop["central"], variant=shop["m"], quantity=1, actor=door)
    with pytest.raises(NotFound):
        stock.create_location(creator=shop["creator"], name="X", actor=UserFactory())
    manager = team_member(shop["creator"], Role.MANAGER)
    stock.receive(location=shop["central"], variant=shop["m"], quantity=1, actor=manager)
    assert stock.on_hand_of(shop["central"], shop["m"].pk) == 1


@pytest.mark.parametrize("name,kind", [("", "popup"), ("x" * 81, "popup"), ("Ok", "shop"), (None, "popup")])
def test_create_location_checks_input(shop, name, kind):
    with pytest.raises(Invalid):
        stock.create_location(creator=shop["creator"], name=name, kind=kind, actor=SYSTEM)
    assert StockLocation.objects.filter(creator=shop["creator"]).count() == 2


def test_location_stock_is_separate_from_the_online_pool(shop):
    stock.receive(location=shop["popup"], variant=shop["m"], quantity=5, actor=SYSTEM)
    shop["m"].refresh_from_db()
    assert shop["m"].stock == 0  # pop-up units are physical units on a table, not online stock
