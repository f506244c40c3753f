"""API contract for tickets and door check-in (API.md "Tickets and check-in")."""
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import CheckIn, Ticket
from events.services.tickets import qr_payload
from microstage.models import Role
from microstage.signing import public_key_b64url
from microstage.tests.factories import UserFactory, team_member

from .helpers import EventFactory, TierFactory, buy, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"


@pytest.fixture
def door_api(event, make_api):
    return make_api(team_member(event.creator, Role.DOOR))


class TestMyTickets:
    def test_lists_the_callers_tickets(self, make_api, ticket, tier, buyer):
        buy(tier, UserFactory())  # someone else's
        r = make_api(buyer).get("/api/v1/tickets")
        assert r.status_code == 200
        body = r.json()
        assert body["next"] is None
        (item,) = body["results"]
        assert item["id"] == ticket.pk and item["event"] == tier.event_id and item["tier"] == tier.pk
        assert item["status"] == "valid" and item["qr_payload"] == qr_payload(ticket)

    def test_anonymous_is_401(self, api):
        assert api.get("/api/v1/tickets").status_code == 401


class TestTransfer:
    def test_transfer_moves_the_ticket_and_kills_the_old_payload(self, make_api, ticket, buyer, door_api, event):
        from allauth.account.models import EmailAddress

        from events import transfers

        old_payload = qr_payload(ticket)
        friend = UserFactory(email="friend@example.com")
        EmailAddress.objects.create(user=friend, email="friend@example.com", verified=True, primary=True)
        r = post_json(make_api(buyer), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": "Friend@Example.com"})
        assert r.status_code == 200, r.content
        assert r.json()["holder_email"] == "friend@example.com" and "qr_payload" not in r.json()
        assert make_api(buyer).get("/api/v1/tickets").json()["results"] == []
        # The friend claims it from the emailed link (events.transfers), then has it with a new QR code.
        transfers.claim_ticket(token=transfers.claim_token(Ticket.objects.get(pk=ticket.pk)), user=friend)
        (theirs,) = make_api(friend).get("/api/v1/tickets").json()["results"]
        assert theirs["id"] == ticket.pk and theirs["qr_payload"] != old_payload
        old = post_json(door_api, f"/api/v1/events/{event.pk}/checkins", {"payload": old_payload})
        assert old.status_code == 400 and old.json()["result"] == "invalid"
        new = post_json(door_api, f"/api/v1/events/{event.pk}/checkins", {"payload": theirs["qr_payload"]})
        assert new.status_code == 201 and new.json()["result"] == "ok"

    def test_someone_elses_ticket_is_404(self, auth_api, ticket):
        r = post_json(auth_api, f"/api/v1/tickets/{ticket.pk}/transfer", {"email": "thief@example.com"})
        assert r.status_code == 404
        assert post_json(auth_api, "/api/v1/tickets/tkt_nope/transfer", {"email": "a@example.com"}).status_code == 404
        assert Ticket.objects.get(pk=ticket.pk).version == 1

    @pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"email": ["a@example.com"]}, "[1]"])
    def test_bad_email(self, make_api, ticket, buyer, body):
        r = post_json(make_api(buyer), f"/api/v1/tickets/{ticket.pk}/transfer", body)
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert Ticket.objects.get(pk=ticket.pk).version == 1

    def test_a_ticket_sent_to_a_new_address_can_be_passed_on_once_verified(self, make_api, ticket, buyer):
        from allauth.account.models import EmailAddress

        from events import transfers

        post_json(make_api(buyer), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": "later@example.com"})
        newcomer = UserFactory(email="later@example.com")  # signs up after the transfer
        assert make_api(newcomer).get("/api/v1/tickets").json()["results"] == []  # not before verifying
        EmailAddress.objects.create(user=newcomer, email="later@example.com", verified=True, primary=True)
        assert make_api(newcomer).get("/api/v1/tickets").json()["results"] == []  # nor before claiming
        transfers.claim_ticket(token=transfers.claim_token(Ticket.objects.get(pk=ticket.pk)), user=newcomer)
        assert [t["id"] for t in make_api(newcomer).get("/api/v1/tickets").json()["results"]] == [ticket.pk]
        r = post_json(make_api(newcomer), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": "third@example.com"})
        assert r.status_code == 200
        assert Ticket.objects.get(pk=ticket.pk).holder_email == "third@example.com"

    def test_to_yourself_is_refused(self, make_api, ticket, buyer):
        r = post_json(make_api(buyer), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": buyer.email})
        assert r.status_code == 400 and "email" in r.json()["fields"]


class TestCheckIn:
    def test_the_ticket_id_under_the_qr_works_as_a_typed_code(self, door_api, event, ticket, tier, buyer):
        url = f"/api/v1/events/{event.pk}/checkins"
        other_event_ticket = buy(TierFactory(event=EventFactory(creator=event.creator)), buyer)[0]
        assert post_json(door_api, url, {"payload": other_event_ticket.pk}).status_code == 400
        assert post_json(door_api, url, {"payload": "tkt_0000000000000000"}).status_code == 400
        assert post_json(door_api, url, {"payload": ticket.pk}).json()["result"] == "ok"
        assert post_json(door_api, url, {"payload": ticket.pk}).status_code == 409
        void = buy(tier, buyer)[0]
        Ticket.objects.filter(pk=void.pk).update(status=Ticket.Status.VOID)
        assert post_json(door_api, url, {"payload": void.pk}).json()["result"] == "invalid"

    def test_ok_then_already_then_invalid(self, door_api, event, ticket):
        url = f"/api/v1/events/{event.pk}/checkins"
        first = post_json(door_api, url, {"payload": qr_payload(ticket)})
        assert first.status_code == 201, first.content
        assert first.json()["result"] == "ok" and first.json()["ticket"]["id"] == ticket.pk

        again = post_json(door_api, url, {"payload": qr_payload(ticket)})
        assert again.status_code == 409
        body = again.json()
        assert body["result"] == "already_checked_in" and body["code"] == "already_checked_in" and body["detail"]
        assert body["first_scan_at"].startswith(Ticket.objects.get(pk=ticket.pk).checked_in_at.isoformat()[:16])

        bad = post_json(door_api, url, {"payload": "MST1.garbage.sig"})
        assert bad.status_code == 400
        assert bad.json()["result"] == "invalid" and bad.json()["code"] == "invalid" and bad.json()["detail"]
        assert list(CheckIn.objects.values_list("result", flat=True).order_by("received_at")) == [
            "ok", "already_checked_in", "invalid"]

    def test_a_ticket_of_another_event_is_invalid(self, door_api, event, buyer):
        other_ticket = buy(TierFactory(event=EventFactory(creator=event.creator)), buyer)[0]
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(other_ticket)})
        assert r.status_code == 400 and r.json()["result"] == "invalid"
        assert Ticket.objects.get(pk=other_ticket.pk).checked_in_at is None

    @pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
    def test_owner_and_manager_may_scan(self, make_api, event, ticket, role):
        r = post_json(make_api(team_member(event.creator, role)), f"/api/v1/events/{event.pk}/checkins",
                      {"payload": qr_payload(ticket)})
        assert r.status_code == 201

    def test_access(self, auth_api, make_api, event, ticket, buyer, api):
        url = f"/api/v1/events/{event.pk}/checkins"
        payload = {"payload": qr_payload(ticket)}
        assert post_json(api, url, payload).status_code == 401
        assert post_json(auth_api, url, payload).status_code == 404
        assert post_json(make_api(buyer), url, payload).status_code == 404  # holding a ticket is not the door
        assert post_json(make_api(team_member(event.creator, Role.MODERATOR)), url, payload).status_code == 403
        assert post_json(auth_api, "/api/v1/events/evt_nope/checkins", payload).status_code == 404
        assert Ticket.objects.get(pk=ticket.pk).checked_in_at is None and not CheckIn.objects.exists()

    @pytest.mark.parametrize("body", [{}, {"payload": ""}, {"payload": ["x"]}, {"payload": "x" * 5000}, "{bad"])
    def test_bad_body_is_400_and_records_nothing(self, door_api, event, body):
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins", body)
        assert r.status_code == 400 and r.json()["code"] in {"invalid", "malformed_request"}
        assert not CheckIn.objects.exists()


class TestBundle:
    def test_bundle_has_key_tickets_and_revocations(self, door_api, event, tier, buyer):
        valid, void = buy(tier, buyer, 2)
        Ticket.objects.filter(pk=void.pk).update(status=Ticket.Status.VOID)
        r = door_api.get(f"/api/v1/events/{event.pk}/checkin-bundle")
        assert r.status_code == 200
        body = r.json()
        assert body["public_key"] == public_key_b64url()
        assert [t["id"] for t in body["tickets"]] == [valid.pk] and body["revoked"] == [void.pk]

    def test_access(self, auth_api, make_api, event, api):
        url = f"/api/v1/events/{event.pk}/checkin-bundle"
        assert api.get(url).status_code == 401
        assert auth_api.get(url).status_code == 404
        assert make_api(team_member(event.creator, Role.MODERATOR)).get(url).status_code == 403


class TestSync:
    def test_first_scan_in_time_wins_and_duplicates_are_reported(self, door_api, event, ticket):
        payload = qr_payload(ticket)
        now = timezone.now()
        scans = [{"payload": payload, "scanned_at": (now - timedelta(minutes=1)).isoformat(), "device": "B"},
                 {"payload": payload, "scanned_at": (now - timedelta(minutes=5)).isoformat(), "device": "A"},
                 {"payload": "junk", "scanned_at": now.isoformat()}]
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins/sync", {"scans": scans})
        assert r.status_code == 200, r.content
        results = r.json()["results"]
        assert [x["result"] for x in results] == ["already_checked_in", "ok", "invalid"]
        assert [x["payload"] for x in results] == [payload, payload, "junk"]
        first = Ticket.objects.get(pk=ticket.pk).checked_in_at
        assert abs(first - (now - timedelta(minutes=5))) < timedelta(seconds=1)
        assert CheckIn.objects.get(result="ok").device == "A"

    @pytest.mark.parametrize("body, field", [
        ({}, "scans"),
        ({"scans": "all"}, "scans"),
        ({"scans": [{"payload": "x"}]}, "scans[0].scanned_at"),
        ({"scans": [{"payload": "x", "scanned_at": "noon"}]}, "scans[0].scanned_at"),
        ({"scans": [{"scanned_at": "2025-01-01T10:00:00Z"}]}, "scans[0].payload"),
        ({"scans": [{"payload": "x", "scanned_at": "2025-01-01T10:00:00Z", "device": "d" * 81}]},
         "scans[0].device"),
        ({"scans": [{"payload": "x", "scanned_at": "2025-01-01T10:00:00Z"}] * 1001}, "scans"),
    ])
    def test_every_scan_is_validated_and_nothing_is_recorded(self, door_api, event, body, field):
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins/sync", body)
        assert r.status_code == 400, r.content
        assert r.json()["code"] == "invalid" and any(k.startswith(field) for k in r.json()["fields"]), r.json()
        assert not CheckIn.objects.exists()

    def test_a_future_scan_refuses_the_batch(self, door_api, event, ticket):
        scans = [{"payload": qr_payload(ticket), "scanned_at": timezone.now().isoformat()},
                 {"payload": "x", "scanned_at": (timezone.now() + timedelta(days=1)).isoformat()}]
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins/sync", {"scans": scans})
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert not CheckIn.objects.exists() and Ticket.objects.get(pk=ticket.pk).checked_in_at is None

    @pytest.mark.parametrize("when", ["2000-01-01T20:00:00+00:00", "1970-01-01T00:00:00Z"])
    def test_a_scan_dated_long_ago_refuses_the_batch(self, door_api, event, ticket, when):
        scans = [{"payload": qr_payload(ticket), "scanned_at": when}]
        r = post_json(door_api, f"/api/v1/events/{event.pk}/checkins/sync", {"scans": scans})
        assert r.status_code == 400 and "scans[0].scanned_at" in r.json()["fields"], r.content
        assert not CheckIn.objects.exists() and Ticket.objects.get(pk=ticket.pk).checked_in_at is None

    def test_scans_are_bounded_by_the_first_bundle_and_now(self, door_api, event, ticket):
        from events.models import Event

        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=30))
        assert door_api.get(f"/api/v1/events/{event.pk}/checkin-bundle").status_code == 200
        issued = Event.objects.get(pk=event.pk).checkin_bundle_issued_at
        assert issued is not None
        door_api.get(f"/api/v1/events/{event.pk}/checkin-bundle")  # a later bundle keeps the first date
        assert Event.objects.get(pk=event.pk).checkin_bundle_issued_at == issued
        url = f"/api/v1/events/{event.pk}/checkins/sync"
        before = {"scans": [{"payload": qr_payload(ticket), "scanned_at": (issued - timedelta(hours=2)).isoformat()}]}
        assert post_json(door_api, url, before).status_code == 400
        ok = {"scans": [{"payload": qr_payload(ticket), "scanned_at": timezone.now().isoformat()}]}
        assert post_json(door_api, url, ok).json()["results"][0]["result"] == "ok"

    def test_access(self, auth_api, make_api, event, ticket):
        body = {"scans": [{"payload": qr_payload(ticket), "scanned_at": timezone.now().isoformat()}]}
        url = f"/api/v1/events/{event.pk}/checkins/sync"
        assert post_json(auth_api, url, body).status_code == 404
        assert post_json(make_api(team_member(event.creator, Role.MODERATOR)), url, body).status_code == 403
        assert not CheckIn.objects.exists()
