"""Door check-in page and its JSON endpoints: who may scan, live scans, offline sync."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from commerce.services import LineRequest
from events.services.checkin import check_in
from events.services.tickets import qr_payload
from events.models import CheckIn, Event, Ticket, TicketTier
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def make_show(quantity=10, title="Door Night"):
    creator = CreatorFactory()
    start = timezone.now() + timedelta(days=1)
    event = Event.objects.create(creator=creator, title=title, slug=f"door-night-{Event.objects.count()}",
                                 starts_at=start, ends_at=start + timedelta(hours=3), timezone="Europe/Berlin",
                                 venue_name="The Cellar", status=Event.Status.PUBLISHED)
    tier = TicketTier.objects.create(event=event, name="Standard", price=Decimal("12.00"), currency="EUR",
                                     quantity=quantity)
    return event, tier


def buy(tier, quantity=1, email="fan@example.com"):
    order = commerce.reserve(requests=[LineRequest("ticket", tier.pk, quantity)], email=email)
    commerce.sandbox_pay(order.pk)
    return list(Ticket.objects.filter(order_line__order=order).order_by("pk"))


@pytest.fixture
def show():
    event, tier = make_show()
    tickets = buy(tier, 2)
    return event, tier, tickets


def client_for(event, role):
    client = Client()
    client.force_login(team_member(event.creator, role))
    return client


def post(client, url, body):
    return client.post(url, json.dumps(body) if not isinstance(body, str) else body,
                       content_type="application/json")


# --- access ----------------------------------------------------------------------------------

def test_anonymous_is_sent_to_log_in_and_json_gets_401(client, show):
    event, _, tickets = show
    response = client.get(f"/door/{event.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(f"/door/{event.pk}/bundle").status_code == 401
    answer = post(client, f"/door/{event.pk}/scan", {"payload": qr_payload(tickets[0])})
    assert answer.status_code == 401 and answer.json()["code"] == "not_authenticated"
    assert not CheckIn.objects.exists()


def test_people_outside_the_team_get_404_everywhere(show):
    event, _, tickets = show
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"/door/{event.pk}/").status_code == 404
    assert client.get(f"/door/{event.pk}/bundle").status_code == 404
    assert post(client, f"/door/{event.pk}/scan", {"payload": qr_payload(tickets[0])}).status_code == 404
    assert post(client, f"/door/{event.pk}/sync", {"scans": [
        {"payload": qr_payload(tickets[0]), "scanned_at": timezone.now().isoformat()}]}).status_code == 404
    # Being on another creator's door team does not help.
    other, _ = make_show(title="Elsewhere")
    assert client_for(other, Role.DOOR).get(f"/door/{event.pk}/").status_code == 404
    assert not CheckIn.objects.exists() and Ticket.objects.filter(checked_in_at__isnull=False).count() == 0


def test_moderators_are_refused_with_403(show):
    event, _, tickets = show
    client = client_for(event, Role.MODERATOR)
    response = client.get(f"/door/{event.pk}/")
    assert response.status_code == 403 and "door role" in response.content.decode()
    assert client.get(f"/door/{event.pk}/bundle").status_code == 403
    answer = post(client, f"/door/{event.pk}/scan", {"payload": qr_payload(tickets[0])})
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert not CheckIn.objects.exists()


def test_unknown_event_is_404(show):
    event, _, _ = show
    client = client_for(event, Role.OWNER)
    assert client.get("/door/evt_nosuchevent0000/").status_code == 404
    assert client.get("/door/evt_nosuchevent0000/bundle").status_code == 404


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.DOOR])
def test_door_roles_get_the_scanner_with_bundle_url_and_counts(show, role):
    event, _, tickets = show
    check_in(event=event, payload=qr_payload(tickets[0]), actor=SYSTEM)
    response = client_for(event, role).get(f"/door/{event.pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    html = response.content.decode()
    assert f'data-bundle-url="/door/{event.pk}/bundle"' in html
    assert f'data-sync-url="/door/{event.pk}/sync"' in html
    assert 'data-timezone="Europe/Berlin"' in html
    assert '<strong id="count-in">1</strong>' in html and '<strong id="count-total">2</strong>' in html
    assert "vendor/qr/html5-qrcode.min.js" in html and "vendor/ed25519/index.js" in html and "js/door.js" in html
    assert 'aria-live="assertive"' in html and 'for="manual-code"' in html


def test_door_index_lists_the_shows_a_person_can_scan(show):
    event, _, _ = show
    hidden, _ = make_show(title="Not my show")
    html = client_for(event, Role.DOOR).get("/door/").content.decode()
    assert event.title in html and f"/door/{event.pk}/" in html
    assert hidden.title not in html


def test_vendor_scripts_are_served_from_node_modules(show):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/ed25519/index.js")
    assert finders.find("vendor/qr/html5-qrcode.min.js")
    assert finders.find("js/door.js")


# --- the bundle -------------------------------------------------------------------------------

def test_bundle_has_key_tickets_revocations_counts_and_timezone(show):
    event, tier, tickets = show
    Ticket.objects.filter(pk=tickets[1].pk).update(status=Ticket.Status.VOID)
    data = client_for(event, Role.DOOR).get(f"/door/{event.pk}/bundle").json()
    from microstage.signing import public_key_b64url

    assert data["public_key"] == public_key_b64url() and data["algorithm"] == "Ed25519"
    assert data["payload_prefix"] == "MST1" and data["timezone"] == "Europe/Berlin"
    assert [t["id"] for t in data["tickets"]] == [tickets[0].pk]
    assert data["tickets"][0]["version"] == 1 and data["tickets"][0]["tier"] == tier.name
    assert data["revoked"] == [tickets[1].pk]
    assert data["counts"] == {"checked_in": 0, "tickets": 1, "capacity": None}


# --- live scans -------------------------------------------------------------------------------

def test_scan_admits_once_then_says_already_in_with_the_first_time(show):
    event, tier, tickets = show
    client = client_for(event, Role.DOOR)
    payload = qr_payload(tickets[0])
    first = post(client, f"/door/{event.pk}/scan", {"payload": payload, "device": "door-a"})
    assert first.status_code == 201
    body = first.json()
    assert body["result"] == "ok" and body["ticket"]["id"] == tickets[0].pk and body["ticket"]["tier"] == tier.name
    assert body["ticket"]["holder"] == "fan" and body["counts"] == {"checked_in": 1, "tickets": 2, "capacity": None}
    tickets[0].refresh_from_db()
    admitted_at = tickets[0].checked_in_at
    assert admitted_at is not None

    again = post(client, f"/door/{event.pk}/scan", {"payload": payload})
    assert again.status_code == 409
    assert again.json()["result"] == "already_checked_in"
    assert again.json()["first_scan_at"] == admitted_at.isoformat()
    assert list(CheckIn.objects.order_by("scanned_at").values_list("result", "device")) == [
        ("ok", "door-a"), ("already_checked_in", "")]


@pytest.mark.parametrize("payload", [
    "garbage", "MST1.e30.AAAA", "x" * 5000, "MST2.abc.def",
])
def test_scan_of_a_bad_code_is_invalid_and_admits_nobody(show, payload):
    event, _, _ = show
    answer = post(client_for(event, Role.DOOR), f"/door/{event.pk}/scan", {"payload": payload})
    assert answer.status_code == 400 and answer.json()["result"] == "invalid"
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 0


def test_ticket_of_another_event_old_version_or_void_is_invalid(show):
    event, _, tickets = show
    other, other_tier = make_show(title="Other night")
    foreign = buy(other_tier)[0]
    client = client_for(event, Role.DOOR)
    old = qr_payload(tickets[0])
    Ticket.objects.filter(pk=tickets[0].pk).update(version=2)  # as after a transfer
    Ticket.objects.filter(pk=tickets[1].pk).update(status=Ticket.Status.VOID)
    for payload in (qr_payload(foreign), old, qr_payload(tickets[1])):
        answer = post(client, f"/door/{event.pk}/scan", {"payload": payload})
        assert answer.status_code == 400 and answer.json()["result"] == "invalid"
    assert Ticket.objects.filter(checked_in_at__isnull=False).count() == 0


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", json.dumps({"payload": ""}), json.dumps({"payload": 7})])
def test_scan_with_a_malformed_request_is_a_clear_400(show, body):
    event, _, _ = show
    answer = post(client_for(event, Role.DOOR), f"/door/{event.pk}/scan", body)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid" and answer.json()["detail"]
    assert not CheckIn.objects.exists()


def test_scan_needs_post_and_csrf(show):
    event, _, tickets = show
    client = Client(enforce_csrf_checks=True)
    client.force_login(team_member(event.creator, Role.DOOR))
    url = f"/door/{event.pk}/scan"
    assert client.get(url).status_code == 405
    payload = json.dumps({"payload": qr_payload(tickets[0])})
    assert client.post(url, payload, content_type="application/json").status_code == 403
    assert not CheckIn.objects.exists()
    client.get(f"/door/{event.pk}/")  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    answer = client.post(url, payload, content_type="application/json", headers={"X-CSRFToken": token})
    assert answer.status_code == 201


# --- offline sync -----------------------------------------------------------------------------

def test_sync_earlier_offline_scan_wins_and_duplicates_are_reported(show):
    event, _, (a, b) = show
    client = client_for(event, Role.DOOR)
    pa, pb = qr_payload(a), qr_payload(b)
    assert post(client, f"/door/{event.pk}/scan", {"payload": pa}).status_code == 201  # live, now
    now = timezone.now()
    earliest = now - timedelta(minutes=10)
    scans = [
        {"payload": pa, "scanned_at": (now - timedelta(minutes=5)).isoformat(), "device": "door-y"},
        {"payload": pb, "scanned_at": (now - timedelta(minutes=1)).isoformat(), "device": "door-y"},
        {"payload": pa, "scanned_at": earliest.isoformat(), "device": "door-x"},
        {"payload": "garbage", "scanned_at": now.isoformat(), "device": "door-x"},
    ]
    answer = post(client, f"/door/{event.pk}/sync", {"scans": scans})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["payload"] for r in results] == [s["payload"] for s in scans]  # in the order sent
    assert [r["result"] for r in results] == ["already_checked_in", "ok", "ok", "invalid"]
    assert results[0]["first_scan_at"] == earliest.isoformat()
    assert answer.json()["counts"] == {"checked_in": 2, "tickets": 2, "capacity": None}
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.checked_in_at == earliest and b.checked_in_at is not None
    # The earliest scan is now the one admission of ticket A; the live scan became a duplicate.
    admissions = CheckIn.objects.filter(ticket=a, result=CheckIn.Result.OK)
    assert list(admissions.values_list("device", "offline")) == [("door-x", True)]
    assert CheckIn.objects.filter(ticket=a, result=CheckIn.Result.ALREADY).count() == 2

    # A second phone syncing the same ticket later still gets a duplicate.
    late = post(client, f"/door/{event.pk}/sync", {"scans": [
        {"payload": pb, "scanned_at": now.isoformat(), "device": "door-z"}]}).json()["results"]
    assert late[0]["result"] == "already_checked_in"


@pytest.mark.parametrize("scans", [
    None, [], "nope", [1], [{"payload": "x"}], [{"payload": "x", "scanned_at": "2025-01-01T20:00:00"}],
    [{"payload": "", "scanned_at": "2025-01-01T20:00:00+01:00"}],
    [{"payload": "x", "scanned_at": "yesterday"}],
])
def test_sync_refuses_malformed_scans(show, scans):
    event, _, _ = show
    answer = post(client_for(event, Role.DOOR), f"/door/{event.pk}/sync", {"scans": scans})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    assert not CheckIn.objects.exists()


def test_sync_refuses_scans_dated_in_the_future_and_changes_nothing(show):
    event, _, (a, _) = show
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    answer = post(client_for(event, Role.DOOR), f"/door/{event.pk}/sync", {"scans": [
        {"payload": qr_payload(a), "scanned_at": future, "device": "door-x"}]})
    assert answer.status_code == 400 and "scans[0].scanned_at" in answer.json()["fields"]
    assert not CheckIn.objects.exists()
