"""Bundles (API.md "Bundles"): tickets plus goods plus store credit sold as one line — all parts held
in one step, `available` the least the parts allow, credit granted on payment and spent on later
orders, and refunds that take it all back (reduced by credit already spent)."""
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids

from commerce import credit
from commerce import services as commerce
from catalog import services as catalog
from commerce.models import CreditEntry, Order
from commerce.models.inventory import Hold, Inventory
from commerce.receipts import receipt_data
from events import bundles
from events.models import Ticket
from microstage.errors import Conflict
from microstage.tests.factories import UserFactory, team_member

from .factories import TierFactory
from .test_ticket_stock import run_together
from microstage.permissions import SYSTEM


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    return settings


@pytest.fixture
def setup(db, sandbox):
    tier = TierFactory(quantity=10, price="20.00")
    creator = tier.event.creator
    owner = team_member(creator)
    product = catalog.create_product(creator=creator, name="Tour shirt", price="25.00", stock=3, actor=SYSTEM)
    variant = product.variants.get()
    return tier, product, variant, creator, owner


def make_bundle(creator, tier, variant, credit_amount="10.00", tickets=2):
    return bundles.create_bundle(creator=creator, name="Night out", price="60.00", credit_amount=credit_amount,
                                 items=[{"tier": tier.pk, "quantity": tickets}, {"variant": variant.pk, "quantity": 1}],
                                 actor=SYSTEM)


def reserve_bundle(api, bundle, quantity=1, **extra):
    return api.post("/api/v1/orders", {"lines": [{"bundle": bundle.pk, "quantity": quantity}], **extra}, format="json")


