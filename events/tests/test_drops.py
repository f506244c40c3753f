"""Drops: the last items under simultaneous buyers (PostgreSQL), windows, members first, the per-person
limit, start/stop, the shared variant stock, the API and the pages that show live counts.

The websocket tests (Channels communicator and a real client against uvicorn) live in
streaming/tests/test_drop_stock_live.py: events may not import streaming (the layering contract).
"""
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services as commerce
from catalog import services as catalog
from commerce.models import Order
from commerce.models.inventory import Inventory
from commerce.tests.helpers import run_together, taken
from events import selectors
from events.models import DROP_KIND
from events.services import drops as drop_services
from events.models import Drop
from events.tests.factories import EventFactory, TierFactory
from memberships.models import Membership, MembershipPlan
from microstage.errors import Conflict, Invalid, NotFound
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def product_for(creator, stock=25, price="15.00", **kw):
    kw.setdefault("actor", SYSTEM)
    return catalog.create_product(creator=creator, name=kw.pop("name", "Tour poster"), price=Decimal(price),
                                  stock=stock, **kw)


def live_drop(event=None, quantity=5, stock=25, **kw) -> Drop:
    event = event or EventFactory()
    product = kw.pop("product", None) or product_for(event.creator, stock=stock)
    now = timezone.now()
    kw.setdefault("starts_at", now - timedelta(minutes=5))
    kw.setdefault("ends_at", event.ends_at)
    kw.setdefault("actor", SYSTEM)
    return drop_services.create_drop(event, product=product, quantity=quantity, **kw)


def buy(drop, buyer=None, quantity=1, pay=True, variant_prices=None) -> Order:
    order = commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop.pk, quantity)],
                             buyer=buyer or UserFactory(), variant_prices=variant_prices)
    if pay:
        commerce.sandbox_pay(order.pk)
    return order


def refusal(drop, buyer=None, quantity=1) -> str:
    with pytest.raises(Conflict) as exc:
        buy(drop, buyer, quantity, pay=False)
    return exc.value.code


# --- concurrency ---------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_last_items_of_a_drop_under_simultaneous_buyers(monkeypatch):
    drop = live_drop(quantity=10, stock=25)
    buy(drop, quantity=2)  # 2 sold
    buy(drop, quantity=2, pay=False)  # 2 held: 6 left
    original = commerce._lock_and_count

    def slow(totals, now):  # dawdle inside reserve's transaction: widens any race window
        result = original(totals, now)
        time.sleep(0.05)
        return result

    monkeypatch.setattr(commerce, "_lock_and_count", slow)
    buyers = [UserFactory() for _ in range(24)]
    orders, errors = run_together([lambda b=b: buy(drop, b, pay=False) for b in buyers])
    assert len(orders) == 6
    assert len(errors) == 18 and all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
    assert taken(f"drop:{drop.pk}") == 10
    assert drop_services.drop_offer(drop.pk, 1, UserFactory()).pools[f"drop:{drop.pk}"] == 10
    # and every winner can pay: exactly the stock is sold
    for order in orders:
        commerce.sandbox_pay(order.pk)
    assert Inventory.objects.get(key=f"drop:{drop.pk}").sold == 8  # 2 + 6 (the 2 held earlier are unpaid)


@pytest.mark.django_db(transaction=True)
def test_drop_and_shop_share_the_variant_stock_under_a_rush():
    event = EventFactory()
    product = product_for(event.creator, stock=4)
    drop = live_drop(event, quantity=4, product=product)
    variant = product.variants.get()
    buyers = [UserFactory() for _ in range(12)]

    def shop(b):
        return commerce.reserve(requests=[commerce.LineRequest(catalog.PRODUCT_KIND, variant.pk, 1)], buyer=b)

    funcs = [(lambda b=b: buy(drop, b, pay=False)) if i % 2 else (lambda b=b: shop(b)) for i, b in enumerate(buyers)]
    orders, errors = run_together(funcs)
    assert len(orders) == 4 and all(e.code == "sold_out" for e in errors)
    assert taken(f"variant:{variant.pk}") == 4


# --- rules ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_price_is_the_drops_or_the_products():
    drop = live_drop()
    assert buy(drop).total == Decimal("15.00")
    event = EventFactory()
    cheap = live_drop(event, price=Decimal("9.50"))
    assert buy(cheap, quantity=2).total == Decimal("19.00")


