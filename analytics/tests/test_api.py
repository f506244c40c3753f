"""GET /api/v1/events/{id}/analytics and GET /api/v1/creators/{id}/analytics: access, input, output."""
import pytest

from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .metrics_data import show

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    return show()


def _event_url(event_id):
    return f"/api/v1/events/{event_id}/analytics"


def _creator_url(creator_id, days=None):
    return f"/api/v1/creators/{creator_id}/analytics" + ("" if days is None else f"?days={days}")


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_event_analytics_for_owner_and_manager(data, make_api, role):
    res = make_api(team_member(data["creator"], role)).get(_event_url(data["event"].pk))
    assert res.status_code == 200
    body = res.json()
    assert (body["page_views"], body["unique_visitors"], body["orders"], body["tickets_sold"]) == (8, 5, 7, 4)
    assert (body["revenue"], body["currency"]) == ("145.00", "EUR")  # money as a decimal string
    assert body["conversion_latency_seconds"]["median"] == 900.0
    assert body["conversion_latency_seconds"]["p90"] == 8004.0
    assert (body["live_minutes"], body["revenue_per_live_minute"]) == (60.0, "2.42")
    assert (body["peak_viewers"], body["chat_messages"]) == (42, 2)
    assert {d["id"]: (d["sold"], d["sell_through_seconds"]) for d in body["drops"]} == {
        data["drop"].pk: (3, 180.0), data["slow_drop"].pk: (1, None)}
    assert body["group_buys"] == [{**body["group_buys"][0], "id": data["gb"].pk, "committed_quantity": 4,
                                   "status": "open"}]
    assert body["funnel"] == {"page_views": 8, "holds": 10, "orders": 7}
    assert body["revenue_over_time"][0]["at"] == "2026-06-01T18:00:00+00:00"


@pytest.mark.parametrize("role", [Role.DOOR, Role.MODERATOR])
def test_event_analytics_other_roles_403(data, make_api, role):
    res = make_api(team_member(data["creator"], role)).get(_event_url(data["event"].pk))
    assert res.status_code == 403
    assert res.json()["code"] == "forbidden"


def test_event_analytics_outsider_404_and_unknown_404(data, make_api):
    outsider = make_api(UserFactory())
    assert outsider.get(_event_url(data["event"].pk)).status_code == 404
    owner = make_api(team_member(data["creator"]))
    res = owner.get(_event_url("evt_nope"))
    assert res.status_code == 404 and res.json()["code"] == "not_found"


def test_event_analytics_anonymous_401(data, api):
    res = api.get(_event_url(data["event"].pk))
    assert res.status_code == 401


def test_event_analytics_of_empty_event(make_api):
    from events.tests.factories import EventFactory

    event = EventFactory()
    body = make_api(team_member(event.creator)).get(_event_url(event.pk)).json()
    assert body["revenue"] == "0.00"
    assert body["conversion_latency_seconds"]["median"] is None
    assert body["revenue_per_live_minute"] is None


def test_creator_analytics(data, make_api):
    client = make_api(team_member(data["creator"], Role.MANAGER))
    res = client.get(_creator_url(data["creator"].pk))
    assert res.status_code == 200
    body = res.json()
    assert {"revenue", "orders", "attendees", "repeat_attendee_rate", "member_count", "member_repeat_rate",
            "non_member_repeat_rate", "cohorts", "fulfilment_cost_per_order"} <= set(body)
    assert body["days"] == 90
    assert body["fulfilment_cost_per_order"] == {"group_buy": None, "single": None}
    assert client.get(_creator_url(data["creator"].pk, 1)).json()["days"] == 1
    assert client.get(_creator_url(data["creator"].pk, 365)).json()["days"] == 365


@pytest.mark.parametrize("days", ["0", "366", "-5", "abc", "1.5", "9" * 30])
def test_creator_analytics_bad_days_400(data, make_api, days):
    res = make_api(team_member(data["creator"])).get(_creator_url(data["creator"].pk, days))
    assert res.status_code == 400
    assert res.json()["code"] == "invalid" and "days" in res.json()["fields"]


def test_creator_analytics_access(make_api, api):
    creator = CreatorFactory()
    assert make_api(UserFactory()).get(_creator_url(creator.pk)).status_code == 404
    assert make_api(UserFactory()).get(_creator_url(creator.pk, "abc")).status_code == 404  # access first
    assert make_api(team_member(creator, Role.DOOR)).get(_creator_url(creator.pk)).status_code == 403
    assert api.get(_creator_url(creator.pk)).status_code == 401
