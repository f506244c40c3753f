"""The pop-up till: offline sales synced later, idempotent by client id; a pop-up that sold more than
it held shows a conflict, resolved by back-order, cancel or transfer; QR sales paid on the buyer's
phone; concurrent syncs; the page and endpoints' access and answers to bad input."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from commerce import services
from catalog import services as catalog
from stock import services as stock
from commerce.models import Order
from stock.models import PosSale, StockMovement
from commerce.tests.helpers import run_together
from microstage.errors import Conflict, Invalid
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def make_shop():
    creator = CreatorFactory()
    owner = team_member(creator)
    product = catalog.create_product(creator=creator, name="Tour shirt", price=Decimal("20.00"), currency="EUR",
                                     variants=[{"name": "M", "stock": 0}, {"name": "L", "stock": 0}], actor=SYSTEM)
    m, large = product.variants.order_by("position")
    central = stock.create_location(creator=creator, name="Warehouse", kind="central", actor=SYSTEM)
    popup = stock.create_location(creator=creator, name="Merch table", actor=SYSTEM)
    stock.receive(location=central, variant=m, quantity=20, actor=SYSTEM)
    stock.transfer(source=central, target=popup, variant=m, quantity=2, key="stocking", actor=SYSTEM)
    stock.receive(location=popup, variant=large, quantity=5, actor=SYSTEM)
    return {"creator": creator, "owner": owner, "m": m, "l": large, "central": central, "popup": popup}


@pytest.fixture
def shop():
    return make_shop()


def sale(client_id, variant, quantity=1, minutes_ago=5, price="20.00", device="till-a"):
    return {"client_id": client_id, "items": [{"variant": variant.pk, "quantity": quantity, "unit_price": price}],
            "sold_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(), "device": device}


def sync(shop, sales, actor=None):
    return stock.sync_sales(location=shop["popup"], sales=sales, actor=actor or shop["owner"])


def offline_conflict(shop):
    """Two phones offline each sell the pop-up's last 2 shirts (M); A syncs, then B."""
    a = sync(shop, [sale("till-a-0001", shop["m"], 2, minutes_ago=9, device="till-a")])
    b = sync(shop, [sale("till-b-0001", shop["m"], 2, minutes_ago=7, device="till-b")])
    return PosSale.objects.get(client_id=a[0]["client_id"]), PosSale.objects.get(client_id=b[0]["client_id"])


# --- offline POS sync with a conflict ----------------------------------------------------------

def test_offline_pos_sync_with_a_conflict(shop):
    first, second = offline_conflict(shop)
    assert first.status == PosSale.Status.COMPLETED
    assert second.status == PosSale.Status.CONFLICT  # kept, never dropped
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == -2  # the ledger tells the truth
    assert list(stock.conflicts(shop["creator"].pk)) == [second]
    assert stock.missing_units(second) == {shop["m"].pk: 2}
    assert PosSale.objects.count() == 2 and first.total == Decimal("40.00")


def test_conflict_resolved_by_back_order(shop):
    _, conflict = offline_conflict(shop)
    resolved = stock.resolve_conflict(sale_id=conflict.pk, action="backorder", actor=shop["owner"])
    assert resolved.status == PosSale.Status.BACK_ORDERED
    assert resolved.items[0]["owed"] == 2 and "owed 2 × Tour shirt — M" in resolved.resolution
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == 0
    assert not stock.conflicts(shop["creator"].pk).exists()
    assert list(stock.owed_sales(shop["creator"].pk)) == [resolved]
    with pytest.raises(Conflict):  # once
        stock.resolve_conflict(sale_id=conflict.pk, action="backorder", actor=shop["owner"])


def test_conflict_resolved_by_cancel_refunds_cash(shop):
    _, conflict = offline_conflict(shop)
    resolved = stock.resolve_conflict(sale_id=conflict.pk, action="cancel", actor=shop["owner"])
    assert resolved.status == PosSale.Status.CANCELLED
    assert "40.00 EUR cash refunded" in resolved.resolution
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == 0
    assert StockMovement.objects.filter(reason="return", location=shop["popup"]).count() == 1


def test_conflict_resolved_by_transfer_from_another_location(shop):
    _, conflict = offline_conflict(shop)
    resolved = stock.resolve_conflict(sale_id=conflict.pk, action="transfer", source_id=shop["central"].pk,
                                      actor=shop["owner"])
    assert resolved.status == PosSale.Status.COMPLETED and "from Warehouse" in resolved.resolution
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == 0
    assert stock.on_hand_of(shop["central"], shop["m"].pk) == 16


