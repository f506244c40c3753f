"""Playback tokens: short-lived HMACs over (event or clip id, expiry bucket) that sit in HLS and clip URLs.

A token is the same for everyone admitted to the same event in the same time window, so a CDN can
cache playlists and segments per window (the URL is the cache key; nothing per user is in it). It
is checked on every playlist and segment request; the player asks for a fresh one before it runs
out (GET /api/v1/events/{id}/playback) and swaps it into the URLs it requests. The trade-off is
deliberate: a leaked token admits anyone until it expires (at most 2 windows), in exchange for
one cached copy per window instead of one per viewer.

    /streaming/hls/<event id>/<token>/<recording id>/master.m3u8
    /streaming/hls/<event id>/<token>/<recording id>/720p/index.m3u8   (relative URIs resolve here)
"""
import hashlib
import hmac
import time
from datetime import UTC, datetime

from django.conf import settings
from django.utils.crypto import salted_hmac

from microstage.signing import b64url

# A token issued in window n expires at the end of window n+1: between WINDOW and 2*WINDOW seconds of life.
WINDOW_SECONDS = settings.PLAYBACK_WINDOW_SECONDS
_SALT = "microstage.streaming.playback"
_MAC_CHARS = 22  # 132 bits of the HMAC-SHA256, URL-safe


def _mac(subject: str, expires: int) -> str:
    digest = salted_hmac(_SALT, f"{subject}:{expires}", algorithm="sha256").digest()
    return b64url(digest)[:_MAC_CHARS]


def expiry_for(now: float | None = None) -> int:
    """The expiry (unix seconds) everyone admitted now shares: the end of the next window."""
    now = time.time() if now is None else now
    return (int(now) // WINDOW_SECONDS + 2) * WINDOW_SECONDS


def make_token(subject: str, now: float | None = None) -> tuple[str, datetime]:
    """A token for `subject` (an event or clip id) and when it expires."""
    expires = expiry_for(now)
    return f"{expires}-{_mac(subject, expires)}", datetime.fromtimestamp(expires, tz=UTC)


def seconds_left(subject: str, token: str, now: float | None = None) -> int | None:
    """Seconds the token has left if it is a valid, unexpired token for `subject`, else None.

    Never raises on garbage: anything malformed is simply not a token.
    """
    if not isinstance(token, str) or len(token) > 64:
        return None
    expires_s, _, mac = token.partition("-")
    if not expires_s.isdigit() or len(expires_s) > 12 or len(mac) != _MAC_CHARS:
        return None
    expires = int(expires_s)
    now = time.time() if now is None else now
    # A token further ahead than any we issue was not made by us (or the window setting shrank).
    if expires <= now or expires > now + 2 * WINDOW_SECONDS + 5:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(subject, expires).encode()):
        return None
    return int(expires - now)


def fingerprint(token: str) -> str:
    """A short, non-secret label of a token for logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]
