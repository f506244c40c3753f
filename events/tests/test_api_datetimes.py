"""Datetimes in the API carry their UTC offset (API.md): a naive one is refused with a clear message
(microstage.api.fields.AwareDateTimeField, used by every API serializer)."""
import pytest

from events.models import Event

from .helpers import post_json
from .test_api_events import event_body

pytestmark = pytest.mark.django_db

NAIVE = "2031-05-01T20:00:00"


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_naive_event_time_is_refused(owner_api, creator, field):
    r = post_json(owner_api, "/api/v1/events", event_body(creator, **{field: NAIVE}))
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid" and "offset" in r.json()["fields"][field][0]
    assert not Event.objects.exists()


@pytest.mark.parametrize("value", ["2031-05-01T20:00:00Z", "2031-05-01T20:00:00+02:00", "2031-05-01T20:00:00.5-05:30"])
def test_times_with_an_offset_are_taken(owner_api, creator, value):
    body = event_body(creator, starts_at=value, ends_at="2031-05-03T20:00:00Z")
    r = post_json(owner_api, "/api/v1/events", body)
    assert r.status_code == 201, r.content


def test_tier_sales_window_and_patch_need_an_offset_too(owner_api, draft):
    r = post_json(owner_api, f"/api/v1/events/{draft.pk}/tiers", {"name": "A", "price": "10.00", "quantity": 5,
                                                                  "sales_start": NAIVE})
    assert r.status_code == 400 and "sales_start" in r.json()["fields"]
    r = post_json(owner_api, f"/api/v1/events/{draft.pk}", {"starts_at": NAIVE}, method="patch")
    assert r.status_code == 400 and "starts_at" in r.json()["fields"]


def test_discover_query_needs_an_offset(api):
    assert api.get("/api/v1/events", {"starts_after": NAIVE}).status_code == 400
    assert api.get("/api/v1/events", {"starts_after": NAIVE + "Z"}).status_code == 200
