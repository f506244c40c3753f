"""API contract for orders (API.md "Orders"): reserve, checkout, sandbox pay, cancel, refund, read.

Commerce must not import events (the layering contract covers tests), so these tests set up real
ticket tiers through the API itself — which is also how an integration would do it.
"""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from commerce.models import Order
from commerce.models.inventory import Hold, Inventory
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

pytestmark = pytest.mark.django_db


def post_json(client, url, body=None):
    if body is None:
        return client.post(url)
    return client.post(url, data=body if isinstance(body, str) else json.dumps(body),
                       content_type="application/json")


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def creator():
    return CreatorFactory()


@pytest.fixture
def owner(creator):
    return team_member(creator, Role.OWNER)


@pytest.fixture
def owner_api(owner, make_api):
    return make_api(owner)


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def buyer_api(buyer, make_api):
    return make_api(buyer)


def make_tier(owner_api, creator, publish=True, capacity=None, **tier) -> str:
    start = timezone.now() + timedelta(days=5)
    venue = {"name": "Kellerbar", **({"capacity": capacity} if capacity else {})}
    r = post_json(owner_api, "/api/v1/events", {
        "creator": creator.pk, "title": "Night Shift", "description": "Two sets.", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(), "online": False, "venue": venue})
    assert r.status_code == 201, r.content
    event_id = r.json()["id"]
    r = post_json(owner_api, f"/api/v1/events/{event_id}/tiers",
                  {"name": "Standard", "price": "25.00", "quantity": 10, **tier})
    assert r.status_code == 201, r.content
    tier_id = r.json()["id"]
    if publish:
        assert owner_api.post(f"/api/v1/events/{event_id}/publish").status_code == 200
    return tier_id


@pytest.fixture
def tier(owner_api, creator):
    return make_tier(owner_api, creator)


def reserve(client, tier_id, quantity=2, **extra):
    return post_json(client, "/api/v1/orders", {"lines": [{"tier": tier_id, "quantity": quantity}], **extra})


@pytest.fixture
def order(buyer_api, tier):
    r = reserve(buyer_api, tier)
    assert r.status_code == 201, r.content
    return r.json()


def paid(buyer_api, order_id):
    r = buyer_api.post(f"/api/v1/orders/{order_id}/sandbox-pay")
    assert r.status_code == 200 and r.json()["status"] == "paid", r.content
    return r.json()


def my_tickets(client):
    r = client.get("/api/v1/tickets")
    assert r.status_code == 200
    return r.json()["results"]


def stock_left(client, tier_id) -> int:
    """What the public event page says is left of a tier."""
    events = client.get("/api/v1/events").json()["results"]
    for event in events:
        for t in client.get(f"/api/v1/events/{event['id']}").json()["tiers"]:
            if t["id"] == tier_id:
                return t["available"]
    raise AssertionError("tier not listed")


