"""The platform's Ed25519 key: signs ticket QR payloads and receipts that anyone can verify.

The private key comes from MICROSTAGE_SIGNING_KEY (base64 of the 32 raw bytes); in development it
is generated once and kept in .data/signing-key. The public key is published at
/.well-known/microstage-signing-key.
"""
import base64
import functools
import json
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the one canonical spelling of the bytes: no padding,
    no other characters (the standard decoder skips them) and no stray bits in the last character.
    So a signature or token cannot be altered and still pass; anything else raises ValueError."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


@functools.cache
def private_key() -> Ed25519PrivateKey:
    raw = settings.SIGNING_KEY
    if not raw:
        path = Path(settings.DATA_DIR) / "signing-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            path.write_text(base64.b64encode(key).decode())
            path.chmod(0o600)
        raw = path.read_text().strip()
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_b64url() -> str:
    return b64url(public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sign(data: bytes) -> str:
    return b64url(private_key().sign(data))


def verify(data: bytes, signature: str) -> bool:
    try:
        public_key().verify(unb64url(signature), data)
        return True
    except (InvalidSignature, ValueError):
        return False


def canonical_json(obj) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_token(prefix: str, claims: dict) -> str:
    """`PREFIX.<b64url(json)>.<b64url(sig)>` — the signature covers the prefix and the body."""
    body = b64url(canonical_json(claims))
    return f"{prefix}.{body}.{sign(f'{prefix}.{body}'.encode())}"


def read_token(prefix: str, token: str) -> dict | None:
    """The claims of a token this platform signed with `prefix`, or None if it is not one."""
    if not isinstance(token, str) or len(token) > 2000:
        return None
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != prefix:
        return None
    if not verify(f"{parts[0]}.{parts[1]}".encode(), parts[2]):
        return None
    try:
        claims = json.loads(unb64url(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