@pytest.mark.django_db
class TestCreating:
    def test_team_creates_and_anyone_reads(self, setup, make_api, api):
        tier, product, variant, creator, owner = setup
        r = make_api(owner).post("/api/v1/bundles", {
            "creator": creator.pk, "name": "Night out", "price": "60.00", "credit": "10.00",
            "items": [{"tier": tier.pk, "quantity": 2}, {"product": product.pk, "quantity": 1}]}, format="json")
        assert r.status_code == 201, r.json()
        body = r.json()
        assert body["id"].startswith("bdl_") and body["price"] == "60.00" and body["credit"] == "10.00"
        got = api.get(f"/api/v1/bundles/{body['id']}").json()
        # 10 tickets / 2 per bundle = 5, 3 shirts / 1 = 3: the least the parts allow.
        assert got["available"] == 3
        assert {"tier": tier.pk, "quantity": 2}.items() <= got["items"][0].items()
        assert got["items"][1]["variant"] == variant.pk

    @pytest.mark.parametrize("body, field", [
        ({"items": []}, "items"),
        ({"items": [{"tier": "tier_nope", "quantity": 1}]}, "items[0].tier"),
        ({"items": [{"tier": "T", "product": "P", "quantity": 1}]}, "items[0]"),
        ({"price": "-1"}, "price"),
        ({"credit": "abc"}, "credit"),
        ({"items": [{"tier": "TIER", "quantity": 0}]}, "items[0].quantity"),
    ])
    def test_bad_input_is_400_and_changes_nothing(self, setup, make_api, body, field):
        from events.models import Bundle

        tier, product, variant, creator, owner = setup
        data = {"creator": creator.pk, "name": "B", "price": "10.00",
                "items": [{"tier": tier.pk, "quantity": 1}], **body}
        data["items"] = [{k: (tier.pk if v == "TIER" else v) for k, v in i.items()} for i in data["items"]]
        r = make_api(owner).post("/api/v1/bundles", data, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert not Bundle.objects.exists()

    def test_outsiders_cannot_create(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        body = {"creator": creator.pk, "name": "B", "price": "1.00", "items": [{"tier": tier.pk, "quantity": 1}]}
        r = make_api(UserFactory()).post("/api/v1/bundles", body, format="json")
        assert r.status_code == 404

    def test_another_creators_tier_is_refused(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        foreign = TierFactory()
        r = make_api(owner).post("/api/v1/bundles", {"creator": creator.pk, "name": "B", "price": "1.00",
                                                     "items": [{"tier": foreign.pk, "quantity": 1}]}, format="json")
        assert r.status_code == 400


@pytest.mark.django_db
class TestBuying:
    def test_reserving_holds_every_part_and_paying_delivers_everything(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        bundle = make_bundle(creator, tier, variant)
        fan = UserFactory()
        r = reserve_bundle(make_api(fan), bundle)
        assert r.status_code == 201, r.json()
        order = Order.objects.get(pk=r.json()["id"])
        held = {h.inventory.key: h.quantity for h in Hold.objects.filter(order=order)
                if not h.inventory.key.startswith("limit:")}  # stock holds; per-person limits hold too
        assert held == {f"tier:{tier.pk}": 2, f"variant:{variant.pk}": 1}
        assert r.json()["total"] == "60.00" and r.json()["lines"][0]["bundle"] == bundle.pk
        assert make_api(fan).post(f"/api/v1/orders/{order.pk}/sandbox-pay").json()["status"] == "paid"
        assert Ticket.objects.filter(order_line__order=order, tier=tier, holder=fan).count() == 2
        assert make_api(fan).get(f"/api/v1/me/credit?creator={creator.pk}").json() == {
            "creator": creator.pk, "balance": "10.00", "currency": "EUR"}
        assert Inventory.objects.get(key=f"variant:{variant.pk}").sold == 1
        from fulfilment.services import is_physical

        assert is_physical(order)  # the shirt is shipped or collected like any merch order
        assert make_api(fan).get(f"/api/v1/bundles/{bundle.pk}").json()["available"] == 2

    def test_all_or_nothing_when_a_part_is_short(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        bundle = make_bundle(creator, tier, variant)
        for _ in range(3):  # the shirts go in the shop
            commerce.reserve(requests=[commerce.LineRequest("product", variant.pk, 1)], buyer=UserFactory())
        r = reserve_bundle(make_api(UserFactory()), bundle)
        assert r.status_code == 409 and r.json()["code"] == "sold_out"
        assert not Hold.objects.filter(inventory__key=f"tier:{tier.pk}").exists()
        assert make_api(UserFactory()).get(f"/api/v1/bundles/{bundle.pk}").json()["available"] == 0

    def test_credit_is_spent_on_the_next_order_and_shows_on_the_receipt(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        bundle = make_bundle(creator, tier, variant, credit_amount="30.00")
        fan = UserFactory()
        api = make_api(fan)
        first = reserve_bundle(api, bundle).json()["id"]
        api.post(f"/api/v1/orders/{first}/sandbox-pay")
        nxt = api.post("/api/v1/orders", {"lines": [{"tier": tier.pk, "quantity": 1}]}, format="json").json()["id"]
        assert api.post(f"/api/v1/orders/{nxt}/checkout").json()["status"] == "paid"  # 20 of 30 credit: free
        order = Order.objects.get(pk=nxt)
        assert order.credit_used == Decimal("20.00") and order.total == 0
        assert receipt_data(order)["credit_used"] == "20.00"
        from django.core import mail

        from commerce.emails import send_order_email

        send_order_email(nxt, "paid")  # what the payment sends once it commits
        assert "Store credit with" in mail.outbox[-1].body and "−€20.00" in mail.outbox[-1].body
        assert api.get(f"/api/v1/me/credit?creator={creator.pk}").json()["balance"] == "10.00"
        third = api.post("/api/v1/orders", {"lines": [{"tier": tier.pk, "quantity": 1}]}, format="json").json()["id"]
        body = api.post(f"/api/v1/orders/{third}/checkout").json()
        assert body["status"] == "awaiting_payment" and body["total"] == "10.00"
        # Cancelling an unpaid order gives its credit back.
        assert api.post(f"/api/v1/orders/{third}/cancel").status_code == 200
        assert api.get(f"/api/v1/me/credit?creator={creator.pk}").json()["balance"] == "10.00"
        # Refunding the free order returns its credit (as credit, not money).
        commerce.refund(nxt, actor=SYSTEM)
        assert credit.balance(fan, creator.pk, "EUR") == Decimal("30.00")
        assert Order.objects.get(pk=nxt).refunded_total == 0

    def test_refund_takes_everything_back(self, setup, make_api):
        tier, product, variant, creator, owner = setup
        bundle = make_bundle(creator, tier, variant)
        fan = UserFactory()
        oid = reserve_bundle(make_api(fan), bundle).json()["id"]
        make_api(fan).post(f"/api/v1/orders/{oid}/sandbox-pay")
        r = make_api(owner).post(f"/api/v1/orders/{oid}/refund", {}, format="json")
        assert r.status_code == 200 and r.json()["status"] == "refunded"
        order = Order.objects.get(pk=oid)
        assert order.refunded_total == Decimal("60.00")
        assert not Ticket.objects.filter(order_line__order=order, status="valid").exists()
        assert credit.balance(fan, creator.pk, "EUR") == 0
        assert Inventory.objects.get(key=f"tier:{tier.pk}").sold == 0
        assert Inventory.objects.get(key=f"variant:{variant.pk}").sold == 0

    def test_refund_is_reduced_by_credit_already_spent_and_says_so(self, setup, make_api, client):
        tier, product, variant, creator, owner = setup
        bundle = make_bundle(creator, tier, variant, credit_amount="30.00")
        fan = UserFactory()
        api = make_api(fan)
        oid = reserve_bundle(api, bundle).json()["id"]
        api.post(f"/api/v1/orders/{oid}/sandbox-pay")
        spent = api.post("/api/v1/orders", {"lines": [{"tier": tier.pk, "quantity": 1}]}, format="json").json()["id"]
        api.post(f"/api/v1/orders/{spent}/checkout")  # 20 of the 30 credit spent
        commerce.refund(oid, actor=SYSTEM)
        order = Order.objects.get(pk=oid)
        assert order.refunded_total == Decimal("40.00")  # 60 paid − 20 of its credit already spent
        assert credit.balance(fan, creator.pk, "EUR") == 0
        assert "20.00 EUR less" in order.note
        client.force_login(fan)
        page = client.get(f"/orders/{oid}/").content.decode()
        assert "20.00 EUR less" in page
        assert CreditEntry.objects.filter(order=order, kind="revoke").get().amount == Decimal("-10.00")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_bundle_buyers_never_oversell_any_part(sandbox):
    tier = TierFactory(quantity=7, price="20.00")
    creator = tier.event.creator
    product = catalog.create_product(creator=creator, name="Print", price="5.00", stock=10, actor=SYSTEM)
    bundle = bundles.create_bundle(creator=creator, name="Pair", price="40.00",
                                   items=[{"tier": tier.pk, "quantity": 2}, {"product": product.pk, "quantity": 1}],
                                   actor=SYSTEM)
    buyers = [UserFactory() for _ in range(8)]
    results, errors = run_together([
        lambda b=b: commerce.reserve(requests=[commerce.LineRequest("bundle", bundle.pk, 1)], buyer=b)
        for b in buyers])
    assert len(results) == 3  # 7 tickets / 2 per bundle
    assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors) and len(errors) == 5
    stock = Hold.objects.select_related("inventory").exclude(inventory__key__startswith="limit:")
    held = {h.inventory.key: 0 for h in stock}
    for h in stock:
        held[h.inventory.key] += h.quantity
    assert held == {f"tier:{tier.pk}": 6, f"variant:{product.variants.get().pk}": 3}


@pytest.mark.django_db
class TestDashboard:
    def test_owner_creates_a_bundle_from_the_dashboard(self, setup, client):
        from events.models import Bundle

        tier, product, variant, creator, owner = setup
        client.force_login(owner)
        page = client.get("/dashboard/bundles/")
        assert page.status_code == 200 and "New bundle" in page.content.decode()
        r = client.post("/dashboard/bundles/", {
            "name": "Front row + shirt", "price": "45.00", "currency": "EUR", "credit": "5.00", "max_per_order": "2",
            "item_0": f"tier:{tier.pk}", "qty_0": "1", "item_1": f"variant:{variant.pk}", "qty_1": "1"})
        assert r.status_code == 302
        bundle = Bundle.objects.get()
        assert (bundle.price, bundle.credit, bundle.items.count()) == (Decimal("45.00"), Decimal("5.00"), 2)
        listing = client.get("/dashboard/bundles/").content.decode()
        assert "Front row + shirt" in listing and "3 left" in listing
        assert "Front row + shirt" in client.get(tier.event.get_absolute_url()).content.decode()
        client.post(f"/dashboard/bundles/{bundle.pk}/toggle/")
        assert not Bundle.objects.get().is_active

    def test_bad_form_input_is_shown_and_changes_nothing(self, setup, client):
        from events.models import Bundle

        tier, product, variant, creator, owner = setup
        client.force_login(owner)
        r = client.post("/dashboard/bundles/", {"name": "", "price": "-3", "currency": "EURO", "max_per_order": "1",
                                                "item_0": "tier:tier_forged", "qty_0": "1"})
        assert r.status_code == 400 and "nothing was saved" in r.content.decode()
        r = client.post("/dashboard/bundles/", {"name": "X", "price": "3", "currency": "USD", "max_per_order": "1",
                                                "item_0": f"tier:{tier.pk}", "qty_0": "1"})
        assert r.status_code == 400 and "currency" in r.content.decode()
        assert not Bundle.objects.exists()

    def test_fans_and_door_staff_cannot_open_it(self, setup, client):
        from microstage.models import Role

        tier, product, variant, creator, owner = setup
        client.force_login(team_member(creator, Role.DOOR))
        assert client.get("/dashboard/bundles/").status_code == 302


@pytest.mark.django_db
def test_cancelling_the_show_refunds_its_bundles(setup, make_api):
    from events.services.events import cancel_event

    tier, product, variant, creator, owner = setup
    bundle = make_bundle(creator, tier, variant)
    fan = UserFactory()
    oid = reserve_bundle(make_api(fan), bundle).json()["id"]
    make_api(fan).post(f"/api/v1/orders/{oid}/sandbox-pay")
    cancel_event(tier.event, reason="Storm.", actor=SYSTEM)
    assert Order.objects.get(pk=oid).status == "refunded"
    assert credit.balance(fan, creator.pk, "EUR") == 0


@pytest.mark.django_db
def test_staff_see_waiting_lists_bundles_and_credit_in_the_admin(setup, make_api, client):
    from events import waitlist

    tier, product, variant, creator, owner = setup
    bundle = make_bundle(creator, tier, variant)
    fan = UserFactory()
    oid = reserve_bundle(make_api(fan), bundle).json()["id"]
    make_api(fan).post(f"/api/v1/orders/{oid}/sandbox-pay")
    small = TierFactory(quantity=1, event=tier.event)
    commerce.sandbox_pay(commerce.reserve(requests=[commerce.LineRequest("ticket", small.pk, 1)],
                                          buyer=UserFactory()).pk)
    entry, _ = waitlist.join(tier_id=small.pk, user=fan)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in ["/admin/events/waitlistentry/", f"/admin/events/waitlistentry/{quote(entry.pk)}/change/",
                "/admin/events/bundle/", f"/admin/events/bundle/{quote(bundle.pk)}/change/",
                "/admin/commerce/creditentry/"]:
        r = client.get(url)
        assert r.status_code == 200, url
    assert fan.email in client.get("/admin/commerce/creditentry/").content.decode()
    r = client.post("/admin/events/waitlistentry/", {"action": "offer_now", "_selected_action": [entry.pk]},
                    follow=True)
    assert "0 offers made" in r.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_checkouts_at_once_cannot_spend_the_same_credit_twice(sandbox):
    tier = TierFactory(quantity=20, price="20.00")
    creator = tier.event.creator
    bundle = bundles.create_bundle(creator=creator, name="Credit pack", price="30.00", credit_amount="30.00",
                                   items=[{"tier": tier.pk, "quantity": 1}], actor=SYSTEM)
    fan = UserFactory()
    first = commerce.reserve(requests=[commerce.LineRequest("bundle", bundle.pk, 1)], buyer=fan)
    commerce.sandbox_pay(first.pk)
    orders = [commerce.reserve(requests=[commerce.LineRequest("ticket", tier.pk, 1)], buyer=fan) for _ in range(4)]
    results, errors = run_together([lambda o=o: commerce.checkout(o.pk) for o in orders])
    assert not errors, errors
    used = sum(Order.objects.get(pk=o.pk).credit_used for o in orders)
    assert used == Decimal("30.00")  # 20 + 10, never more than the balance
    assert credit.balance(fan, creator.pk, "EUR") == 0