class TestReserve:
    def test_holds_stock_and_answers_the_order(self, buyer_api, buyer, tier, api):
        r = reserve(buyer_api, tier, 2)
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["id"].startswith("ord_") and body["status"] == "reserved"
        assert body["total"] == "50.00" and body["currency"] == "EUR" and body["expires_at"]
        (line,) = body["lines"]
        assert line["tier"] == tier and line["quantity"] == 2
        assert line["unit_price"] == "25.00" and line["total"] == "50.00" and "Standard" in line["description"]
        assert Order.objects.get(pk=body["id"]).email == buyer.email
        # One hold on the stock (the others are the buyer's personal caps, commerce/holdlimits.py).
        assert Hold.objects.filter(order_id=body["id"], status=Hold.Status.ACTIVE).exclude(
            inventory__key__startswith="limit:").count() == 1
        assert stock_left(api, tier) == 8

    def test_email_may_be_given(self, buyer_api, tier):
        r = reserve(buyer_api, tier, 1, email="Other@Example.com")
        assert r.status_code == 201 and r.json()["email"] == "other@example.com"

    def test_anonymous_is_401(self, api, tier):
        r = reserve(api, tier)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        assert not Order.objects.exists()

    @pytest.mark.parametrize("body, field", [
        ({}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": "tier"}, "lines"),
        ({"lines": [{"quantity": 1}]}, "lines[0]"),
        ({"lines": [{"tier": "T", "drop": "D", "quantity": 1}]}, "lines[0]"),
        ({"lines": [{"tier": "T", "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": -1}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": 101}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": 10**30}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": "two"}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": 1.5}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": True}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T", "quantity": None}]}, "lines[0].quantity"),
        ({"lines": [{"tier": "T"}]}, "lines[0].quantity"),
        ({"lines": [{"tier": ["T"], "quantity": 1}]}, "lines[0].tier"),
        ({"lines": [{"tier": "T", "quantity": 1}] * 21}, "lines"),
        ({"lines": ["T"]}, "lines[0]"),
        ({"lines": [{"tier": "T", "quantity": 1}], "email": "nope"}, "email"),
    ])
    def test_bad_input_is_400_and_holds_nothing(self, buyer_api, tier, body, field, api):
        body = json.loads(json.dumps(body).replace('"T"', f'"{tier}"'))
        r = post_json(buyer_api, "/api/v1/orders", body)
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and any(k.startswith(field) for k in r.json()["fields"]), r.json()
        assert not Order.objects.exists() and not Hold.objects.exists()
        assert stock_left(api, tier) == 10

    @pytest.mark.parametrize("raw", ["{oops", "[]", "null", '"lines"'])
    def test_malformed_json(self, buyer_api, raw):
        r = post_json(buyer_api, "/api/v1/orders", raw)
        assert r.status_code == 400 and r.json()["code"] in {"malformed_request", "invalid"}
        assert not Order.objects.exists()

    def test_quantities_of_the_same_tier_add_up_against_the_limit(self, buyer_api, owner_api, creator):
        tier = make_tier(owner_api, creator, max_per_order=3)
        r = post_json(buyer_api, "/api/v1/orders", {"lines": [{"tier": tier, "quantity": 2},
                                                               {"tier": tier, "quantity": 2}]})
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
        assert not Order.objects.exists()

    @pytest.mark.parametrize("line, word", [({"tier": "tier_nope"}, "tier"), ({"drop": "drp_x"}, "drop"),
                                            ({"product": "prd_x"}, "product")])
    def test_unknown_ids_are_404(self, buyer_api, line, word):
        r = post_json(buyer_api, "/api/v1/orders", {"lines": [{**line, "quantity": 1}]})
        assert r.status_code == 404 and r.json()["code"] == "not_found" and word in r.json()["detail"]
        assert not Order.objects.exists()

    def test_a_draft_events_tier_is_404(self, buyer_api, owner_api, creator):
        tier = make_tier(owner_api, creator, publish=False)
        assert reserve(buyer_api, tier, 1).status_code == 404
        assert not Order.objects.exists()

    def test_sold_out(self, buyer_api, owner_api, creator, make_api):
        tier = make_tier(owner_api, creator, quantity=3)
        assert reserve(buyer_api, tier, 2).status_code == 201
        r = reserve(make_api(UserFactory()), tier, 2)
        assert r.status_code == 409 and r.json()["code"] == "sold_out" and r.json()["detail"]
        assert Order.objects.count() == 1

    def test_venue_capacity_caps_tiers_together(self, buyer_api, owner_api, creator, make_api):
        tier = make_tier(owner_api, creator, capacity=3, quantity=10)
        assert reserve(buyer_api, tier, 3).status_code == 201
        r = reserve(make_api(UserFactory()), tier, 1)
        assert r.status_code == 409 and r.json()["code"] == "sold_out"

    def test_limit_exceeded(self, buyer_api, owner_api, creator):
        tier = make_tier(owner_api, creator, max_per_order=2)
        r = reserve(buyer_api, tier, 3)
        assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"

    def test_not_on_sale(self, buyer_api, owner_api, creator):
        tier = make_tier(owner_api, creator, sales_start=(timezone.now() + timedelta(days=1)).isoformat())
        r = reserve(buyer_api, tier, 1)
        assert r.status_code == 409 and r.json()["code"] == "not_on_sale"
        assert not Order.objects.exists()