@pytest.mark.django_db
def test_windows_and_stop():
    event = EventFactory()
    now = timezone.now()
    later = live_drop(event, starts_at=now + timedelta(hours=1))
    assert refusal(later) == "not_on_sale"
    drop_services.start_drop_now(later, actor=SYSTEM)
    buy(later)
    drop_services.stop_drop(later, actor=SYSTEM)
    assert refusal(later) == "not_on_sale"
    drop_services.start_drop_now(later, actor=SYSTEM)  # started again from the control room
    buy(later)
    past_event = EventFactory(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(minutes=1))
    over = live_drop(past_event, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    assert refusal(over) == "not_on_sale"
    draft = live_drop(EventFactory(status="draft"))
    with pytest.raises(NotFound):
        buy(draft, pay=False)


@pytest.mark.django_db
def test_members_first():
    event = EventFactory()
    plan = MembershipPlan.objects.create(creator=event.creator, name="Fan club", price=Decimal("5.00"),
                                         currency="EUR")
    member = UserFactory()
    Membership.objects.create(plan=plan, creator=event.creator, user=member, status=Membership.Status.ACTIVE,
                              started_at=timezone.now(), current_period_end=timezone.now() + timedelta(days=30))
    now = timezone.now()
    drop = live_drop(event, members_only_until=now + timedelta(minutes=30))
    assert refusal(drop) == "members_only"
    buy(drop, member)
    Drop.objects.filter(pk=drop.pk).update(members_only_until=now - timedelta(seconds=1))
    buy(drop)


@pytest.mark.django_db
def test_per_person_limit_counts_paid_and_open_orders_only():
    drop = live_drop(per_person_limit=2)
    fan = UserFactory()
    assert refusal(drop, fan, 3) == "limit_exceeded"
    buy(drop, fan)
    open_order = buy(drop, fan, pay=False)
    assert refusal(drop, fan) == "limit_exceeded"
    commerce.cancel(open_order.pk, actor=SYSTEM)  # a cancelled order frees the allowance
    paid = buy(drop, fan)
    assert refusal(drop, fan) == "limit_exceeded"
    commerce.refund(paid.pk, actor=SYSTEM)  # and so does a refund, which also gives the item back
    buy(drop, fan)
    assert refusal(drop, UserFactory(), 3) == "limit_exceeded"


@pytest.mark.django_db
def test_sold_out_and_refund_gives_the_item_back():
    drop = live_drop(quantity=2)
    order = buy(drop, quantity=2)
    assert refusal(drop) == "sold_out"
    commerce.refund(order.pk, actor=SYSTEM)
    buy(drop)


@pytest.mark.django_db
def test_create_drop_checks():
    event = EventFactory()
    mine = product_for(event.creator, stock=3)
    theirs = product_for(CreatorFactory())
    now = timezone.now()
    ok = {"starts_at": now, "ends_at": event.ends_at}
    with pytest.raises(NotFound):
        drop_services.create_drop(event, product=theirs, quantity=1, actor=SYSTEM, **ok)
    with pytest.raises(Invalid) as exc:
        drop_services.create_drop(event, product=mine, quantity=4, actor=SYSTEM, **ok)  # more than the stock left
    assert "quantity" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        drop_services.create_drop(event, product=mine, quantity=1, starts_at=now - timedelta(days=2),
                             ends_at=now - timedelta(days=1), actor=SYSTEM)  # outside the event
    assert "starts_at" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        drop_services.create_drop(event, product=mine, quantity=1,
                                  members_only_until=event.ends_at + timedelta(hours=1), actor=SYSTEM, **ok)
    assert "members_only_until" in exc.value.fields
    with pytest.raises(Invalid):
        drop_services.create_drop(event, product=mine, quantity=1, starts_at=event.ends_at, ends_at=event.starts_at,
                                  actor=SYSTEM)
    with pytest.raises(Invalid):
        drop_services.create_drop(event, product=mine, quantity=1, price=Decimal("-1"), actor=SYSTEM, **ok)
    multi = catalog.create_product(creator=event.creator, name="Shirt", price=Decimal("20"),
                                   variants=[{"name": "S", "stock": 2}, {"name": "M", "stock": 2}], actor=SYSTEM)
    with pytest.raises(Invalid) as exc:
        drop_services.create_drop(event, product=multi, quantity=1, actor=SYSTEM, **ok)
    assert "variant" in exc.value.fields
    drop = drop_services.create_drop(event, product=multi, variant=multi.variants.get(name="M").pk, quantity=2,
                                     actor=SYSTEM, **ok)
    buy(drop, quantity=2)
    with pytest.raises(Invalid):
        drop_services.update_drop(drop, quantity=1, actor=SYSTEM)  # below what is sold
    with pytest.raises(NotFound):
        drop_services.create_drop(event, product=mine, quantity=1, actor=UserFactory(), **ok)


# --- API -----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_api_creates_a_drop_and_the_event_shows_it(make_api, api):
    event = EventFactory()
    owner = team_member(event.creator, Role.OWNER)
    product = product_for(event.creator, stock=30)
    now = timezone.now()
    body = {"product": product.pk, "quantity": 20, "price": "12.00", "starts_at": (now - timedelta(minutes=1))
            .isoformat(), "ends_at": event.ends_at.isoformat()}
    r = make_api(owner).post(f"/api/v1/events/{event.pk}/drops", body, format="json")
    assert r.status_code == 201, r.content
    drop = r.json()
    assert drop["id"].startswith("drp_") and drop["available"] == 20 and drop["on_sale"] is True
    assert drop["price"] == "12.00" and drop["product"] == product.pk
    r = make_api(UserFactory()).post("/api/v1/orders", {"lines": [{"drop": drop["id"], "quantity": 2}]},
                                     format="json")
    assert r.status_code == 201, r.content
    assert r.json()["total"] == "24.00" and r.json()["lines"][0]["drop"] == drop["id"]
    [shown] = api.get(f"/api/v1/events/{event.pk}").json()["drops"]
    assert {k: shown[k] for k in ("id", "name", "price", "currency", "available", "on_sale")} == {
        "id": drop["id"], "name": "Tour poster", "price": "12.00", "currency": "EUR", "available": 18,
        "on_sale": True}
    assert "starts_at" in shown and "ends_at" in shown


@pytest.mark.django_db
def test_api_drop_errors(make_api):
    event = EventFactory()
    owner = team_member(event.creator, Role.OWNER)
    product = product_for(event.creator, stock=3)
    now = timezone.now()
    base = {"product": product.pk, "quantity": 2, "starts_at": now.isoformat(), "ends_at": event.ends_at.isoformat()}
    client = make_api(owner)
    url = f"/api/v1/events/{event.pk}/drops"
    assert client.post(url, {**base, "quantity": 0}, format="json").status_code == 400
    assert client.post(url, {**base, "quantity": 99}, format="json").status_code == 400
    assert client.post(url, {**base, "price": "-1"}, format="json").status_code == 400
    assert client.post(url, {**base, "starts_at": "yesterday"}, format="json").status_code == 400
    other = product_for(CreatorFactory())
    assert client.post(url, {**base, "product": other.pk}, format="json").status_code == 404
    assert make_api(UserFactory()).post(url, base, format="json").status_code == 404
    door = team_member(event.creator, Role.DOOR)
    assert make_api(door).post(url, base, format="json").status_code == 403
    drop = live_drop(event, quantity=1, product=product)
    buy(drop)
    r = make_api(UserFactory()).post("/api/v1/orders", {"lines": [{"drop": drop.pk, "quantity": 1}]},
                                     format="json")
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    assert not Drop.objects.exclude(pk=drop.pk).exists()


# --- pages ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_landing_page_shows_the_drops_panel_with_live_counts(client):
    event = EventFactory()
    TierFactory(event=event)
    drop = live_drop(event, quantity=3)
    gone = live_drop(event, quantity=1, product=product_for(event.creator, name="Vinyl", stock=1))
    buy(gone)
    later = live_drop(event, quantity=2, product=product_for(event.creator, name="Tote", stock=5),
                      starts_at=timezone.now() + timedelta(hours=2))
    html = client.get(event.get_absolute_url()).content.decode()
    assert 'id="drops"' in html and f'id="avail-{drop.pk}"' in html and "3 left" in html
    assert "Sold out" in html and "Drops " in html and later.product.name in html
    user = UserFactory()
    client.force_login(user)
    r = client.post(f"/e/{event.slug}/drops/{drop.pk}/reserve/", {"quantity": "1"})
    assert r.status_code == 302 and r["Location"].startswith("/orders/")
    r = client.post(f"/e/{event.slug}/drops/{gone.pk}/reserve/", {"quantity": "1", "next": event.get_absolute_url()})
    assert r.status_code == 302 and r["Location"] == event.get_absolute_url()


@pytest.mark.django_db
def test_dashboard_drop_section_and_form(client):
    event = EventFactory()
    owner = team_member(event.creator, Role.OWNER)
    product = product_for(event.creator, stock=10)
    client.force_login(owner)
    page = client.get(f"/dashboard/events/{event.pk}/").content.decode()
    assert "Add a drop" in page
    local = event.starts_at.astimezone(event.tz)
    r = client.post(f"/dashboard/events/{event.pk}/drops/new/", {
        "item": f"{product.pk}:{product.variants.get().pk}", "quantity": "6", "price": "",
        "starts_at": local.strftime("%Y-%m-%dT%H:%M"), "ends_at": (local + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"), "per_person_limit": "2"})
    assert r.status_code == 302, r.content.decode()[:3000]
    drop = Drop.objects.get(event=event)
    assert drop.quantity == 6 and drop.starts_at == event.starts_at.replace(second=0, microsecond=0)
    page = client.get(f"/dashboard/events/{event.pk}/").content.decode()
    assert "Tour poster" in page and "0 sold of 6" in page
    r = client.post(f"/dashboard/events/{event.pk}/drops/{drop.pk}/", {
        "item": f"{product.pk}:{product.variants.get().pk}", "quantity": "60", "starts_at": local.strftime(
            "%Y-%m-%dT%H:%M"), "ends_at": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "per_person_limit": "2"})
    assert r.status_code == 400 and "left" in r.content.decode()
    r = client.post(f"/dashboard/events/{event.pk}/drops/{drop.pk}/start/")
    assert r.status_code == 302
    drop.refresh_from_db()
    assert selectors.drop_state(drop) == "live"
    client.post(f"/dashboard/events/{event.pk}/drops/{drop.pk}/stop/")
    drop.refresh_from_db()
    assert selectors.drop_state(drop) == "ended"
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(f"/dashboard/events/{event.pk}/drops/new/").status_code == 404


@pytest.mark.django_db
def test_demo_data_has_a_live_drop_of_tour_posters():
    import io

    from django.core.management import call_command

    from events.demo import DEMO_EVENT_SLUG
    from events.selectors import drops_with_availability
    from events.models import Event

    call_command("demo", stdout=io.StringIO())
    call_command("demo", stdout=io.StringIO())  # twice: nothing doubles
    event = Event.objects.get(slug=DEMO_EVENT_SLUG)
    [drop] = drops_with_availability(event)
    assert drop.is_on_sale and drop.available == 25 and drop.name == "Tour poster (signed)"


@pytest.mark.django_db(transaction=True)
def test_one_buyer_racing_two_orders_cannot_pass_the_per_person_limit(settings):
    """The limit is counted before reserve's locks; the personal pool makes it hold under them too."""
    from commerce import services as commerce
    from commerce.tests.helpers import run_together
    from events.models import DROP_KIND
    from microstage.errors import Conflict

    settings.PAYMENTS_PROVIDER = "sandbox"
    drop = _drop_for_limit_race()
    buyer = UserFactory()

    def buy_two():
        return commerce.reserve(requests=[commerce.LineRequest(DROP_KIND, drop.pk, 2)], buyer=buyer)

    results, errors = run_together([buy_two] * 4)
    assert len(results) == 1  # per_person_limit is 2
    assert all(isinstance(e, Conflict) and e.code in ("limit_exceeded", "sold_out") for e in errors)


def _drop_for_limit_race():
    from datetime import timedelta

    from django.utils import timezone

    from catalog.services import create_product
    from events.services.drops import create_drop
    from events.tests.factories import EventFactory

    event = EventFactory()
    product = create_product(creator=event.creator, name="Poster", price="10.00", stock=50, actor=SYSTEM)
    now = timezone.now()
    return create_drop(event, product=product, quantity=50, starts_at=now - timedelta(minutes=1),
                       ends_at=event.ends_at + timedelta(hours=1), per_person_limit=2, actor=SYSTEM)