def test_transfer_resolution_needs_units_at_the_source(shop):
    _, conflict = offline_conflict(shop)
    empty = stock.create_location(creator=shop["creator"], name="Van", actor=SYSTEM)
    with pytest.raises(Conflict):
        stock.resolve_conflict(sale_id=conflict.pk, action="transfer", source_id=empty.pk, actor=shop["owner"])
    conflict.refresh_from_db()
    assert conflict.status == PosSale.Status.CONFLICT  # nothing half-done
    with pytest.raises(Invalid):
        stock.resolve_conflict(sale_id=conflict.pk, action="transfer", actor=shop["owner"])
    with pytest.raises(Invalid):
        stock.resolve_conflict(sale_id=conflict.pk, action="shrug", actor=shop["owner"])


def test_door_staff_sell_but_do_not_resolve(shop):
    door = team_member(shop["creator"], Role.DOOR)
    sync(shop, [sale("till-c-0001", shop["m"], 3)], actor=door)
    conflict = PosSale.objects.get(client_id="till-c-0001")
    assert conflict.status == PosSale.Status.CONFLICT and conflict.sold_by == door
    with pytest.raises(Exception) as exc:
        stock.resolve_conflict(sale_id=conflict.pk, action="cancel", actor=door)
    assert exc.value.code == "forbidden"


# --- idempotency and concurrency ----------------------------------------------------------------

def test_the_same_batch_synced_twice_moves_stock_once(shop):
    batch = [sale("till-a-0001", shop["l"], 2), sale("till-a-0002", shop["l"], 1)]
    first = sync(shop, batch)
    second = sync(shop, batch)
    assert [r["result"] for r in first] == ["recorded", "recorded"]
    assert [r["result"] for r in second] == ["duplicate", "duplicate"]
    assert stock.on_hand_of(shop["popup"], shop["l"].pk) == 2
    assert PosSale.objects.count() == 2


def test_bad_sales_are_refused_one_by_one_without_blocking_the_queue(shop):
    future = sale("till-a-0003", shop["l"], 1, minutes_ago=-120)
    results = sync(shop, [sale("till-a-0001", shop["l"], 1), "junk", {"client_id": "x"}, future,
                          sale("till-a-0004", shop["l"], 0), sale("till-a-0005", shop["l"], 1, price="1.234"),
                          {**sale("till-a-0006", shop["l"]), "items": [{"variant": "var_nope", "quantity": 1}]},
                          sale("till-a-0002", shop["l"], 1)])
    assert [r["result"] for r in results] == ["recorded"] + ["refused"] * 6 + ["recorded"]
    assert stock.on_hand_of(shop["popup"], shop["l"].pk) == 3
    with pytest.raises(Invalid):
        sync(shop, [])


def test_a_client_id_of_another_location_is_refused(shop):
    sync(shop, [sale("till-a-0001", shop["l"])])
    with pytest.raises(Conflict):
        stock.record_sale(location=shop["central"], client_id="till-a-0001", items=sale("x", shop["l"])["items"],
                          sold_at=timezone.now(), actor=SYSTEM)


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_never_double_count():
    shop = make_shop()
    batch = [sale(f"till-a-{i:04d}", shop["m"], 1) for i in range(3)]
    others = [sale(f"till-b-{i:04d}", shop["m"], 1) for i in range(3)]
    results, errors = run_together([lambda: sync(shop, batch), lambda: sync(shop, batch),
                                    lambda: sync(shop, others)])
    assert errors == []
    assert PosSale.objects.count() == 6
    assert StockMovement.objects.filter(reason="pos_sale").count() == 6
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == 2 - 6
    # The location lock makes every sale see the ones before it: exactly the first 2 units complete.
    assert PosSale.objects.filter(status="completed").count() == 2
    assert PosSale.objects.filter(status="conflict").count() == 4


# --- QR sales --------------------------------------------------------------------------------

def qr_items(shop, quantity=1):
    return [{"variant": shop["l"].pk, "quantity": quantity}]


def test_qr_sale_is_an_order_paid_on_the_buyers_phone(shop):
    pos_sale, url = stock.start_qr_sale(location=shop["popup"], client_id="till-q-0001", items=qr_items(shop, 2),
                                        actor=shop["owner"])
    assert pos_sale.status == PosSale.Status.PENDING_PAYMENT and "/payments/sandbox/checkout/" in url
    assert stock.on_hand_of(shop["popup"], shop["l"].pk) == 3
    order = pos_sale.order
    assert order.total == Decimal("40.00") and order.lines.get().kind == stock.POS_KIND
    again, url2 = stock.start_qr_sale(location=shop["popup"], client_id="till-q-0001", items=qr_items(shop, 2),
                                      actor=shop["owner"])
    assert again.pk == pos_sale.pk and again.order_id == order.pk and url2 == url
    services.sandbox_pay(order.pk)
    assert stock.refresh_qr_sale(pos_sale.pk).status == PosSale.Status.COMPLETED
    shop["l"].refresh_from_db()
    assert shop["l"].stock == 0  # the online pool is untouched by a pop-up sale