class TestCheckoutAndPay:
    def test_paid_checkout_starts_a_sandbox_payment(self, buyer_api, order):
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/checkout")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["status"] == "awaiting_payment"
        assert body["payment"]["provider"] == "sandbox" and body["payment"]["checkout_url"].startswith("http")
        assert Order.objects.get(pk=order["id"]).status == Order.Status.AWAITING_PAYMENT

    def test_zero_total_is_paid_at_once(self, buyer_api, owner_api, creator):
        tier = make_tier(owner_api, creator, price="0")
        order = reserve(buyer_api, tier, 2).json()
        assert order["total"] == "0.00"
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/checkout")
        assert r.status_code == 200 and r.json()["status"] == "paid" and "payment" not in r.json()
        assert len(my_tickets(buyer_api)) == 2

    def test_sandbox_pay_twice_issues_tickets_once(self, buyer_api, order, tier, api):
        paid(buyer_api, order["id"])
        paid(buyer_api, order["id"])
        tickets = my_tickets(buyer_api)
        assert len(tickets) == 2 and all(t["tier"] == tier and t["qr_payload"] for t in tickets)
        assert Inventory.objects.get(key=f"tier:{tier}").sold == 2
        assert stock_left(api, tier) == 8
        assert buyer_api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "paid"

    def test_sandbox_pay_is_404_outside_the_sandbox(self, buyer_api, order, settings):
        settings.PAYMENTS_PROVIDER = "stripe"
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/sandbox-pay")
        assert r.status_code == 404
        assert Order.objects.get(pk=order["id"]).status == Order.Status.RESERVED

    def test_an_expired_hold_cannot_be_paid(self, buyer_api, order, tier, make_api):
        Order.objects.filter(pk=order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
        Hold.objects.filter(order_id=order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/checkout")
        assert r.status_code == 409 and r.json()["code"] == "expired"
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/sandbox-pay")
        assert r.status_code == 409 and r.json()["code"] == "expired"
        assert my_tickets(buyer_api) == []
        # The stock came back by the clock alone: someone else can buy all of it.
        assert reserve(make_api(UserFactory()), tier, 10).status_code == 201

    def test_short_hold_setting_expires_by_time(self, buyer_api, tier, settings):
        settings.HOLD_SECONDS = 0
        order = reserve(buyer_api, tier, 1).json()
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/checkout")
        assert r.status_code == 409 and r.json()["code"] == "expired"


class TestCancel:
    def test_cancel_frees_the_stock(self, buyer_api, order, tier, api):
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert stock_left(api, tier) == 10
        assert buyer_api.post(f"/api/v1/orders/{order['id']}/checkout").status_code == 409

    def test_a_paid_order_cannot_be_cancelled(self, buyer_api, order):
        paid(buyer_api, order["id"])
        r = buyer_api.post(f"/api/v1/orders/{order['id']}/cancel")
        assert r.status_code == 409 and r.json()["code"] == "already_paid"
        assert Order.objects.get(pk=order["id"]).status == Order.Status.PAID


class TestRefund:
    def test_owner_refunds_the_whole_order(self, owner_api, buyer_api, order, tier, api):
        paid(buyer_api, order["id"])
        r = post_json(owner_api, f"/api/v1/orders/{order['id']}/refund")
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "refunded" and r.json()["refunded_total"] == "50.00"
        assert all(t["status"] == "void" for t in my_tickets(buyer_api))
        assert stock_left(api, tier) == 10

    def test_refund_some_lines(self, owner_api, buyer_api, owner, creator):
        first, second = make_tier(owner_api, creator), make_tier(owner_api, creator, price="10.00")
        r = post_json(buyer_api, "/api/v1/orders", {"lines": [{"tier": first, "quantity": 1},
                                                              {"tier": second, "quantity": 1}]})
        order = r.json()
        # Two events of one creator in one order: fine, they share the seller and currency.
        paid(buyer_api, order["id"])
        line = next(ln for ln in order["lines"] if ln["tier"] == second)
        r = post_json(owner_api, f"/api/v1/orders/{order['id']}/refund", {"lines": [line["id"]]})
        assert r.status_code == 200 and r.json()["status"] == "partially_refunded"
        assert r.json()["refunded_total"] == "10.00"

    @pytest.mark.parametrize("body, field", [({"lines": "all"}, "lines"), ({"lines": []}, "lines"),
                                             ({"lines": [["x"]]}, "lines"), ({"lines": ["lin_nope"]}, "lines"),
                                             ({"reason": "r" * 300}, "reason")])
    def test_bad_input_changes_nothing(self, owner_api, buyer_api, order, body, field):
        paid(buyer_api, order["id"])
        r = post_json(owner_api, f"/api/v1/orders/{order['id']}/refund", body)
        assert r.status_code == 400 and any(k.startswith(field) for k in r.json()["fields"]), r.content
        assert Order.objects.get(pk=order["id"]).status == Order.Status.PAID

    def test_an_unpaid_order_is_not_refundable(self, owner_api, order):
        r = post_json(owner_api, f"/api/v1/orders/{order['id']}/refund")
        assert r.status_code == 409 and r.json()["code"] == "not_refundable"

    def test_access(self, buyer_api, order, auth_api, make_api, creator):
        paid(buyer_api, order["id"])
        url = f"/api/v1/orders/{order['id']}/refund"
        assert post_json(buyer_api, url).status_code == 403  # they can see it, not refund it
        assert post_json(auth_api, url).status_code == 404
        assert post_json(make_api(team_member(creator, Role.DOOR)), url).status_code == 404
        other_owner = team_member(CreatorFactory(), Role.OWNER)
        assert post_json(make_api(other_owner), url).status_code == 404
        assert Order.objects.get(pk=order["id"]).status == Order.Status.PAID
        manager = make_api(team_member(creator, Role.MANAGER))
        assert post_json(manager, url).status_code == 200


class TestReadAndAccess:
    def test_buyer_and_team_see_it_others_do_not(self, buyer_api, owner_api, order, auth_api, api, make_api,
                                                  creator):
        url = f"/api/v1/orders/{order['id']}"
        mine = buyer_api.get(url)
        assert mine.status_code == 200 and mine.json()["id"] == order["id"] and mine.json()["lines"]
        assert owner_api.get(url).status_code == 200
        assert auth_api.get(url).status_code == 404
        assert make_api(team_member(CreatorFactory(), Role.OWNER)).get(url).status_code == 404
        assert api.get(url).status_code == 401
        assert buyer_api.get("/api/v1/orders/ord_nope").status_code == 404

    @pytest.mark.parametrize("action", ["checkout", "sandbox-pay", "cancel"])
    def test_only_the_buyer_acts(self, order, auth_api, owner_api, action):
        url = f"/api/v1/orders/{order['id']}/{action}"
        assert auth_api.post(url).status_code == 404
        assert owner_api.post(url).status_code == 403  # the team sees the order, but it is not theirs to pay
        assert auth_api.post(f"/api/v1/orders/ord_nope/{action}").status_code == 404
        assert Order.objects.get(pk=order["id"]).status == Order.Status.RESERVED


@pytest.mark.parametrize("path", ["/api/v1/orders/ord%00x", "/api/v1/orders/%E2%82%AC", "/api/v1/orders/" + "a" * 65])
def test_odd_ids_in_paths_are_a_json_404(buyer_api, path):
    r = buyer_api.get(path)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
