"""Experiments: deterministic weighted assignment, the variant's price shown and sold, results per variant."""
import math
from collections import Counter
from decimal import Decimal

import pytest
from django.test import Client

from analytics import selectors, services
from analytics.middleware import COOKIE
from analytics.models import Experiment, PageView, Visitor
from analytics.tasks import flush_page_views
from groupbuys import services as groupbuys
from commerce.models import Order
from groupbuys.tests.groupbuy_helpers import group_buy, past_deadline
from events.services import drops as drop_services
from events.tests.test_drops import buy, live_drop
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db

VARIANTS = [{"key": "a", "price": "15.00", "weight": 70}, {"key": "b", "price": "9.50", "weight": 30}]


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def prices_of(visitor_id) -> dict:
    """This visitor's experiment prices, as the middleware puts them on their requests (request.variant_prices)."""
    return services.variant_prices(services.variants_for(visitor_id))


def visitor_with(exp, key: str) -> str:
    """A synthetic visitor id that the experiment assigns to `key`."""
    for i in range(10_000):
        vid = f"v_synthetic{i:013d}"
        if services.assign(exp.pk, vid, exp.variants)["key"] == key:
            return vid
    raise AssertionError("no visitor found")


def drop_experiment(drop):
    return services.create_experiment(creator=drop.event.creator, name="Poster price", target="drop",
                                      target_id=drop.pk, variants=VARIANTS, actor=SYSTEM)


def test_assignment_is_deterministic_and_respects_weights():
    exp = drop_experiment(live_drop())
    keys = [services.assign(exp.pk, f"v_{i:024d}", exp.variants)["key"] for i in range(2000)]
    again = [services.assign(exp.pk, f"v_{i:024d}", exp.variants)["key"] for i in range(2000)]
    assert keys == again
    share = Counter(keys)["a"] / 2000
    assert abs(share - 0.70) < 0.04  # 70/30 weights (±4 points: > 3.9 standard errors)


def test_variant_price_shown_and_sold_and_recorded_on_the_page_view():
    drop = live_drop()
    exp = drop_experiment(drop)
    cheap = visitor_with(exp, "b")
    client = Client()
    client.cookies[COOKIE] = cheap
    page = client.get(drop.event.get_absolute_url())
    assert page.status_code == 200 and b"9.50" in page.content
    flush_page_views.apply().get()  # page views are buffered; the beat task writes them
    assert PageView.objects.get().variant == f"{exp.pk}:b"
    assert drop_services.drop_offer(drop.pk, 1, UserFactory(), variant_prices=prices_of(cheap)).unit_price \
        == Decimal("9.50")
    order = buy(drop, variant_prices=prices_of(cheap))
    assert order.lines.get().unit_price == Decimal("9.50")
    assert Order.objects.get(pk=order.pk).total == Decimal("9.50")
    assert buy(drop, variant_prices=prices_of(visitor_with(exp, "a"))).total == Decimal("15.00")
    assert buy(drop).total == Decimal("15.00")  # no variant prices: the drop's own price
    services.stop_experiment(exp, actor=SYSTEM)
    assert buy(drop, variant_prices=prices_of(cheap)).total == Decimal("15.00")  # stopped: the normal price


def test_the_same_reserve_prices_the_same_from_a_view_a_task_and_a_test():
    """The variant is an argument, never read from a request: a view passes the visitor's prices on, and a
    task or a test gets exactly what it passes (the list price when it passes none)."""
    from microstage.celery import app as celery_app

    drop = live_drop(quantity=10)
    exp = drop_experiment(drop)
    cheap = visitor_with(exp, "b")
    client = Client()
    client.cookies[COOKIE] = cheap
    buyer = UserFactory()
    client.force_login(buyer)
    response = client.post(f"/e/{drop.event.slug}/drops/{drop.pk}/reserve/", {"quantity": "1"})
    assert response.status_code == 302
    assert Order.objects.get(buyer=buyer).total == Decimal("9.50")  # from a view: the visitor's variant

    assert buy(drop, pay=False, variant_prices=prices_of(cheap)).total == Decimal("9.50")  # from a test
    assert buy(drop, pay=False).total == Decimal("15.00")

    @celery_app.task(name="analytics.tests.reserve_drop")
    def reserve_drop(drop_id, visitor_id=None):
        drop_ = drop.__class__.objects.get(pk=drop_id)
        return str(buy(drop_, pay=False, variant_prices=prices_of(visitor_id) if visitor_id else None).total)

    assert reserve_drop.apply(args=[drop.pk]).get() == "15.00"  # from a task: no variant, the list price
    assert reserve_drop.apply(args=[drop.pk, cheap]).get() == "9.50"
    celery_app.tasks.unregister("analytics.tests.reserve_drop")


def test_prices_never_come_from_request_state():
    from analytics import middleware
    from microstage import overrides

    assert not hasattr(middleware, "current_request")
    assert not hasattr(overrides, "register")
    prices = {("drop", "drp_1"): Decimal("9.50")}
    assert overrides.price("drop", "drp_1", Decimal("15.00")) == Decimal("15.00")
    assert overrides.price("drop", "drp_1", Decimal("15.00"), prices) == Decimal("9.50")
    assert overrides.price("group_buy", "drp_1", Decimal("15.00"), prices) == Decimal("15.00")


def test_opted_out_visitors_get_the_normal_price_and_are_not_counted():
    drop = live_drop(price=Decimal("15.00"))
    exp = drop_experiment(drop)
    client = Client(HTTP_DNT="1")
    client.cookies[COOKIE] = visitor_with(exp, "b")
    page = client.get(drop.event.get_absolute_url())
    flush_page_views.apply().get()
    assert b"9.50" not in page.content and PageView.objects.count() == 0