def test_unpaid_qr_sale_gives_the_units_back(shop):
    pos_sale, _ = stock.start_qr_sale(location=shop["popup"], client_id="till-q-0002", items=qr_items(shop),
                                      actor=shop["owner"])
    cancelled = stock.cancel_unpaid_qr(pos_sale.pk, actor=shop["owner"])
    assert cancelled.status == PosSale.Status.CANCELLED
    assert Order.objects.get(pk=pos_sale.order_id).status == Order.Status.CANCELLED
    assert stock.on_hand_of(shop["popup"], shop["l"].pk) == 5
    expired, _ = stock.start_qr_sale(location=shop["popup"], client_id="till-q-0003", items=qr_items(shop),
                                     actor=shop["owner"])
    Order.objects.filter(pk=expired.order_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert stock.refresh_qr_sale(expired.pk).status == PosSale.Status.CANCELLED
    assert stock.on_hand_of(shop["popup"], shop["l"].pk) == 5


def test_qr_sale_is_refused_when_the_table_is_short(shop):
    with pytest.raises(Conflict):
        stock.start_qr_sale(location=shop["popup"], client_id="till-q-0004", items=qr_items(shop, 6),
                            actor=shop["owner"])
    assert not PosSale.objects.exists() and stock.on_hand_of(shop["popup"], shop["l"].pk) == 5


def test_cancelling_a_paid_qr_conflict_refunds_the_order(shop):
    pos_sale, _ = stock.start_qr_sale(location=shop["popup"], client_id="till-q-0005", items=qr_items(shop),
                                      actor=shop["owner"])
    services.sandbox_pay(pos_sale.order_id)
    PosSale.objects.filter(pk=pos_sale.pk).update(status=PosSale.Status.CONFLICT)  # as if the count was wrong
    resolved = stock.resolve_conflict(sale_id=pos_sale.pk, action="cancel", actor=shop["owner"])
    assert "refunded" in resolved.resolution
    assert Order.objects.get(pk=pos_sale.order_id).status == Order.Status.REFUNDED


# --- the page and its endpoints ----------------------------------------------------------------

def client_for(user) -> Client:
    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    c.get(reverse("dashboard"))
    return c


def post_json(c, url, body):
    token = c.cookies["csrftoken"].value if "csrftoken" in c.cookies else ""
    return c.post(url, data=json.dumps(body) if not isinstance(body, str) else body,
                  content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_pos_page_and_catalogue(shop):
    c = client_for(team_member(shop["creator"], Role.DOOR))
    page = c.get(reverse("pos", args=[shop["popup"].pk]))
    assert page.status_code == 200 and b"Buyer pays by QR" in page.content and b"pos-snapshot" in page.content
    data = c.get(reverse("pos-catalogue", args=[shop["popup"].pk])).json()
    assert {i["variant"]: i["on_hand"] for i in data["items"]} == {shop["m"].pk: 2, shop["l"].pk: 5}
    assert data["items"][0]["price"] == "20.00"


def test_pos_sync_endpoint_records_conflicts_and_is_csrf_protected(shop):
    owner = client_for(shop["owner"])
    url = reverse("pos-sync", args=[shop["popup"].pk])
    c = Client(enforce_csrf_checks=True)
    c.force_login(shop["owner"])
    assert c.post(url, data="{}", content_type="application/json").status_code == 403  # no CSRF token
    owner.get(reverse("pos", args=[shop["popup"].pk]))
    r = post_json(owner, url, {"sales": [sale("till-a-0001", shop["m"], 3)]})
    assert r.status_code == 200
    body = r.json()
    assert body["results"][0]["sale"]["status"] == "conflict"
    assert len(body["conflicts"]) == 1
    again = post_json(owner, url, {"sales": [sale("till-a-0001", shop["m"], 3)]}).json()
    assert again["results"][0]["result"] == "duplicate"
    assert stock.on_hand_of(shop["popup"], shop["m"].pk) == -1


@pytest.mark.parametrize("body", ["not json", "[1]", {"sales": "x"}, {"sales": []}, {"sales": [{}] * 201}])
def test_pos_sync_bad_input_is_a_400(shop, body):
    c = client_for(shop["owner"])
    c.get(reverse("pos", args=[shop["popup"].pk]))
    r = post_json(c, reverse("pos-sync", args=[shop["popup"].pk]), body)
    assert r.status_code == 400 and r.json()["code"] == "invalid"


def test_pos_access(shop):
    url = reverse("pos-catalogue", args=[shop["popup"].pk])
    assert Client().get(url).status_code == 401
    stranger = client_for(UserFactory())
    assert stranger.get(url).status_code == 404
    assert stranger.get(reverse("pos", args=[shop["popup"].pk])).status_code == 404
    moderator = client_for(team_member(shop["creator"], Role.MODERATOR))
    assert moderator.get(url).status_code == 403
    assert client_for(shop["owner"]).get(reverse("pos-catalogue", args=["loc_nope"])).status_code == 404


def test_qr_endpoint_answers_with_a_qr(shop):
    c = client_for(shop["owner"])
    c.get(reverse("pos", args=[shop["popup"].pk]))
    r = post_json(c, reverse("pos-qr", args=[shop["popup"].pk]),
                  {"client_id": "till-q-0009", "items": qr_items(shop)})
    assert r.status_code == 201 and r.json()["qr_svg"].startswith("<svg")
    sale_id = r.json()["sale"]["id"]
    assert c.get(reverse("pos-sale", args=[shop["popup"].pk, sale_id])).json()["sale"]["status"] == "pending_payment"
    r = post_json(c, reverse("pos-sale-cancel", args=[shop["popup"].pk, sale_id]), {})
    assert r.json()["sale"]["status"] == "cancelled"
    bad = post_json(c, reverse("pos-qr", args=[shop["popup"].pk]), {"client_id": "x", "items": []})
    assert bad.status_code == 400


# --- the stock dashboard ----------------------------------------------------------------------

def test_stock_dashboard_create_receive_transfer_override_resolve(shop):
    c = client_for(shop["owner"])
    assert c.get(reverse("dash-stock")).status_code == 200
    token = lambda: c.cookies["csrftoken"].value  # noqa: E731
    r = c.post(reverse("dash-stock"), {"name": "Pop-up Berlin", "kind": "popup", "csrfmiddlewaretoken": token()})
    assert r.status_code == 302
    loc = r.url.rstrip("/").split("/")[-1]
    page = c.get(reverse("dash-stock-location", args=[shop["central"].pk]))
    assert page.status_code == 200 and b"Ledger" in page.content
    r = c.post(reverse("dash-stock-transfer", args=[shop["central"].pk]),
               {"variant": shop["m"].pk, "quantity": 3, "target": loc, "key": "k1", "note": "",
                "csrfmiddlewaretoken": token()})
    assert r.status_code == 302
    c.post(reverse("dash-stock-transfer", args=[shop["central"].pk]),
           {"variant": shop["m"].pk, "quantity": 3, "target": loc, "key": "k1", "note": "",
            "csrfmiddlewaretoken": token()})  # sent twice: moved once
    assert stock.on_hand_of(shop["central"], shop["m"].pk) == 15
    r = c.post(reverse("dash-stock-transfer", args=[shop["central"].pk]),
               {"variant": shop["m"].pk, "quantity": 999, "target": loc, "key": "k2", "csrfmiddlewaretoken": token()})
    assert r.status_code == 400 and b"holds only" in r.content
    r = c.post(reverse("dash-stock-receive", args=[shop["central"].pk]),
               {"variant": shop["m"].pk, "quantity": "lots", "key": "k3", "csrfmiddlewaretoken": token()})
    assert r.status_code == 400
    r = c.post(reverse("dash-stock-override", args=[shop["central"].pk]),
               {"variant": shop["m"].pk, "quantity": 4, "ttl": 3600, "csrfmiddlewaretoken": token()})
    assert r.status_code == 302 and stock.on_hand_of(shop["central"], shop["m"].pk) == 4
    _, conflict = offline_conflict(shop)
    listing = c.get(reverse("dash-stock"))
    assert conflict.pk.encode() in listing.content
    r = c.post(reverse("dash-stock-resolve", args=[conflict.pk]),
               {"action": "backorder", "next": "list", "csrfmiddlewaretoken": token()})
    assert r.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == PosSale.Status.BACK_ORDERED


def test_stock_dashboard_is_for_owners_and_managers(shop):
    door = client_for(team_member(shop["creator"], Role.DOOR))
    assert door.get(reverse("dash-stock")).status_code == 302
    other = CreatorFactory()
    owner_elsewhere = client_for(team_member(other))
    assert owner_elsewhere.get(reverse("dash-stock-location", args=[shop["central"].pk])).status_code == 404


def test_admin_lists_conflicts_and_locations_read_only(shop):
    _, conflict = offline_conflict(shop)
    staff = UserFactory(is_staff=True, is_superuser=True)
    c = Client()
    c.force_login(staff)
    page = c.get("/admin/stock/possale/?conflict=yes")
    assert page.status_code == 200 and conflict.pk.encode() in page.content
    detail = c.get(f"/admin/stock/stocklocation/{quote(shop['popup'].pk)}/change/")
    assert detail.status_code == 200 and b"stocking" in detail.content
    assert c.get("/admin/stock/stocklocation/add/").status_code == 403
