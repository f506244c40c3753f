"""Client telemetry: strict validation (nothing stored on a refusal), rate limit, the summary numbers."""
import json

import pytest
from django.test import Client

from analytics import selectors
from analytics.models import TelemetrySample
from events.tests.factories import EventFactory
from microstage.models import Role
from microstage.tests.factories import team_member

pytestmark = pytest.mark.django_db
URL = "/api/v1/telemetry"
EVT = "evt_abcdEFGH12345678"


@pytest.fixture(autouse=True)
def event():
    return EventFactory(pk=EVT)


def post(client, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", URL, data, content_type="application/json", **extra)


def test_a_valid_sample_is_stored_without_anything_about_the_sender():
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="AgentX")
    assert post(client, {"event": EVT, "kind": "player_startup_ms", "value": 812.5}).status_code == 204
    assert post(client, {"event": EVT, "kind": "checkout_error", "value": 1, "detail": "sold_out"}).status_code == 204
    rows = list(TelemetrySample.objects.order_by("id").values("event_id", "kind", "value", "detail"))
    assert rows == [{"event_id": EVT, "kind": "player_startup_ms", "value": 812.5, "detail": ""},
                    {"event_id": EVT, "kind": "checkout_error", "value": 1.0, "detail": "sold_out"}]


@pytest.mark.parametrize("body", [
    "not json", "[1, 2]", '{"event": "' + EVT + '", "kind": "player_startup_ms", "value": NaN}',
    '{"event": "' + EVT + '", "kind": "player_startup_ms", "value": Infinity}',
    {"event": EVT, "kind": "cpu_ms", "value": 5}, {"event": EVT, "kind": "rebuffer_ms", "value": -1},
    {"event": EVT, "kind": "rebuffer_ms", "value": 600001}, {"event": EVT, "kind": "rebuffer_ms", "value": 1e308},
    {"event": EVT, "kind": "rebuffer_ms", "value": "5"}, {"event": EVT, "kind": "rebuffer_ms", "value": True},
    {"event": EVT, "kind": "rebuffer_ms"}, {"event": "evt_<script>", "kind": "rebuffer_ms", "value": 5},
    {"event": EVT, "kind": "checkout_error", "value": 1, "detail": "Card Declined!"},
    {"event": EVT, "kind": "checkout_error", "value": 1, "detail": "x" * 65},
    {"event": EVT, "kind": "checkout_error", "value": 1},
    {"event": EVT, "kind": "rebuffer_ms", "value": 5, "ip": "1.2.3.4"},
])
def test_bad_samples_are_refused_and_nothing_is_stored(body):
    response = post(Client(), body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert TelemetrySample.objects.count() == 0


def test_only_post():
    assert Client().get(URL).status_code == 405


def test_do_not_track_is_accepted_but_not_stored():
    assert post(Client(HTTP_SEC_GPC="1"), {"event": EVT, "kind": "rebuffer_ms", "value": 5}).status_code == 204
    assert TelemetrySample.objects.count() == 0


def test_rate_limited_per_client():
    client = Client(REMOTE_ADDR="192.0.2.1")
    codes = [post(client, {"event": EVT, "kind": "rebuffer_ms", "value": i}).status_code for i in range(65)]
    assert codes.count(204) == 60 and codes[-1] == 429
    assert TelemetrySample.objects.count() == 60
    assert post(Client(REMOTE_ADDR="192.0.2.2"), {"event": EVT, "kind": "rebuffer_ms", "value": 1}).status_code == 204


def test_the_rate_limit_ignores_the_visitor_cookie():
    """A client that changes its visitor cookie (or sends none) on every sample is still one client."""
    codes = []
    for i in range(65):
        client = Client(REMOTE_ADDR="192.0.2.9")
        client.cookies["ms_vid"] = f"v_{i:024d}"
        codes.append(post(client, {"event": EVT, "kind": "rebuffer_ms", "value": i}).status_code)
    assert codes.count(204) == 60 and codes[-1] == 429


def test_ipv6_clients_are_limited_by_their_64():
    codes = [post(Client(REMOTE_ADDR=f"2001:db8:1:2::{i:x}"), {"event": EVT, "kind": "rebuffer_ms", "value": 1})
             .status_code for i in range(65)]
    assert codes.count(204) == 60 and codes[-1] == 429


def test_samples_for_events_that_do_not_exist_are_refused():
    r = post(Client(), {"event": "evt_doesNotExist1234", "kind": "rebuffer_ms", "value": 5})
    assert r.status_code == 400 and r.json()["fields"]["event"] == ["No such event."]
    assert TelemetrySample.objects.count() == 0


def test_summary_numbers_are_exact():
    for v in (100, 200, 300, 400):
        TelemetrySample.objects.create(event_id=EVT, kind="player_startup_ms", value=v)
    TelemetrySample.objects.create(event_id=EVT, kind="rebuffer_ms", value=0)
    for code in ("sold_out", "sold_out", "http_500"):
        TelemetrySample.objects.create(event_id=EVT, kind="checkout_error", value=1, detail=code)
    TelemetrySample.objects.create(event_id="evt_other0000000000", kind="player_startup_ms", value=9999)
    s = selectors.telemetry_summary(EVT)
    assert s["player_startup_ms"] == {"count": 4, "median": 250.0, "p90": pytest.approx(370.0)}
    assert s["rebuffer_ms"] == {"count": 1, "median": 0.0, "p90": 0.0}
    assert s["checkout_latency_ms"] == {"count": 0, "median": None, "p90": None}
    assert s["checkout_errors"] == [{"code": "sold_out", "count": 2}, {"code": "http_500", "count": 1}]
    assert s["checkout_error_count"] == 3


def test_control_room_partial_for_the_team_only():
    event = EventFactory()
    TelemetrySample.objects.create(event_id=event.pk, kind="player_startup_ms", value=1234)
    client = Client()
    client.force_login(team_member(event.creator, Role.OWNER))
    page = client.get(f"/dashboard/live/{event.pk}/telemetry/")
    assert page.status_code == 200 and b"1234 ms" in page.content
    control = client.get(f"/dashboard/live/{event.pk}/control/")
    assert f'hx-get="/dashboard/live/{event.pk}/telemetry/"'.encode() in control.content
    stranger = Client()
    stranger.force_login(team_member(EventFactory().creator, Role.OWNER))
    assert stranger.get(f"/dashboard/live/{event.pk}/telemetry/").status_code == 404