def test_group_buy_offer_price_is_authorised_and_caps_the_group_price():
    gb = group_buy(price="10.00", tiers=[{"min_quantity": 1, "price": "8.00"}])
    exp = services.create_experiment(creator=gb.creator, name="Offer", target="group_buy", target_id=gb.pk,
                                     variants=[{"key": "a", "price": "10.00", "weight": 1},
                                               {"key": "b", "price": "6.00", "weight": 1}], actor=SYSTEM)
    low, high = UserFactory(), UserFactory()
    p_low = groupbuys.join(group_buy_id=gb.pk, user=low, quantity=2, variant_prices=prices_of(visitor_with(exp, "b")))
    p_high = groupbuys.join(group_buy_id=gb.pk, user=high, quantity=1,
                            variant_prices=prices_of(visitor_with(exp, "a")))
    assert p_low.order.total == Decimal("12.00") and p_high.order.total == Decimal("10.00")
    past_deadline(gb)
    groupbuys.settle(gb.pk)
    assert Order.objects.get(pk=p_low.order.pk).total == Decimal("12.00")  # 2 × min(8.00, 6.00)
    assert Order.objects.get(pk=p_high.order.pk).total == Decimal("8.00")


def test_group_buy_offer_above_list_price_refused():
    gb = group_buy(price="10.00")
    with pytest.raises(Exception) as exc:
        services.create_experiment(creator=gb.creator, name="x", target="group_buy", target_id=gb.pk,
                                   variants=[{"key": "a", "price": "11.00", "weight": 1},
                                             {"key": "b", "price": "9.00", "weight": 1}], actor=SYSTEM)
    assert "at most" in str(exc.value.detail)


def _wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def test_results_per_variant_exact():
    drop = live_drop(quantity=50, stock=60, per_person_limit=5)
    exp = drop_experiment(drop)
    seen = {"a": [], "b": []}
    for key, n in (("a", 4), ("b", 3)):
        for i in range(200):
            vid = f"v_res{key}{i:019d}"
            if services.assign(exp.pk, vid, exp.variants)["key"] == key:
                seen[key].append(vid)
            if len(seen[key]) == n:
                break
    for key, vids in seen.items():
        for vid in vids:
            Visitor.objects.create(pk=vid)
            PageView.objects.create(visitor_id=vid, page="event", event_id=drop.event_id, variant=f"{exp.pk}:{key}")
    # a: 1 of 4 buys 2 posters at 15.00 and 1 more later (two orders); b: 2 of 3 buy one each at 9.50
    buyers = {}
    for key, vid, qty_orders in (("a", seen["a"][0], [2, 1]), ("b", seen["b"][0], [1]), ("b", seen["b"][1], [1])):
        user = UserFactory()
        services.link_visitor(vid, user)
        buyers[vid] = user
        for q in qty_orders:
            buy(drop, buyer=user, quantity=q, variant_prices=prices_of(vid))
    buy(drop, pay=False, variant_prices=prices_of(seen["b"][2]))  # a reservation never paid is no conversion
    buy(drop)  # a buyer who was never a visitor of the experiment
    res = {r["key"]: r for r in selectors.experiment_results(exp)}
    assert (res["a"]["visitors"], res["a"]["sample_size"], res["a"]["conversions"]) == (4, 4, 1)
    assert res["a"]["revenue"] == Decimal("45.00") and res["a"]["revenue_per_visitor"] == Decimal("11.25")
    assert (res["b"]["visitors"], res["b"]["conversions"]) == (3, 2)
    assert res["b"]["revenue"] == Decimal("19.00") and res["b"]["revenue_per_visitor"] == Decimal("6.33")
    assert res["a"]["conversion_rate"] == 0.25
    lo, hi = _wilson(1, 4)
    assert res["a"]["ci_low"] == pytest.approx(lo) and res["a"]["ci_high"] == pytest.approx(hi)
    assert res["a"]["ci_low"] == pytest.approx(0.04559, abs=1e-4)
    assert res["a"]["ci_high"] == pytest.approx(0.69936, abs=1e-4)
    lo, hi = _wilson(2, 3)
    assert res["b"]["ci_low"] == pytest.approx(lo) and res["b"]["ci_high"] == pytest.approx(hi)


def test_results_without_visitors():
    exp = drop_experiment(live_drop())
    for r in selectors.experiment_results(exp):
        assert (r["visitors"], r["conversions"], r["conversion_rate"], r["ci_low"], r["revenue_per_visitor"]) == \
            (0, 0, None, None, None)


def test_dashboard_create_see_and_stop():
    drop = live_drop()
    client = Client()
    client.force_login(team_member(drop.event.creator, Role.OWNER))
    page = client.get("/dashboard/experiments/")
    assert page.status_code == 200
    response = client.post("/dashboard/experiments/", {"name": "Poster", "item": f"drop:{drop.pk}",
                                                       "variants": "a 15.00 50\nb 12.00 50"})
    assert response.status_code == 302
    exp = Experiment.objects.get()
    assert exp.variants == [{"key": "a", "price": "15.00", "weight": 50}, {"key": "b", "price": "12.00", "weight": 50}]
    page = client.get("/dashboard/experiments/")
    assert b"Poster" in page.content and b"Visitors (sample size)" in page.content
    assert client.post(f"/dashboard/experiments/{exp.pk}/stop/").status_code == 302
    assert Experiment.objects.get().status == "stopped"
    other = Client()
    other.force_login(team_member(live_drop().event.creator, Role.OWNER))
    assert other.post(f"/dashboard/experiments/{exp.pk}/stop/").status_code == 404
