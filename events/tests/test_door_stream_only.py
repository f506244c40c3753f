"""What a ticket is decides where it admits: a stream-only ticket never opens the room — at the door
online (API and door page, result `stream_only`) and offline (the bundle carries the tier's kind) —
and the door shows the room's occupancy against the venue's capacity, which stream tickets never use."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from commerce import services as commerce
from commerce.services import LineRequest
from events import selectors
from events.services.checkin import check_in
from events.services.tickets import qr_payload
from events.models import CheckIn, Event, Ticket, TicketTier
from microstage.errors import Conflict
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, team_member
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


def hybrid_show(capacity=2):
    start = timezone.now() + timedelta(days=1)
    event = Event.objects.create(creator=CreatorFactory(), title="Hybrid Night", slug=f"hybrid-{Event.objects.count()}",
                                 starts_at=start, ends_at=start + timedelta(hours=3), timezone="Europe/Berlin",
                                 venue_name="The Cellar", venue_capacity=capacity, mode=Event.Mode.HYBRID,
                                 status=Event.Status.PUBLISHED)
    room = TicketTier.objects.create(event=event, name="Standard", price=Decimal("12.00"), currency="EUR",
                                     quantity=100)
    stream = TicketTier.objects.create(event=event, name="Stream", price=Decimal("5.00"), currency="EUR",
                                       quantity=500, kind=TicketTier.Kind.ONLINE)
    return event, room, stream


def buy(tier, quantity=1):
    order = commerce.reserve(requests=[LineRequest("ticket", tier.pk, quantity)], email="fan@example.com")
    commerce.sandbox_pay(order.pk)
    return list(Ticket.objects.filter(order_line__order=order).order_by("pk"))


@pytest.fixture
def show():
    event, room, stream = hybrid_show()
    return event, buy(room)[0], buy(stream)[0]


def door_client(event):
    client = Client()
    client.force_login(team_member(event.creator, Role.DOOR))
    return client


def test_the_api_refuses_a_stream_only_ticket_with_its_own_result(show, make_api):
    event, room_ticket, stream_ticket = show
    api = make_api(team_member(event.creator, Role.DOOR))
    url = f"/api/v1/events/{event.pk}/checkins"
    r = api.post(url, {"payload": qr_payload(stream_ticket)}, format="json")
    assert r.status_code == 409
    body = r.json()
    assert body["result"] == "stream_only" and body["code"] == "stream_only" and body["detail"]
    assert body["ticket"]["id"] == stream_ticket.pk
    assert Ticket.objects.get(pk=stream_ticket.pk).checked_in_at is None
    assert CheckIn.objects.get(ticket=stream_ticket).result == "stream_only"
    # Typing the ticket id under the QR code is refused the same way; a room ticket still gets in.
    assert api.post(url, {"payload": stream_ticket.pk}, format="json").json()["result"] == "stream_only"
    assert api.post(url, {"payload": qr_payload(room_ticket)}, format="json").status_code == 201


def test_any_ticket_of_an_online_show_is_stream_only():
    event, room, _ = hybrid_show()
    ticket = buy(room)[0]
    Event.objects.filter(pk=event.pk).update(mode=Event.Mode.ONLINE)
    event.refresh_from_db()
    result, _, _ = check_in(event=event, payload=qr_payload(ticket), actor=SYSTEM)
    assert result == CheckIn.Result.STREAM_ONLY
    assert selectors.checkin_counts(event) == {"checked_in": 0, "tickets": 0, "capacity": None}


def test_offline_sync_reports_stream_only_and_admits_nobody(show, make_api):
    event, _, stream_ticket = show
    api = make_api(team_member(event.creator, Role.DOOR))
    scans = [{"payload": qr_payload(stream_ticket), "scanned_at": timezone.now().isoformat(), "device": "A"}]
    r = api.post(f"/api/v1/events/{event.pk}/checkins/sync", {"scans": scans}, format="json")
    assert r.status_code == 200 and r.json()["results"][0]["result"] == "stream_only"
    assert Ticket.objects.get(pk=stream_ticket.pk).checked_in_at is None


def test_the_bundle_carries_the_tier_kind(show, make_api):
    event, room_ticket, stream_ticket = show
    api = make_api(team_member(event.creator, Role.DOOR))
    for body in (api.get(f"/api/v1/events/{event.pk}/checkin-bundle").json(),
                 door_client(event).get(f"/door/{event.pk}/bundle").json()):
        by_id = {t["id"]: t for t in body["tickets"]}
        assert by_id[stream_ticket.pk]["tier_kind"] == "online" and by_id[stream_ticket.pk]["opens_room"] is False
        assert by_id[room_ticket.pk]["tier_kind"] == "standard" and by_id[room_ticket.pk]["opens_room"] is True


def test_the_door_counts_the_room_against_its_capacity(show):
    event, room_ticket, stream_ticket = show
    client = door_client(event)
    page = client.get(f"/door/{event.pk}/").content.decode()
    assert 'id="occupancy"' in page and 'data-capacity="2"' in page and "In the room" in page
    scan = client.post(f"/door/{event.pk}/scan", json.dumps({"payload": qr_payload(stream_ticket)}),
                       content_type="application/json")
    assert scan.status_code == 409 and scan.json()["result"] == "stream_only"
    assert scan.json()["counts"] == {"checked_in": 0, "tickets": 1, "capacity": 2}  # stream tickets don't count
    ok = client.post(f"/door/{event.pk}/scan", json.dumps({"payload": qr_payload(room_ticket)}),
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["counts"] == {"checked_in": 1, "tickets": 1, "capacity": 2}


def test_stream_tickets_never_use_the_rooms_capacity():
    event, room, stream = hybrid_show(capacity=2)
    buy(stream, 5)
    buy(room, 2)
    with pytest.raises(Conflict) as exc:
        buy(room, 1)
    assert exc.value.code == "sold_out"
    assert selectors.checkin_counts(event) == {"checked_in": 0, "tickets": 2, "capacity": 2}
