"""Fulfilment: a shipping batch per settled group-buy (once), packing list CSV, shipping with one email,
costs split exactly, pickup windows with a signed QR collected once, and who may see and do what."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from commerce import services
from catalog import services as catalog
from groupbuys import services as groupbuys
from fulfilment import services as fulfilment
from commerce.models import Order
from catalog.models import Product
from fulfilment.models import FulfilmentCost, Pickup, PickupWindow, Shipment, ShippingBatch
from microstage.errors import Conflict, Forbidden, Invalid, NotFound
from microstage.models import Role
from microstage.signing import sign_token
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from groupbuys.tests.groupbuy_helpers import group_buy, join, past_deadline
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_provider")]


@pytest.fixture
def sandbox_provider(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def settled(django_capture_on_commit_callbacks):
    """A settled group-buy of a physical product with 5 captured participants."""
    gb = group_buy()
    for _ in range(5):
        join(gb, 1)
    past_deadline(gb)
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.settle(gb.pk)
    gb.refresh_from_db()
    assert gb.status == "settled" and gb.final_price == Decimal("8.00")
    return gb


def _orders(gb):
    return list(Order.objects.filter(group_buy_share__group_buy=gb).order_by("pk"))


def paid_product_order(creator, kind=Product.Kind.PHYSICAL, buyer=None):
    product = catalog.create_product(creator=creator, name="Poster", price=Decimal("5.00"), currency="EUR",
                                     kind=kind, stock=10, actor=SYSTEM) if kind == Product.Kind.PHYSICAL else None
    order = services.reserve(requests=[services.LineRequest(catalog.PRODUCT_KIND, product.pk, 2)],
                            buyer=buyer or UserFactory())
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    return Order.objects.get(pk=order.pk)


def _window(creator, hours=2):
    now = timezone.now()
    return PickupWindow.objects.create(creator=creator, place="Merch table", starts_at=now,
                                       ends_at=now + timedelta(hours=hours))


# --- batches -------------------------------------------------------------------------------------

def test_settlement_creates_one_batch_with_a_shipment_per_order_even_when_run_twice(settled,
                                                                                 django_capture_on_commit_callbacks):
    batch = ShippingBatch.objects.get(group_buy=settled)
    assert batch.creator_id == settled.creator_id and batch.status == "open"
    assert sorted(batch.shipments.values_list("order_id", flat=True)) == [o.pk for o in _orders(settled)]
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.settle(settled.pk)
    assert fulfilment.create_batch_for_group_buy(settled.pk).pk == batch.pk
    assert ShippingBatch.objects.count() == 1 and Shipment.objects.count() == 5


def test_no_batch_for_a_failed_group_buy(django_capture_on_commit_callbacks):
    gb = group_buy()
    join(gb, 1)
    past_deadline(gb)
    with django_capture_on_commit_callbacks(execute=True):
        groupbuys.settle(gb.pk)
    assert fulfilment.create_batch_for_group_buy(gb.pk) is None
    assert not ShippingBatch.objects.exists()


# --- packing list --------------------------------------------------------------------------------

def test_packing_list_csv_content_and_formula_escaping(settled, client):
    orders = _orders(settled)
    fulfilment.set_shipping_address(user=orders[0].buyer, order_id=orders[0].pk, address="=HYPERLINK(\"x\")\nBerlin")
    batch = ShippingBatch.objects.get()
    client.force_login(settled.owner)
    r = client.get(f"/dashboard/fulfilment/batches/{batch.pk}/packing-list.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0] == ["order", "buyer", "items", "address", "carrier", "tracking number"]
    assert [row[0] for row in rows[1:]] == [o.pk for o in orders]
    first = rows[1]
    assert first[1] == orders[0].email
    assert first[2] == f"1 × {orders[0].lines.get().description}"
    assert first[3] == "'=HYPERLINK(\"x\")\nBerlin"  # a spreadsheet shows it, never runs it
    page = client.get("/dashboard/fulfilment/").content.decode()
    assert "Packing list (CSV)" in page and orders[0].email in page and "Berlin" in page


def test_other_creators_and_strangers_cannot_see_a_batch(settled, client):
    batch = ShippingBatch.objects.get()
    other = team_member(CreatorFactory(), Role.OWNER)
    client.force_login(other)
    assert client.get(f"/dashboard/fulfilment/batches/{batch.pk}/packing-list.csv").status_code == 404
    assert batch.pk not in client.get("/dashboard/fulfilment/").content.decode()
    assert client.post(f"/dashboard/fulfilment/batches/{batch.pk}/ship/", {"carrier": "DHL"}).status_code == 302
    assert not Shipment.objects.filter(shipped_at__isnull=False).exists()
    with pytest.raises(NotFound):
        fulfilment.mark_batch_shipped(actor=other, batch_id=batch.pk, carrier="DHL")
    door = team_member(settled.creator, Role.DOOR)
    with pytest.raises(Forbidden):
        fulfilment.mark_batch_shipped(actor=door, batch_id=batch.pk, carrier="DHL")


# --- shipping ------------------------------------------------------------------------------------

def test_mark_shipped_emails_the_buyer_once(settled, django_capture_on_commit_callbacks):
    order = _orders(settled)[0]
    shipment = order.shipment
    with pytest.raises(Conflict):  # no address yet
        fulfilment.mark_shipped(actor=settled.owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1")
    fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="Main St 1\n10115 Berlin")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.mark_shipped(actor=settled.owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        fulfilment.mark_shipped(actor=settled.owner, shipment_id=shipment.pk, carrier="UPS", tracking_number="T2")
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("DHL", "T1") and shipment.shipped_at
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [order.email] and "T1" in mail.outbox[0].body
    with pytest.raises(Conflict):  # shipped: the address stays as it went out
        fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="Elsewhere")


def test_mark_whole_batch_shipped(settled, django_capture_on_commit_callbacks, client):
    orders = _orders(settled)
    for o in orders[:4]:
        fulfilment.set_shipping_address(user=o.buyer, order_id=o.pk, address=f"Street {o.pk}")
    batch = ShippingBatch.objects.get()
    client.force_login(settled.owner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/dashboard/fulfilment/batches/{batch.pk}/ship/", {"carrier": "DHL", "tracking_number": "C9"})
    assert r.status_code == 302
    assert len(mail.outbox) == 4
    batch.refresh_from_db()
    assert batch.status == "open"  # one parcel still waits for its address
    fulfilment.set_shipping_address(user=orders[4].buyer, order_id=orders[4].pk, address="Last street")
    with django_capture_on_commit_callbacks(execute=True):
        result = fulfilment.mark_batch_shipped(actor=settled.owner, batch_id=batch.pk, carrier="DHL")
    assert (result.shipped, result.already, result.without_address) == (1, 4, 0)
    assert len(mail.outbox) == 5
    batch.refresh_from_db()
    assert batch.status == "shipped" and batch.shipped_at


def test_address_only_for_paid_physical_orders_of_the_buyer(settled):
    order = _orders(settled)[0]
    with pytest.raises(NotFound):
        fulfilment.set_shipping_address(user=UserFactory(), order_id=order.pk, address="x")
    with pytest.raises(Invalid):
        fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="   ")
    with pytest.raises(Invalid):
        fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="x" * 1001)
    digital = Product.objects.create(creator=settled.creator, name="Song", price=1, currency="EUR", kind="digital")
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    with pytest.raises(Conflict):
        fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="Street 1")
    assert digital.kind == "digital"


def test_single_purchase_gets_a_shipment_from_the_order_page(client, django_capture_on_commit_callbacks):
    creator = CreatorFactory()
    owner = team_member(creator, Role.OWNER)
    order = paid_product_order(creator)
    client.force_login(order.buyer)
    assert "Shipping address" in client.get(f"/orders/{order.pk}/").content.decode()
    r = client.post(f"/orders/{order.pk}/address/", {"address": "Elm St 5"})
    assert r.status_code == 302
    shipment = Shipment.objects.get(order=order)
    assert shipment.batch_id is None and shipment.address == "Elm St 5"
    assert client.post(f"/orders/{order.pk}/address/", {"address": ""}).status_code == 302  # a message, no 500
    client.force_login(owner)
    assert order.pk in client.get("/dashboard/fulfilment/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/dashboard/fulfilment/shipments/{shipment.pk}/ship/", {"carrier": "DPD", "tracking_number": "Z7"})
    client.force_login(order.buyer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "DPD" in page and "Z7" in page


# --- costs ---------------------------------------------------------------------------------------

def test_batch_postage_is_split_exactly(settled):
    batch = ShippingBatch.objects.get()
    rows = fulfilment.split_batch_postage(actor=settled.owner, batch_id=batch.pk, amount="10.03")
    parts = {r.order_id: r.amount for r in FulfilmentCost.objects.filter(kind="postage")}
    orders = [o.pk for o in _orders(settled)]
    assert len(rows) == 5 and sum(parts.values()) == Decimal("10.03")
    assert [parts[o] for o in orders] == [Decimal("2.01")] * 3 + [Decimal("2.00")] * 2
    assert fulfilment.split_evenly(Decimal("0.02"), 3) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]
    assert sum(fulfilment.split_evenly(Decimal("99999.99"), 7)) == Decimal("99999.99")


def test_costs_recorded_per_order(settled, client):
    order = _orders(settled)[0]
    cost = fulfilment.record_cost(actor=settled.owner, order_id=order.pk, kind="packaging", amount="1.20")
    assert (cost.amount, cost.currency, cost.kind) == (Decimal("1.20"), order.currency, "packaging")
    client.force_login(settled.owner)
    r = client.post("/dashboard/fulfilment/costs/", {"order": order.pk, "kind": "handling", "amount": "0.50"})
    assert r.status_code == 302
    assert FulfilmentCost.objects.filter(order=order).count() == 2
    for bad in ({"order": order.pk, "kind": "bribe", "amount": "1"},
                {"order": order.pk, "kind": "postage", "amount": "-1"},
                {"order": order.pk, "kind": "postage", "amount": "abc"},
                {"order": "ord_nope", "kind": "postage", "amount": "1"},
                {}):
        assert client.post("/dashboard/fulfilment/costs/", bad).status_code == 302
    assert FulfilmentCost.objects.count() == 2
    for amount in ("1.001", "NaN", "1e9", "-0.01"):
        with pytest.raises(Invalid):
            fulfilment.record_cost(actor=settled.owner, order_id=order.pk, kind="postage", amount=amount)
    with pytest.raises(NotFound):
        fulfilment.record_cost(actor=team_member(CreatorFactory()), order_id=order.pk, kind="postage", amount="1")


# --- pickup --------------------------------------------------------------------------------------

def test_pickup_qr_valid_forged_and_other_order(settled, client):
    orders = _orders(settled)
    window = _window(settled.creator)
    client.force_login(orders[0].buyer)
    assert client.post(f"/orders/{orders[0].pk}/pickup/", {"window": window.pk}).status_code == 302
    assert not Shipment.objects.filter(order=orders[0]).exists()  # collected, not shipped
    page = client.get(f"/orders/{orders[0].pk}/").content.decode()
    assert "<svg" in page and "Merch table" in page
    payload = fulfilment.pickup_qr_payload(orders[0])
    assert fulfilment.read_pickup_payload(payload) == orders[0].pk
    forged = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    assert fulfilment.read_pickup_payload(forged) is None
    assert fulfilment.read_pickup_payload(sign_token("MSTKT", {"o": orders[0].pk})) is None
    door = team_member(settled.creator, Role.DOOR)
    with pytest.raises(Invalid):
        fulfilment.confirm_pickup(actor=door, creator_id=settled.creator_id, payload=forged)
    with pytest.raises(NotFound):  # a real code of an order with no pickup
        fulfilment.confirm_pickup(actor=door, creator_id=settled.creator_id,
                                  payload=fulfilment.pickup_qr_payload(orders[1]))
    other = CreatorFactory()
    other_door = team_member(other, Role.DOOR)
    with pytest.raises(NotFound):  # another creator's door cannot collect it
        fulfilment.confirm_pickup(actor=other_door, creator_id=other.pk, payload=payload)
    assert not Pickup.objects.filter(picked_up_at__isnull=False).exists()


def test_collect_once_then_already(settled, client):
    order = _orders(settled)[0]
    window = _window(settled.creator)
    fulfilment.assign_pickup(actor=settled.owner, order_id=order.pk, window_id=window.pk)
    door = team_member(settled.creator, Role.DOOR)
    client.force_login(door)
    payload = fulfilment.pickup_qr_payload(order)
    r = client.post("/dashboard/fulfilment/pickups/confirm/", {"payload": payload}, follow=True)
    assert r.status_code == 200 and "Hand over order" in r.content.decode()
    pickup = Pickup.objects.get(order=order)
    when = timezone.localtime(pickup.picked_up_at).strftime("%H:%M")
    assert pickup.picked_up_by == door
    r = client.post("/dashboard/fulfilment/pickups/confirm/", {"payload": payload}, follow=True)
    assert f"Already collected at {when}" in r.content.decode()
    assert Pickup.objects.get(order=order).picked_up_at == pickup.picked_up_at
    for bad in ("", "garbage", "x" * 5000):
        r = client.post("/dashboard/fulfilment/pickups/confirm/", {"payload": bad}, follow=True)
        assert r.status_code == 200
    with pytest.raises(Conflict):  # collected: no switching to shipping
        fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="Street 1")


def test_pickup_window_rules_and_access(settled, client):
    order = _orders(settled)[0]
    with pytest.raises(Invalid):
        fulfilment.create_pickup_window(actor=settled.owner, creator_id=settled.creator_id, place="Here",
                                        starts_at=timezone.now(), ends_at=timezone.now() - timedelta(hours=1))
    other_window = _window(CreatorFactory())
    with pytest.raises(Invalid):
        fulfilment.choose_pickup(user=order.buyer, order_id=order.pk, window_id=other_window.pk)
    now = timezone.now()
    past = PickupWindow.objects.create(creator=settled.creator, place="Old", starts_at=now - timedelta(days=2),
                                       ends_at=now - timedelta(days=1))
    with pytest.raises(Conflict):
        fulfilment.choose_pickup(user=order.buyer, order_id=order.pk, window_id=past.pk)
    with pytest.raises(NotFound):
        fulfilment.choose_pickup(user=UserFactory(), order_id=order.pk, window_id=past.pk)
    client.force_login(settled.owner)
    r = client.post("/dashboard/fulfilment/windows/", {"place": "Shop", "starts_at": "2030-01-01T10:00",
                                                       "ends_at": "2030-01-01T12:00"})
    assert r.status_code == 302 and PickupWindow.objects.filter(place="Shop").exists()
    assert client.post("/dashboard/fulfilment/windows/", {"place": "Bad", "starts_at": "nope"}).status_code == 302
    assert client.post("/dashboard/fulfilment/windows/assign/", {"order": "x", "window": "y"}).status_code == 302
    assert not PickupWindow.objects.filter(place="Bad").exists()
    door = team_member(settled.creator, Role.DOOR)
    client.force_login(door)
    page = client.get("/dashboard/fulfilment/")
    assert page.status_code == 200 and "Confirm a pickup" in page.content.decode()
    assert "Shipping batches" not in page.content.decode()
    assert client.get(f"/dashboard/fulfilment/batches/{ShippingBatch.objects.get().pk}/packing-list.csv"
                      ).status_code == 302  # door may not export addresses


def test_buyer_sees_only_their_own_delivery(settled, client):
    orders = _orders(settled)
    fulfilment.set_shipping_address(user=orders[0].buyer, order_id=orders[0].pk, address="Secret street 1")
    client.force_login(orders[1].buyer)
    assert client.get(f"/orders/{orders[0].pk}/").status_code == 404
    assert client.post(f"/orders/{orders[0].pk}/address/", {"address": "Mine now"}).status_code == 404
    assert client.post(f"/orders/{orders[0].pk}/pickup/", {"window": "pkw_x"}).status_code == 404
    assert Shipment.objects.get(order=orders[0]).address == "Secret street 1"
    client.force_login(orders[0].buyer)
    assert "Secret street 1" in client.get(f"/orders/{orders[0].pk}/").content.decode()


def test_an_order_held_for_risk_review_is_not_handed_over():
    """Fulfilment waits for the staff decision on a risky order (the risk app)."""
    from risk.models import RiskReview

    creator = CreatorFactory()
    owner = team_member(creator, Role.OWNER)
    order = paid_product_order(creator)
    fulfilment.set_shipping_address(user=order.buyer, order_id=order.pk, address="1 Road, Town")
    RiskReview.objects.create(order=order, score=90, reasons=["test"])
    shipment = Shipment.objects.get(order=order)
    with pytest.raises(Conflict) as exc:
        fulfilment.mark_shipped(actor=owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1")
    assert exc.value.code == "held_for_review"
    RiskReview.objects.filter(order=order).update(status=RiskReview.Status.APPROVED)
    assert fulfilment.mark_shipped(actor=owner, shipment_id=shipment.pk, carrier="DHL", tracking_number="T1").shipped_at
