"""Receipts: what an order's buyer paid for, as a page, in the email and as signed JSON.

The machine-readable receipt is `{"receipt": {...}, "signature": ..., ...}` where `signature` is
an Ed25519 signature (base64url, no padding) over `canonical_json(receipt)` — keys sorted, no
whitespace, UTF-8. Anyone can check it with the public key published at
/.well-known/microstage-signing-key.
"""
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from microstage.errors import NotFound
from microstage.signing import canonical_json, public_key_b64url, sign, unb64url

from .models import Order

ALGORITHM = "Ed25519"
KEY_PATH = "/.well-known/microstage-signing-key"
RECEIPT_VERSION = 1


def is_receipted(order: Order) -> bool:
    """Only money that moved gets a receipt: paid orders, and refunded ones (which show the refund)."""
    return order.status in Order.SETTLED and order.paid_at is not None


def _money(value) -> str:
    return f"{value:.2f}"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def receipt_data(order: Order, *, issued_at: datetime | None = None) -> dict:
    """The receipt's content: plain JSON types only, money as decimal strings."""
    if not is_receipted(order):
        raise NotFound(_("This order has no receipt yet."))
    issued_at = issued_at or timezone.now()
    return {
        "version": RECEIPT_VERSION,
        "order": order.pk,
        "issuer": settings.SITE_URL,
        "creator": {"id": order.creator_id, "name": order.creator.name},
        "buyer_email": order.email,
        "lines": [{"description": ln.description, "kind": ln.kind, "item": ln.item_id, "quantity": ln.quantity,
                   "unit_price": _money(ln.unit_price), "total": _money(ln.total),
                   "refunded_quantity": ln.refunded_quantity}
                  for ln in order.lines.all()],
        "subtotal": _money(order.subtotal),
        "discount": _money(order.discount),
        "credit_used": _money(order.credit_used),
        "total": _money(order.total),
        "refunded_total": _money(order.refunded_total),
        "currency": order.currency,
        "status": order.status,
        "paid_at": _iso(order.paid_at),
        "issued_at": _iso(issued_at.replace(microsecond=0)),
    }


def signed_receipt(order: Order, *, issued_at: datetime | None = None) -> dict:
    receipt = receipt_data(order, issued_at=issued_at)
    return {
        "receipt": receipt,
        "algorithm": ALGORITHM,
        "signature": sign(canonical_json(receipt)),
        "public_key": public_key_b64url(),
        "public_key_url": settings.SITE_URL + KEY_PATH,
        "signed_bytes": "canonical JSON of `receipt`: keys sorted, separators ',' and ':', UTF-8, no escapes",
    }


def verify_receipt(document: dict, public_key_b64: str | None = None) -> bool:
    """True when `document` is a receipt signed by the key (ours by default). A helper for tests and
    for support staff; outside parties do the same with any Ed25519 library."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(unb64url(public_key_b64 or public_key_b64url()))
        key.verify(unb64url(document["signature"]), canonical_json(document["receipt"]))
        return True
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False


def signing_key_document() -> dict:
    """What /.well-known/microstage-signing-key publishes."""
    return {"algorithm": ALGORITHM, "public_key": public_key_b64url(), "encoding": "base64url, raw 32 bytes",
            "uses": ["receipts", "ticket QR payloads"]}
