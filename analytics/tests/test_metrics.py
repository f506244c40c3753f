"""Every metric against synthetic data with exact expected numbers (analytics.selectors, `# --- metrics`)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.selectors import creator_metrics, event_metrics
from commerce.models import Order
from groupbuys.models import GroupBuy, GroupBuyParticipant
from fulfilment.models import FulfilmentCost
from events.tests.factories import EventFactory, TierFactory
from memberships.models import Membership, MembershipPlan
from microstage.tests.factories import CreatorFactory, UserFactory

from .metrics_data import T0, at, order, product, show, tickets, view, visitor

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=1)


# --- event ------------------------------------------------------------------------------------------

@pytest.fixture
def data():
    return show()


def test_views_orders_revenue_and_tickets(data):
    m = event_metrics(data["event"], now=NOW)
    assert m["page_views"] == 8
    assert m["unique_visitors"] == 5
    assert m["orders"] == 7  # paid + partially refunded; the fully refunded and the reserved ones do not count
    assert m["tickets_sold"] == 4
    assert m["revenue"] == Decimal("145.00")  # net of the partial (20) and full (20, 15) refunds
    assert m["currency"] == "EUR"
    assert m["funnel"] == {"page_views": 8, "holds": 10, "orders": 7}


def test_conversion_latency(data):
    latency = event_metrics(data["event"], now=NOW)["conversion_latency_seconds"]
    # samples 300, 840, 900, 3660, 10900: o3 paid before its only view and o8's buyer was never seen
    assert latency["samples"] == 5
    assert latency["median"] == 900.0
    assert latency["p90"] == 8004.0  # 3660 + 0.6 × (10900 − 3660)
    assert [b["count"] for b in latency["histogram"]] == [0, 0, 2, 1, 2, 0, 0, 0]


def test_live_minutes_viewers_chat(data):
    m = event_metrics(data["event"], now=NOW)
    assert m["live_minutes"] == 60.0  # 3000 s recorded + 600 s from created → finished; the upload is not live
    assert m["revenue_per_live_minute"] == Decimal("2.42")  # 145 / 60
    assert m["peak_viewers"] == 42
    assert m["chat_messages"] == 2  # the deleted message does not count
    assert [(c["at"], c["minutes"], c["messages"]) for c in m["chat_over_time"]] == [(T0, 5, 2)]


def test_live_recording_still_running_counts_until_now(data):
    stream = data["event"].stream
    from streaming.models import Recording

    rec = Recording.objects.create(stream=stream, source=Recording.Source.LIVE)
    Recording.objects.filter(pk=rec.pk).update(created_at=NOW - timedelta(minutes=30))
    assert event_metrics(data["event"], now=NOW)["live_minutes"] == 90.0


def test_revenue_over_time_buckets(data):
    rows = event_metrics(data["event"], now=NOW)["revenue_over_time"]
    assert [(r["at"], r["minutes"], r["revenue"], r["orders"]) for r in rows] == [
        (at(-3600), 60, Decimal("40.00"), 1),    # before the show: hourly
        (at(0), 5, Decimal("45.00"), 2),         # during: 5-minute buckets from the start
        (at(300), 5, Decimal("20.00"), 1),
        (at(3600), 5, Decimal("20.00"), 2),      # 20 + the fully refunded 0
        (at(3900), 5, Decimal("15.00"), 2),
        (at(10800), 60, Decimal("5.00"), 1),     # the tip after the show: hourly again
    ]


def test_drops_and_group_buys(data):
    m = event_metrics(data["event"], now=NOW)
    drops = {d["id"]: d for d in m["drops"]}
    assert drops[data["drop"].pk]["sold"] == 3
    assert drops[data["drop"].pk]["sell_through_seconds"] == 180.0  # first sale at +60, last unit at +240
    assert drops[data["slow_drop"].pk]["sold"] == 1  # the refunded unit is back on sale
    assert drops[data["slow_drop"].pk]["sell_through_seconds"] is None
    assert [(g["id"], g["committed_quantity"], g["status"]) for g in m["group_buys"]] == [
        (data["gb"].pk, 4, GroupBuy.Status.OPEN)]


def test_sold_out_drop_with_refund_is_no_longer_sold_out(data):
    o7 = data["orders"][6]
    o7.lines.update(refunded_quantity=1)
    Order.objects.filter(pk=o7.pk).update(status=Order.Status.REFUNDED, refunded_total=Decimal("15.00"))
    drop = next(d for d in event_metrics(data["event"], now=NOW)["drops"] if d["id"] == data["drop"].pk)
    assert (drop["sold"], drop["sell_through_seconds"]) == (2, None)


def test_api_fields_present(data):
    m = event_metrics(data["event"], now=NOW)
    assert {"page_views", "unique_visitors", "orders", "tickets_sold", "revenue", "currency",
            "conversion_latency_seconds", "live_minutes", "revenue_per_live_minute", "peak_viewers",
            "chat_messages", "drops", "group_buys", "funnel", "revenue_over_time"} <= set(m)


def test_no_views_no_orders():
    event = EventFactory(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    TierFactory(event=event, currency="EUR")
    m = event_metrics(event, now=NOW)
    assert (m["page_views"], m["unique_visitors"], m["orders"], m["tickets_sold"]) == (0, 0, 0, 0)
    assert m["revenue"] == Decimal("0.00")
    assert m["conversion_latency_seconds"] == {"median": None, "p90": None, "samples": 0, "histogram": []}
    assert m["live_minutes"] == 0
    assert m["revenue_per_live_minute"] is None
    assert (m["peak_viewers"], m["chat_messages"], m["drops"], m["group_buys"]) == (0, 0, [], [])
    assert m["funnel"] == {"page_views": 0, "holds": 0, "orders": 0}
    assert m["revenue_over_time"] == []


def test_views_without_orders():
    event = EventFactory(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    v = visitor(UserFactory())
    for s in (0, 60, 120):
        view(v, event.pk, at(s))
    view(visitor(), event.pk, at(5))
    m = event_metrics(event, now=NOW)
    assert (m["page_views"], m["unique_visitors"], m["orders"]) == (4, 2, 0)
    assert m["conversion_latency_seconds"]["median"] is None
    assert m["conversion_latency_seconds"]["p90"] is None
    assert m["funnel"] == {"page_views": 4, "holds": 0, "orders": 0}


def test_orders_before_any_tracked_view_give_no_sample():
    event = EventFactory(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    tier = TierFactory(event=event)
    buyer = UserFactory()
    order(event.creator, buyer, [("ticket", tier.pk, 1, "20.00", 0)], paid_at=at(0))
    view(visitor(buyer), event.pk, at(10))
    m = event_metrics(event, now=NOW)
    assert m["orders"] == 1
    assert m["conversion_latency_seconds"]["samples"] == 0
    assert m["conversion_latency_seconds"]["median"] is None


def test_single_sample_median_and_p90_equal_it():
    event = EventFactory(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    tier = TierFactory(event=event)
    buyer = UserFactory()
    view(visitor(buyer), event.pk, at(-125))
    order(event.creator, buyer, [("ticket", tier.pk, 1, "20.00", 0)], paid_at=at(0))
    latency = event_metrics(event, now=NOW)["conversion_latency_seconds"]
    assert (latency["samples"], latency["median"], latency["p90"]) == (1, 125.0, 125.0)


def test_full_and_partial_refunds_of_everything():
    event = EventFactory(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    tier = TierFactory(event=event)
    o = order(event.creator, UserFactory(), [("ticket", tier.pk, 3, "10.00", 3)], paid_at=at(0),
              status=Order.Status.REFUNDED, refunded_total="30.00")
    tickets(o, void=3)
    p = order(event.creator, UserFactory(), [("ticket", tier.pk, 3, "10.00", 2)], paid_at=at(10),
              status=Order.Status.PARTIALLY_REFUNDED, refunded_total="20.00")
    tickets(p, void=2)
    m = event_metrics(event, now=NOW)
    assert (m["orders"], m["tickets_sold"], m["revenue"]) == (1, 1, Decimal("10.00"))


# --- creator ----------------------------------------------------------------------------------------

CNOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _attend(creator, event, user, when):
    tier = event.tiers.first() or TierFactory(event=event)
    o = order(creator, user, [("ticket", tier.pk, 1, "10.00", 0)], paid_at=when - timedelta(days=1))
    tickets(o, checked_in_at=when)
    return o


@pytest.fixture
def fans():
    creator = CreatorFactory()
    e1, e2, e3 = (EventFactory(creator=creator, starts_at=d, ends_at=d + timedelta(hours=2))
                  for d in (datetime(2026, 4, 10, 19, tzinfo=UTC), datetime(2026, 5, 10, 19, tzinfo=UTC),
                            datetime(2026, 6, 5, 19, tzinfo=UTC)))
    old = EventFactory(creator=creator, starts_at=datetime(2026, 1, 10, 19, tzinfo=UTC),
                       ends_at=datetime(2026, 1, 10, 21, tzinfo=UTC))
    elsewhere = EventFactory(starts_at=datetime(2026, 5, 1, 19, tzinfo=UTC),
                             ends_at=datetime(2026, 5, 1, 21, tzinfo=UTC))
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "harry"]
    u = {n: UserFactory(email=f"{n}@example.com") for n in names}
    when = {e: e.starts_at + timedelta(minutes=30) for e in (e1, e2, e3, old, elsewhere)}
    _attend(creator, e1, u["alice"], when[e1])
    _attend(creator, e1, u["alice"], when[e1] + timedelta(minutes=1))   # a second ticket, same show
    _attend(creator, e2, u["alice"], when[e2])
    _attend(creator, e3, u["bob"], when[e3])
    _attend(creator, e1, u["carol"], when[e1])
    _attend(creator, e3, u["carol"], when[e3])
    _attend(creator, e2, u["dave"], when[e2])
    _attend(creator, old, u["erin"], when[old])                       # first attendance before the window
    _attend(creator, e2, u["erin"], when[e2])
    _attend(elsewhere.creator, elsewhere, u["dave"], when[elsewhere])  # another creator's show
    no_show = order(creator, u["frank"], [("ticket", TierFactory(event=e1).pk, 1, "10.00", 0)],
                    paid_at=when[e1] - timedelta(days=2))
    tickets(no_show)  # bought, never checked in: not an attendee
    monthly = MembershipPlan.objects.create(creator=creator, name="Fan", price=Decimal("5.00"), currency="EUR")
    yearly = MembershipPlan.objects.create(creator=creator, name="Patron", price=Decimal("60.00"), currency="EUR",
                                           interval=MembershipPlan.Interval.YEAR)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for name, plan, status in (("alice", monthly, Membership.Status.ACTIVE), ("bob", monthly, Membership.Status.ACTIVE),
                               ("gina", yearly, Membership.Status.ACTIVE), ("harry", monthly, Membership.Status.ENDED)):
        Membership.objects.create(plan=plan, creator=creator, user=u[name], status=status, started_at=start,
                                  ended_at=start + timedelta(days=20) if status == Membership.Status.ENDED else None)
    return {"creator": creator, "users": u, "events": (e1, e2, e3)}


def test_creator_attendance_and_repeat_rates(fans):
    m = creator_metrics(fans["creator"], days=90, now=CNOW)
    assert m["attendees"] == 5                      # alice bob carol dave erin (frank never came in)
    assert m["repeat_attendee_rate"] == 0.4         # alice, carol
    assert m["member_count"] == 3                   # alice bob gina (harry's membership ended)
    assert m["member_repeat_rate"] == 0.5           # alice of alice, bob
    assert m["non_member_repeat_rate"] == 0.3333    # carol of carol, dave, erin


def test_creator_cohorts(fans):
    m = creator_metrics(fans["creator"], days=90, now=CNOW)
    assert [(c["month"], c["size"], c["returning"]) for c in m["cohorts"]] == [
        ("2026-04", 2, [1, 1]),   # alice (back in May), carol (back in June)
        ("2026-05", 1, [0]),      # dave; erin's first show was in January, before the window
        ("2026-06", 1, []),       # bob
    ]


def test_creator_revenue_orders_mrr(fans):
    creator = fans["creator"]
    m = creator_metrics(creator, days=90, now=CNOW)
    # 9 paid ticket orders of 10.00 in the window (alice 3, carol 2, bob, dave, erin, frank); erin's January
    # one is out of it and dave's ticket for another creator's show is not this creator's
    assert (m["orders"], m["revenue"], m["currency"]) == (9, Decimal("90.00"), "EUR")
    assert m["mrr"] == {"EUR": Decimal("15.00")}    # 5 + 5 + 60 / 12
    assert creator_metrics(creator, days=30, now=CNOW)["orders"] == 2  # bob and carol, paid June 4


def test_creator_refunds_and_fulfilment_cost(fans):
    creator = CreatorFactory()
    buyer = UserFactory()
    shirt = product(creator)
    gb = GroupBuy.objects.create(creator=creator, product=shirt, deadline=CNOW, currency="EUR",
                                 committed_quantity=2, status=GroupBuy.Status.SETTLED)
    paid = CNOW - timedelta(days=5)
    g1 = order(creator, buyer, [("group_buy", gb.pk, 1, "24.00", 0)], paid_at=paid)
    g2 = order(creator, UserFactory(), [("group_buy", gb.pk, 1, "24.00", 0)], paid_at=paid)
    for o in (g1, g2):
        GroupBuyParticipant.objects.create(group_buy=gb, user=o.buyer, quantity=1, order=o,
                                           status=GroupBuyParticipant.Status.CAPTURED)
    p1 = order(creator, buyer, [("product", shirt.pk, 1, "50.00", 0)], paid_at=paid)
    p2 = order(creator, buyer, [("product", shirt.pk, 2, "15.00", 1)], paid_at=paid,
               status=Order.Status.PARTIALLY_REFUNDED, refunded_total="10.00")
    order(creator, buyer, [("product", shirt.pk, 1, "20.00", 1)], paid_at=paid, status=Order.Status.REFUNDED,
          refunded_total="20.00")
    order(creator, buyer, [("product", shirt.pk, 1, "100.00", 0)], paid_at=CNOW - timedelta(days=120))
    order(creator, buyer, [("product", shirt.pk, 1, "100.00", 0)], status=Order.Status.RESERVED)
    for o, amount in ((g1, "5.00"), (g1, "1.00"), (g2, "4.00"), (p1, "7.50"), (p2, "3.50")):
        FulfilmentCost.objects.create(order=o, kind=FulfilmentCost.Kind.POSTAGE, amount=Decimal(amount),
                                      currency="EUR")
    m = creator_metrics(creator, days=90, now=CNOW)
    assert m["revenue"] == Decimal("118.00")  # 24 + 24 + 50 + (30 − 10) + (20 − 20)
    assert m["orders"] == 4
    assert m["fulfilment_cost_per_order"] == {"group_buy": Decimal("5.00"), "single": Decimal("5.50")}
    assert (m["attendees"], m["repeat_attendee_rate"], m["member_repeat_rate"]) == (0, None, None)
    assert m["cohorts"] == []
    assert m["mrr"] == {}


def test_creator_without_anything():
    m = creator_metrics(CreatorFactory(), days=90, now=CNOW)
    assert (m["revenue"], m["orders"], m["attendees"], m["member_count"]) == (Decimal("0.00"), 0, 0, 0)
    assert m["fulfilment_cost_per_order"] == {"group_buy": None, "single": None}
    assert m["non_member_repeat_rate"] is None


def test_average_viewers_is_the_mean_of_the_live_samples():
    from unittest import mock

    from analytics import services
    from analytics.models import TelemetrySample
    from analytics.selectors import event_metrics
    from events.tests.factories import EventFactory
    from streaming.models import LiveStream

    event = EventFactory()
    assert event_metrics(event)["average_viewers"] is None  # nothing sampled yet
    LiveStream.objects.create(event=event, status=LiveStream.Status.LIVE)
    for count in (10, 20, 40):
        with mock.patch("analytics.services.viewer_count", return_value=count):
            assert services.sample_viewers() == 1
    assert TelemetrySample.objects.filter(event_id=event.pk, kind="viewers").count() == 3
    assert event_metrics(event)["average_viewers"] == 23.3
