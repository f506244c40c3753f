"""The team role matrix of the README ("Who on a creator's team sees and does what"), checked cell by cell.

Each capability is probed through the real page or API call; every role × capability cell must
match the README. In particular door staff get the guest list without emails or order ids, while
owners and managers get everything.
"""
import csv
import io
import json

import pytest
from django.test import Client

from commerce import services as commerce
from events.models import TICKET_KIND
from events.tests.factories import EventFactory, TierFactory
from microstage.models import Role
from microstage.tests.factories import UserFactory, team_member

pytestmark = pytest.mark.django_db

GUEST_EMAIL = "guest.person@example.com"
OWNER, MANAGER, DOOR, MODERATOR = Role.OWNER, Role.MANAGER, Role.DOOR, Role.MODERATOR

# capability -> the roles that have it (the README's matrix, row by row)
MATRIX = {
    "event_overview": {OWNER, MANAGER, DOOR},
    "guest_list": {OWNER, MANAGER, DOOR},
    "guest_emails_and_orders": {OWNER, MANAGER},
    "door_scanner": {OWNER, MANAGER, DOOR},
    "control_room": {OWNER, MANAGER, MODERATOR},
    "edit_events": {OWNER, MANAGER},
    "orders": {OWNER, MANAGER},
    "analytics": {OWNER, MANAGER},
    "team": {OWNER, MANAGER},
    "money": {OWNER, MANAGER},
}


@pytest.fixture
def world(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory(title="Matrix night")
    tier = TierFactory(event=event, name="Front row")
    buyer = UserFactory(email=GUEST_EMAIL, display_name="Ada Guest")
    order = commerce.reserve(requests=[commerce.LineRequest(TICKET_KIND, tier.pk, 1)], buyer=buyer)
    commerce.sandbox_pay(order.pk)
    return {"event": event, "tier": tier, "order": order, "ticket": order.lines.get().tickets.get()}


def _page(role, world):
    client = Client()
    client.force_login(team_member(world["event"].creator, role))
    return client


def _api(make_api, role, world):
    return make_api(team_member(world["event"].creator, role))


def _rows(csv_response) -> list[list[str]]:
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def can(capability, role, world, make_api) -> bool:
    event, order = world["event"], world["order"]
    base = f"/dashboard/events/{event.pk}/"
    if capability == "event_overview":
        return _page(role, world).get(base).status_code == 200
    if capability == "guest_list":
        client = _page(role, world)
        page, export = client.get(base + "attendees/"), client.get(base + "attendees.csv")
        if page.status_code != 200 or export.status_code != 200:
            return False
        html, rows = page.content.decode(), _rows(export)
        ticket = world["ticket"]
        # What the door needs: name, tier, ticket id and check-in.
        assert "Ada Guest" in html and "Front row" in html and ticket.pk in html and "Not checked in" in html
        assert rows[0][:4] == ["ticket", "status", "tier", "holder_name"]
        assert any(h.startswith("checked_in_at") for h in rows[0])
        assert rows[1][:4] == [ticket.pk, "valid", "Front row", "Ada Guest"]
        return True
    if capability == "guest_emails_and_orders":
        client = _page(role, world)
        page, export = client.get(base + "attendees/"), client.get(base + "attendees.csv")
        if page.status_code != 200:
            return False
        html, text = page.content.decode(), "\n".join(",".join(r) for r in _rows(export))
        shown = [GUEST_EMAIL in html, order.pk in html, GUEST_EMAIL in text, order.pk in text]
        assert all(shown) or not any(shown), shown   # all or nothing
        # A search cannot confirm an email or an order id to someone who may not see them.
        found_by_email = GUEST_EMAIL in client.get(base + "attendees/", {"q": "guest.person@"}).content.decode() \
            or "Ada Guest" in client.get(base + "attendees/", {"q": "guest.person@"}).content.decode()
        found_by_order = "Ada Guest" in client.get(base + "attendees/", {"q": order.pk}).content.decode()
        assert found_by_email == found_by_order == all(shown)
        return all(shown)
    if capability == "door_scanner":
        page = _page(role, world).get(f"/door/{event.pk}/").status_code == 200
        bundle = _api(make_api, role, world).get(f"/api/v1/events/{event.pk}/checkin-bundle").status_code == 200
        assert page == bundle
        return page
    if capability == "control_room":
        return _page(role, world).get(f"/dashboard/live/{event.pk}/control/").status_code == 200
    if capability == "edit_events":
        r = _api(make_api, role, world).patch(f"/api/v1/events/{event.pk}", data=json.dumps({"title": "Renamed"}),
                                               content_type="application/json")
        assert r.status_code in (200, 403), r.content
        return r.status_code == 200
    if capability == "orders":
        r = _api(make_api, role, world).get(f"/api/v1/orders/{order.pk}")
        assert r.status_code in (200, 404)
        return r.status_code == 200
    if capability == "analytics":
        api = _api(make_api, role, world).get(f"/api/v1/events/{event.pk}/analytics").status_code == 200
        export = _page(role, world).get(f"/dashboard/analytics/{event.pk}/attendees.csv").status_code == 200
        assert api == export
        return api
    if capability == "team":
        r = _api(make_api, role, world).post(f"/api/v1/creators/{event.creator_id}/team",
                                             data=json.dumps({"email": "new@example.com", "role": "door"}),
                                             content_type="application/json")
        assert r.status_code in (201, 403)
        return r.status_code == 201
    if capability == "money":
        return _page(role, world).get("/dashboard/money/").status_code == 200
    raise AssertionError(capability)


@pytest.mark.parametrize("role", [OWNER, MANAGER, DOOR, MODERATOR])
@pytest.mark.parametrize("capability", sorted(MATRIX))
def test_role_matrix(capability, role, world, make_api):
    assert can(capability, role, world, make_api) == (role in MATRIX[capability])


def test_the_readme_states_the_same_matrix():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Who on a creator's team sees and does what", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}
    assert set(rows) == set(MATRIX)
    for capability, roles in MATRIX.items():
        cells = [c.strip() for c in rows[capability].strip("|").split("|")][-4:]
        assert [c == "yes" for c in cells] == [r in roles for r in (OWNER, MANAGER, DOOR, MODERATOR)], capability
