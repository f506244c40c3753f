"""CSV exports of orders, attendees and metrics, per event and per creator."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from microstage.csvfile import cell as safe_cell
from commerce.models import Order
from events.tests.factories import EventFactory, TierFactory
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

from .metrics_data import order, show, tickets

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _rows(res) -> list[list[str]]:
    body = b"".join(res.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def data():
    return show()


def test_event_orders_csv(data):
    res = _client(team_member(data["creator"])).get(f"/dashboard/analytics/{data['event'].pk}/orders.csv")
    assert res.status_code == 200
    assert res["Content-Type"] == "text/csv; charset=utf-8"
    assert res["Content-Disposition"].startswith('attachment; filename="orders-big-show-')
    assert res["Content-Disposition"].endswith('.csv"')
    rows = _rows(res)
    assert rows[0] == ["order", "status", "created_at", "paid_at", "buyer_email", "currency", "total",
                       "refunded_total", "net", "lines", "units"]
    by_id = {r[0]: r for r in rows[1:]}
    assert len(by_id) == 10  # every order of the event, another event's order left out
    o2 = data["orders"][1]
    assert by_id[o2.pk][1] == "partially_refunded"
    assert by_id[o2.pk][6:] == ["40.00", "20.00", "20.00", "1", "1"]
    assert by_id[data["orders"][4].pk][3] == ""  # the reserved order was never paid


def test_event_attendees_csv(data):
    res = _client(team_member(data["creator"], Role.MANAGER)).get(
        f"/dashboard/analytics/{data['event'].pk}/attendees.csv")
    assert res.status_code == 200
    assert 'filename="attendees-big-show-' in res["Content-Disposition"]
    rows = _rows(res)
    assert rows[0][:5] == ["ticket", "status", "tier", "holder_name", "holder_email"]
    assert sorted(r[1] for r in rows[1:]) == ["valid"] * 4 + ["void"] * 2


def test_event_metrics_csv(data):
    rows = _rows(_client(team_member(data["creator"])).get(f"/dashboard/analytics/{data['event'].pk}/metrics.csv"))
    assert rows[0] == ["metric", "value"]
    values = dict((r[0], r[1]) for r in rows[1:])
    assert values["page_views"] == "8"
    assert values["revenue"] == "145.00"
    assert values["conversion_latency_seconds.median"] == "900.0"
    assert values["funnel.holds"] == "10"
    assert values["revenue_per_live_minute"] == "2.42"


def test_formula_injection_is_neutralised():
    event = EventFactory()
    tier = TierFactory(event=event)
    buyer = UserFactory(email="x@example.com", display_name="=HYPERLINK(\"http://evil\")")
    o = order(event.creator, buyer, [("ticket", tier.pk, 1, "20.00", 0)], paid_at=timezone.now())
    t = tickets(o)[0]
    t.holder_name = "=cmd|' /C calc'!A0"
    t.save()
    rows = _rows(_client(team_member(event.creator)).get(f"/dashboard/analytics/{event.pk}/attendees.csv"))
    assert rows[1][3] == "'=cmd|' /C calc'!A0"
    assert safe_cell("+1+2") == "'+1+2" and safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("-x") == "'-x"
    # numbers given as numbers stay numbers; the same characters as text are guarded (one rule, microstage.csvfile)
    assert safe_cell(Decimal("-12.50")) == "-12.50" and safe_cell(7) == "7" and safe_cell(None) == ""
    assert safe_cell("-12.50") == "'-12.50"


def test_creator_exports(data):
    creator = data["creator"]
    client = _client(team_member(creator))
    Order.objects.filter(creator=creator).update(created_at=timezone.now() - timedelta(days=1))
    res = client.get(f"/dashboard/analytics/creators/{creator.pk}/orders.csv?days=30")
    assert res.status_code == 200
    assert f'filename="orders-30d-{creator.slug}-' in res["Content-Disposition"]
    assert len(_rows(res)) == 1 + 11  # the show's ten orders and the other event's one
    res = client.get(f"/dashboard/analytics/creators/{creator.pk}/attendees.csv")
    assert _rows(res) == [["email", "events_attended", "first_attended_at", "last_attended_at"]]
    rows = _rows(client.get(f"/dashboard/analytics/creators/{creator.pk}/metrics.csv?days=7"))
    assert ["days", "7"] in rows
    assert client.get(f"/dashboard/analytics/creators/{creator.pk}/metrics.csv?days=0").status_code == 400


def test_creator_attendees_csv_counts_shows():
    event = EventFactory()
    tier = TierFactory(event=event)
    buyer = UserFactory(email="Fan@Example.com")
    now = timezone.now()
    o = order(event.creator, buyer, [("ticket", tier.pk, 2, "20.00", 0)], paid_at=now - timedelta(days=2))
    tickets(o, checked_in_at=now - timedelta(days=1))
    rows = _rows(_client(team_member(event.creator)).get(
        f"/dashboard/analytics/creators/{event.creator_id}/attendees.csv"))
    assert rows[1][:2] == ["fan@example.com", "1"]


def test_export_access(data):
    event, creator = data["event"], data["creator"]
    urls = [f"/dashboard/analytics/{event.pk}/{n}.csv" for n in ("orders", "attendees", "metrics")] + \
           [f"/dashboard/analytics/creators/{creator.pk}/{n}.csv" for n in ("orders", "attendees", "metrics")]
    outsider, door = _client(UserFactory()), _client(team_member(creator, Role.DOOR))
    for url in urls:
        assert outsider.get(url).status_code == 404, url
        assert door.get(url).status_code == 403, url
        anon = Client().get(url)
        assert anon.status_code == 302 and "/accounts/login/" in anon["Location"], url
    assert _client(team_member(creator)).get("/dashboard/analytics/evt_nope/orders.csv").status_code == 404
