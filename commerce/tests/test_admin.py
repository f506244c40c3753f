"""Staff admin for orders, holds and inventory: searchable, filterable, read-only money, a refund action.

Commerce knows nothing of events (the layering contract covers tests too), so the orders here sell
the test-only "seat" kind of helpers.py; the admin of events, tiers, tickets and check-ins is tested
in events/tests/test_admin.py.
"""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from commerce import services
from commerce.models import Order
from commerce.models.inventory import Hold, Inventory
from microstage.models import User
from microstage.tests.factories import UserFactory

from .helpers import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin_user = User.objects.create_superuser(email="staff@example.com", password="x-very-long-password-1")
    client.force_login(admin_user)
    return client


@pytest.fixture
def shop(catalog, sandbox):
    """One paid order of two seats at 20.00 and one reserved (unpaid) order."""
    catalog.add("seat-a", {"tier:seat-a": 10, "venue:hall": 50}, price="20.00")
    paid = services.sandbox_pay(buy("seat-a", 2, buyer=UserFactory(email="buyer@example.com")).pk)
    reserved = buy("seat-a", 1, buyer=UserFactory(email="waiting@example.com"))
    return {"catalog": catalog, "paid": paid, "reserved": reserved}


CHANGELISTS = [
    ("order", {"q": "buyer@example.com", "status__exact": "paid"}),
    ("order", {"currency__exact": "EUR", "status__exact": "reserved"}),
    ("order", {"q": "seat-a"}),
    ("hold", {"q": "tier:seat-a", "live": "yes"}),
    ("hold", {"status__exact": "converted", "live": "no"}),
    ("inventory", {"q": "venue:"}),
]


@pytest.mark.parametrize("model,params", CHANGELISTS)
def test_changelists_render_with_search_and_filters(staff, shop, model, params):
    r = staff.get(f"/admin/commerce/{model}/", params)
    assert r.status_code == 200, r.content[:500]
    page = r.content.decode()
    assert 'id="searchbar"' in page and 'id="changelist-filter"' in page
    assert 'class="paginator"' in page and "0 results" not in page
    assert 'class="action-checkbox"' in page or model != "order"


def test_changelists_show_useful_columns(staff, shop):
    paid, reserved = shop["paid"], shop["reserved"]
    orders = staff.get("/admin/commerce/order/").content.decode()
    assert paid.pk in orders and reserved.pk in orders and "buyer@example.com" in orders and "40.00" in orders
    only_paid = staff.get("/admin/commerce/order/", {"status__exact": "paid"}).content.decode()
    assert paid.pk in only_paid and reserved.pk not in only_paid
    inventory = staff.get("/admin/commerce/inventory/").content.decode()
    assert "tier:seat-a" in inventory and "Available now" in inventory and "Held now" in inventory
    pool = Inventory.objects.get(key="tier:seat-a")
    assert pool.sold == 2
    holds = staff.get("/admin/commerce/hold/", {"inventory__id__exact": pool.pk}).content.decode()
    assert reserved.pk in holds and paid.pk in holds
    live = staff.get("/admin/commerce/hold/", {"live": "yes"}).content.decode()
    assert reserved.pk in live and paid.pk not in live


def test_money_is_read_only_and_orders_cannot_be_added_or_deleted(staff, shop):
    paid = shop["paid"]
    r = staff.get(f"/admin/commerce/order/{paid.pk}/change/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Seat seat-a" in page  # the line, inline
    for name in ("total", "status", "refunded_total", "subtotal", "currency"):
        assert f'name="{name}"' not in page
    staff.post(f"/admin/commerce/order/{paid.pk}/change/", {"total": "0.01", "status": "refunded"})
    paid.refresh_from_db()
    assert paid.total == Decimal("40.00") and paid.status == Order.Status.PAID
    assert staff.get("/admin/commerce/order/add/").status_code == 403
    assert staff.get(f"/admin/commerce/order/{paid.pk}/delete/").status_code == 403
    pool = Inventory.objects.get(key="tier:seat-a")
    assert staff.get(f"/admin/commerce/inventory/{pool.pk}/change/").status_code == 200
    staff.post(f"/admin/commerce/inventory/{pool.pk}/change/", {"key": pool.key, "total": "1", "sold": "0"})
    pool.refresh_from_db()
    assert (pool.total, pool.sold) == (10, 2)
    hold = Hold.objects.first()
    assert staff.get(f"/admin/commerce/hold/{hold.pk}/change/").status_code == 200
    assert staff.get("/admin/commerce/hold/add/").status_code == 403


def test_refund_action_confirms_then_refunds_and_reports_failures(staff, shop):
    paid, reserved, catalog = shop["paid"], shop["reserved"], shop["catalog"]
    selection = {"action": "refund_orders", "_selected_action": [paid.pk, reserved.pk]}
    r = staff.post("/admin/commerce/order/", selection)
    assert r.status_code == 200
    page = r.content.decode()
    assert "will be refunded in full" in page and paid.pk in page and "Not refundable" in page
    paid.refresh_from_db()
    assert paid.status == Order.Status.PAID and not catalog.names("refunded")  # nothing before confirming

    r = staff.post("/admin/commerce/order/", {**selection, "confirm": "yes", "reason": "Duplicate purchase"},
                   follow=True)
    page = r.content.decode()
    assert f"Refunded 1 order: {paid.pk}" in page
    assert f"1 not refunded — {reserved.pk}: Only paid orders can be refunded." in page
    paid.refresh_from_db()
    reserved.refresh_from_db()
    assert paid.status == Order.Status.REFUNDED and paid.refunded_total == Decimal("40.00")
    assert paid.note == "Duplicate purchase" and reserved.status == Order.Status.RESERVED
    assert len(catalog.names("refunded")) == 1  # the selling app was told once (tickets would be voided)
    assert Inventory.objects.get(key="tier:seat-a").sold == 0

    # Refunding again is a reported failure, never a crash or a second refund.
    r = staff.post("/admin/commerce/order/", {"action": "refund_orders", "_selected_action": [paid.pk],
                                              "confirm": "yes"}, follow=True)
    assert "Only paid orders can be refunded." in r.content.decode()
    paid.refresh_from_db()
    assert paid.refunded_total == Decimal("40.00") and len(catalog.names("refunded")) == 1


def test_refund_action_needs_change_permission(client, shop):
    viewer = User.objects.create_user(email="viewer@example.com", password="x-very-long-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    r = client.get("/admin/commerce/order/")
    assert r.status_code == 200 and shop["paid"].pk in r.content.decode()
    assert "refund_orders" not in r.content.decode()
    client.post("/admin/commerce/order/", {"action": "refund_orders", "_selected_action": [shop["paid"].pk],
                                           "confirm": "yes"})
    shop["paid"].refresh_from_db()
    assert shop["paid"].status == Order.Status.PAID


@pytest.mark.parametrize("label,model", [("catalog", "product"), ("groupbuys", "groupbuy"),
                                         ("groupbuys", "groupbuyparticipant"), ("payouts", "ledgerentry"),
                                         ("payouts", "dispute"), ("payouts", "tip")])
def test_live_commerce_changelists_render(staff, shop, label, model):
    from django.urls import reverse

    url = reverse(f"admin:{label}_{model}_changelist")
    assert staff.get(url).status_code == 200
    assert staff.get(url, {"q": "x"}).status_code == 200
