"""A transferred ticket lands only with whoever claims it from the emailed link with a verified address.

The squatter scenario: someone registered the recipient's address without verifying it. Before the
fix the transferred ticket appeared in the squatter's tickets (with a QR code that admits) at once.
"""
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from events.models import Ticket
from events.services.checkin import check_in
from events.services.tickets import qr_payload
from microstage.tests.factories import UserFactory

from .test_api_tickets import buy, post_json
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]

SQUAT = "friend@example.com"


def claim_link(message) -> str:
    match = re.search(r"https?://\S+/tickets/claim/\S+/", message.body)
    assert match, message.body
    return "/" + match.group(0).split("://", 1)[1].split("/", 1)[1]


def verified(email) -> "UserFactory":
    user = UserFactory(email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def transfer(make_api, sender, ticket, email, capture):
    with capture(execute=True):
        r = post_json(make_api(sender), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": email})
    assert r.status_code == 200, r.content
    return r


def test_squatter_on_an_unverified_address_does_not_get_the_ticket(make_api, client, tier,
                                                                  django_capture_on_commit_callbacks):
    sender = UserFactory()
    [ticket] = buy(tier, sender)
    old_payload = qr_payload(ticket)
    squatter = UserFactory(email=SQUAT)  # registered, never verified
    EmailAddress.objects.create(user=squatter, email=SQUAT, verified=False, primary=True)

    r = transfer(make_api, sender, ticket, SQUAT, django_capture_on_commit_callbacks)
    assert r.json()["holder_email"] == SQUAT
    # The old QR code stops at once (API.md) ...
    assert check_in(event=tier.event, payload=old_payload, actor=SYSTEM)[0] == "invalid"
    assert make_api(sender).get("/api/v1/tickets").json()["results"] == []
    # ... but nothing lands with the squatter: not in their tickets, not as holder.
    assert make_api(squatter).get("/api/v1/tickets").json()["results"] == []
    ticket.refresh_from_db()
    assert ticket.holder_id is None and ticket.awaiting_claim
    # Holding the link (it went to the real mailbox) does not help an unverified account either.
    link = claim_link(mail.outbox[-1])
    client.force_login(squatter)
    page = client.post(link, follow=True)
    assert "We sent a confirmation link to" in page.content.decode()
    ticket.refresh_from_db()
    assert ticket.holder_id is None and ticket.awaiting_claim
    assert make_api(squatter).get("/api/v1/tickets").json()["results"] == []


def test_answer_is_the_same_whether_or_not_the_address_has_an_account(make_api, tier,
                                                                     django_capture_on_commit_callbacks):
    sender = UserFactory()
    first, second = buy(tier, sender, 2)
    verified("known@example.com")
    known = transfer(make_api, sender, first, "known@example.com", django_capture_on_commit_callbacks).json()
    unknown = transfer(make_api, sender, second, "unknown@example.com", django_capture_on_commit_callbacks).json()
    assert set(known) == set(unknown)
    assert {k: v for k, v in known.items() if k not in ("id", "holder_email")} == \
        {k: v for k, v in unknown.items() if k not in ("id", "holder_email")}


def test_verified_recipient_claims_from_the_link_and_gets_a_working_qr(make_api, client, tier,
                                                                      django_capture_on_commit_callbacks):
    sender = UserFactory()
    [ticket] = buy(tier, sender)
    friend = verified(SQUAT)
    transfer(make_api, sender, ticket, "Friend@Example.com", django_capture_on_commit_callbacks)
    assert make_api(friend).get("/api/v1/tickets").json()["results"] == []   # not before claiming
    link = claim_link(mail.outbox[-1])

    anonymous = client.get(link)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    stranger = verified("stranger@example.com")
    client.force_login(stranger)
    client.post(link)
    assert Ticket.objects.get(pk=ticket.pk).holder_id is None                # wrong account

    client.force_login(friend)
    assert "Add it to my tickets" in client.get(link).content.decode()
    r = client.post(link)
    assert r.status_code == 302 and r.url == "/tickets/"
    (theirs,) = make_api(friend).get("/api/v1/tickets").json()["results"]
    assert theirs["id"] == ticket.pk
    assert check_in(event=tier.event, payload=theirs["qr_payload"], actor=SYSTEM)[0] == "ok"
    assert client.get(link).status_code == 404                               # used up


def test_a_second_transfer_voids_the_first_link(make_api, client, tier, django_capture_on_commit_callbacks):
    sender = UserFactory()
    [ticket] = buy(tier, sender)
    verified("first@example.com")
    transfer(make_api, sender, ticket, "first@example.com", django_capture_on_commit_callbacks)
    first_link = claim_link(mail.outbox[-1])
    # The sender cannot pass on what is no longer theirs; a claim link is the only way in.
    r = post_json(make_api(sender), f"/api/v1/tickets/{ticket.pk}/transfer", {"email": "second@example.com"})
    assert r.status_code == 404
    assert client.get(first_link).status_code == 302                         # valid: log in to claim
    assert client.get(first_link[:-3] + "xx/").status_code == 404            # forged token
