"""One pooled redis-py client per Redis URL, for the few places that need plain Redis commands (lists,
renames) beyond Django's cache API. Keys are the caller's to prefix."""
import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}


def client(location: str | None = None) -> redis.Redis:
    """The client for `location` (default: the cache's Redis database)."""
    location = location or settings.CACHES["default"]["LOCATION"]
    found = _clients.get(location)
    if found is None:
        found = _clients[location] = redis.Redis.from_url(location, socket_timeout=5, socket_connect_timeout=2)
    return found
