"""Who may call nginx-rtmp's publish hooks: our nginx only, proven by a shared secret or its address.

nginx sends the secret as `?secret=` in the hook URLs (deploy/nginx-rtmp.conf, and the config that
`make run` writes); MICROSTAGE_RTMP_HOOK_ALLOW names addresses or networks trusted without it.
Anything else gets 403 before the stream key is even looked at, so a leaked key alone cannot start,
stop or keep a stream.
"""
import functools
import hmac
import ipaddress
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from microstage.localsecret import read_or_create

SECRET_FILE = "rtmp-hook-secret"


def hook_secret() -> str:
    """MICROSTAGE_RTMP_HOOK_SECRET, or the one generated into the data directory (as `make run` does)."""
    return settings.RTMP_HOOK_SECRET or read_or_create(Path(settings.DATA_DIR) / SECRET_FILE)


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    try:
        return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"MICROSTAGE_RTMP_HOOK_ALLOW: {exc}") from exc


def _allowed_address(addr: str) -> bool:
    networks = _networks(tuple(settings.RTMP_HOOK_ALLOW))
    if not networks or not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def hook_allowed(request) -> bool:
    """True for a call from our nginx: the right secret, or a peer address on the allow-list."""
    given = request.GET.get("secret", "")
    if given and hmac.compare_digest(given.encode(), hook_secret().encode()):
        return True
    return _allowed_address(request.META.get("REMOTE_ADDR", ""))
