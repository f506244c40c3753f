"""Ticket QR payloads and receipts accept only the canonical base64url spelling of their signature and
body: appended padding, other characters or stray low bits are refused (microstage.signing.unb64url)."""
import pytest

from events.services.tickets import qr_payload, read_payload
from microstage import signing


pytestmark = pytest.mark.django_db


def _variants(payload: str) -> dict[str, str]:
    prefix, body, sig = payload.split(".")
    last = sig[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # Ed25519 signatures are 64 bytes: 86 characters whose last one carries 4 unused low bits.
    stray = alphabet[alphabet.index(last) ^ 1]
    return {
        "padding": f"{prefix}.{body}.{sig}==",
        "one_pad": f"{prefix}.{body}.{sig}=",
        "body_padding": f"{prefix}.{body}==.{sig}",
        "stray_bits": f"{prefix}.{body}.{sig[:-1]}{stray}",
        "standard_alphabet": f"{prefix}.{body}.{sig.replace('-', '+').replace('_', '/')}" if ("-" in sig or "_" in sig)
        else f"{prefix}.{body}.{sig}==",
        "inner_junk": f"{prefix}.{body}.{sig[:10]}!{sig[10:]}",
    }


def test_the_canonical_payload_reads(ticket):
    assert read_payload(qr_payload(ticket))["t"] == ticket.pk


@pytest.mark.parametrize("kind", ["padding", "one_pad", "body_padding", "stray_bits", "standard_alphabet",
                                  "inner_junk"])
def test_other_spellings_of_the_same_signature_are_refused(ticket, kind):
    assert read_payload(_variants(qr_payload(ticket))[kind]) is None


def test_check_in_refuses_padded_signature(ticket, event, make_api):
    from microstage.models import Role
    from microstage.tests.factories import team_member

    door = make_api(team_member(event.creator, Role.DOOR))
    r = door.post(f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(ticket) + "=="}, format="json")
    assert r.status_code == 400 and r.json()["result"] == "invalid"
    assert door.post(f"/api/v1/events/{event.pk}/checkins", {"payload": qr_payload(ticket)},
                     format="json").status_code == 201


def test_unb64url_round_trips_and_refuses():
    for data in (b"", b"a", b"ab", b"abc", bytes(range(64))):
        assert signing.unb64url(signing.b64url(data)) == data
    for text in ("QQ==", "QR", "Q", "QQ\n", "Q Q"):
        with pytest.raises(ValueError):
            signing.unb64url(text)
