"""One stock per thing: pop-up and online stock are the same stock, online sales are in the ledger,
a till sale that meets an online sale is reconciled by a rule or shown to the team; group-buys of
stocked products hold the variant's units like the shop and drops do."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import inventory, services
from catalog import services as catalog
from groupbuys import services as groupbuys
from stock import services as stock
from commerce.models import Order
from catalog.models import Product
from groupbuys.models import GroupBuy
from stock.models import PosSale, StockMovement
from commerce.tests.helpers import run_together
from microstage.errors import Conflict, Invalid
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db

TIERS = [{"min_quantity": 2, "price": "8.00"}]


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.STOCK_SNAPSHOT_SECONDS = 0


def make_shop(online=5, made_to_order=False):
    creator = CreatorFactory()
    owner = team_member(creator)
    product = catalog.create_product(creator=creator, name="Tour shirt", price=Decimal("20.00"), currency="EUR",
                                     stock=online, made_to_order=made_to_order, actor=SYSTEM)
    variant = product.variants.get()
    central = stock.create_location(creator=creator, name="Warehouse", kind="central", actor=SYSTEM)
    popup = stock.create_location(creator=creator, name="Merch table", actor=SYSTEM)
    stock.receive(location=central, variant=variant, quantity=online, actor=SYSTEM)
    return {"creator": creator, "owner": owner, "product": product, "v": variant, "central": central,
            "popup": popup}


def shop_buy(variant, quantity=1, pay=False) -> Order:
    order = services.reserve(requests=[services.LineRequest(catalog.PRODUCT_KIND, variant.pk, quantity)],
                            buyer=UserFactory())
    if pay:
        services.sandbox_pay(order.pk)
    return order


def online_left(variant) -> int:
    variant.refresh_from_db()
    return inventory.free_units(inventory.variant_key(variant.pk), variant.stock)


def till_sale(shop, client_id, quantity=1):
    return stock.sync_sales(location=shop["popup"], actor=shop["owner"], sales=[{
        "client_id": client_id, "items": [{"variant": shop["v"].pk, "quantity": quantity}],
        "sold_at": (timezone.now() - timedelta(minutes=2)).isoformat()}])[0]


# --- pop-up and online are one stock ---------------------------------------------------------

def test_a_transfer_to_a_popup_takes_the_units_out_of_the_online_stock():
    shop = make_shop(online=5)
    stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["v"], quantity=3, key="stocking",
                   actor=SYSTEM)
    assert online_left(shop["v"]) == 2 and shop["v"].stock == 5  # the owner's count stays; 3 are moved
    with pytest.raises(Conflict) as exc:
        shop_buy(shop["v"], 3)
    assert exc.value.code == "sold_out"
    shop_buy(shop["v"], 2)
    # the same transfer sent twice moves (and takes) once
    stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["v"], quantity=3, key="stocking",
                   actor=SYSTEM)
    assert online_left(shop["v"]) == 0


def test_units_back_from_the_popup_can_be_sold_online_again():
    shop = make_shop(online=5)
    stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["v"], quantity=3, actor=SYSTEM)
    stock.transfer(source=shop["popup"], target=shop["central"], variant=shop["v"], quantity=2, actor=SYSTEM)
    assert online_left(shop["v"]) == 4
    stock.receive(location=shop["popup"], variant=shop["v"], quantity=10, actor=SYSTEM)  # made for the table itself
    stock.transfer(source=shop["popup"], target=shop["central"], variant=shop["v"], quantity=5, actor=SYSTEM)
    assert online_left(shop["v"]) == 5  # only the units taken from online come back to it


def test_a_transfer_never_takes_units_promised_to_online_buyers():
    shop = make_shop(online=3)
    shop_buy(shop["v"], 2, pay=True)
    shop_buy(shop["v"], 1)  # held
    stock.receive(location=shop["central"], variant=shop["v"], quantity=2, actor=SYSTEM)  # the ledger now holds 3
    stock.transfer(source=shop["central"], target=shop["popup"], variant=shop["v"], quantity=2, actor=SYSTEM)
    assert online_left(shop["v"]) == 0
    services.cancel(Order.objects.filter(status=Order.Status.RESERVED).get().pk, actor=SYSTEM)
    assert online_left(shop["v"]) == 1  # the held unit was never taken: it is back for the shop


def test_online_sales_and_refunds_are_movements_in_the_central_ledger():
    shop = make_shop(online=5)
    order = shop_buy(shop["v"], 2, pay=True)
    sale = StockMovement.objects.get(reason=StockMovement.Reason.ONLINE_SALE)
    assert (sale.location, sale.variant_id, sale.quantity) == (shop["central"], shop["v"].pk, -2)
    assert stock.on_hand_of(shop["central"], shop["v"].pk) == 3
    services.refund(order.pk, actor=SYSTEM)
    back = StockMovement.objects.get(reason=StockMovement.Reason.RETURN)
    assert (back.location, back.quantity) == (shop["central"], 2)
    assert stock.on_hand_of(shop["central"], shop["v"].pk) == 5
    stock.record_online(Order.objects.get(pk=order.pk))  # a second delivery of the same state: nothing more
    assert StockMovement.objects.filter(reason__in=["online_sale", "return"]).count() == 2


def test_without_a_central_location_online_sales_write_no_movement():
    creator = CreatorFactory()
    product = catalog.create_product(creator=creator, name="Mug", price=Decimal("9.00"), stock=2, actor=SYSTEM)
    shop_buy(product.variants.get(), 1, pay=True)
    assert not StockMovement.objects.exists()


# --- one shirt, online and at the till --------------------------------------------------------

def test_one_shirt_at_the_till_first_then_online_is_sold_out():
    shop = make_shop(online=1)  # the last shirt, on sale online; the table has none of its own
    result = till_sale(shop, "till-0001")
    sale = PosSale.objects.get(client_id="till-0001")
    assert result["result"] == "recorded" and sale.status == PosSale.Status.COMPLETED  # reconciled by the rule
    assert "taken from the online stock" in sale.resolution
    assert stock.on_hand_of(shop["popup"], shop["v"].pk) == 0 and stock.on_hand_of(shop["central"], shop["v"].pk) == 0
    with pytest.raises(Conflict) as exc:
        shop_buy(shop["v"], 1)
    assert exc.value.code == "sold_out"
    assert not stock.conflicts(shop["creator"].pk).exists()


def test_one_shirt_online_first_then_the_till_sale_is_a_conflict_for_the_team():
    shop = make_shop(online=1)
    shop_buy(shop["v"], 1, pay=True)
    till_sale(shop, "till-0002")
    sale = PosSale.objects.get(client_id="till-0002")
    assert sale.status == PosSale.Status.CONFLICT  # kept, shown to the team
    assert list(stock.conflicts(shop["creator"].pk)) == [sale]
    assert online_left(shop["v"]) == 0


def test_one_shirt_held_online_is_not_taken_by_the_till():
    shop = make_shop(online=1)
    shop_buy(shop["v"], 1)  # reserved, not paid yet
    till_sale(shop, "till-0003")
    assert PosSale.objects.get(client_id="till-0003").status == PosSale.Status.CONFLICT


@pytest.mark.django_db(transaction=True)
def test_one_shirt_sold_online_and_at_the_till_at_once_never_both_succeed():
    for round_ in range(3):
        shop = make_shop(online=1)

        def online():
            return shop_buy(shop["v"], 1, pay=True)

        def till():
            till_sale(shop, f"till-race-{round_}")
            return PosSale.objects.get(client_id=f"till-race-{round_}")

        results, errors = run_together([online, till])
        sale = PosSale.objects.get(client_id=f"till-race-{round_}")
        online_won = any(isinstance(r, Order) for r in results)
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
        assert online_won != (sale.status == PosSale.Status.COMPLETED)  # exactly one got the shirt
        if online_won:
            assert sale.status == PosSale.Status.CONFLICT


# --- group-buys hold the stock ---------------------------------------------------------------

def group_buy(shop, max_quantity=None, **kw):
    return groupbuys.create_group_buy(actor=shop["owner"], creator_id=shop["creator"].pk,
                                      product_id=shop["product"].pk, deadline=timezone.now() + timedelta(days=2),
                                      price_tiers=TIERS, max_quantity=max_quantity, **kw)


def join(gb, quantity):
    return groupbuys.join(group_buy_id=gb.pk, user=UserFactory(), quantity=quantity)


def test_a_group_buy_of_a_stocked_product_never_commits_more_than_the_stock():
    shop = make_shop(online=50)
    gb = group_buy(shop)
    join(gb, 30)
    with pytest.raises(Conflict) as exc:
        join(gb, 30)  # 80 hoodies with 50 in stock: refused
    assert exc.value.code == "sold_out"
    gb.refresh_from_db()
    assert gb.committed_quantity == 30  # nothing of the refused join is left
    assert online_left(shop["v"]) == 20  # the shop and drops see the held units gone
    with pytest.raises(Conflict):
        shop_buy(shop["v"], 21)
    join(gb, 20)
    assert online_left(shop["v"]) == 0


def test_leaving_releases_and_success_sells_the_held_units():
    shop = make_shop(online=10)
    gb = group_buy(shop)
    first, second = join(gb, 3), join(gb, 2)
    groupbuys.leave(participant_id=first.participant.pk, user=first.participant.user)
    assert online_left(shop["v"]) == 8
    GroupBuy.objects.filter(pk=gb.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    groupbuys.settle(gb.pk)
    assert Order.objects.get(pk=second.order.pk).status == Order.Status.PAID
    assert inventory.sold(inventory.variant_key(shop["v"].pk)) == 2
    assert online_left(shop["v"]) == 8


def test_a_failed_group_buy_gives_the_units_back():
    shop = make_shop(online=10)
    gb = group_buy(shop)
    join(gb, 1)  # the first tier needs 2
    assert online_left(shop["v"]) == 9
    GroupBuy.objects.filter(pk=gb.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    groupbuys.settle(gb.pk)
    assert online_left(shop["v"]) == 10
    assert inventory.sold(inventory.variant_key(shop["v"].pk)) == 0


def test_a_made_to_order_product_keeps_todays_group_buy():
    shop = make_shop(online=5, made_to_order=True)
    gb = group_buy(shop)
    join(gb, 30)
    assert online_left(shop["v"]) == 5  # no stock taken


def test_a_stocked_product_with_variants_needs_the_group_buys_variant():
    shop = make_shop(online=5)
    catalog.save_variant(shop["product"], name="XL", stock=5, actor=SYSTEM)
    with pytest.raises(Invalid):
        group_buy(shop)
    xl = shop["product"].variants.get(name="XL")
    gb = group_buy(shop, variant_id=xl.pk)
    join(gb, 5)
    assert online_left(xl) == 0 and online_left(shop["v"]) == 5
    Product.objects.filter(pk=shop["product"].pk).update(made_to_order=True)
    group_buy(shop)  # made to order: no variant needed
