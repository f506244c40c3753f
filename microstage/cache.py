"""Django's Redis cache with one connection pool per process and server.

Django keeps one cache object per thread and per async context (`django.core.cache.caches`), and its
RedisCacheClient keeps its connection pools on that object. Under ASGI each request runs in a context
of its own, so every request that touched the cache built a new pool and opened a new TCP connection
to Redis, then dropped it (Django ticket #35651; measured in a ticket rush: a connect, its handshake and
a thread start in about every sale and refusal). redis-py's ConnectionPool is thread-safe and starts
afresh in a forked child, so one per process and server is what it is made for; the cache objects stay
per context as Django wants them, only their pools are shared.

Django also builds a new redis-py client for every cache call (`get_client`), and a client's
constructor fills a table of some 170 reply parsers: about a third of a millisecond each time, paid
by every cache read and write (two per group-buy participant settled, several per request). A client
holds no connection of its own (each command borrows one from the pool and gives it back), so one
client per pool serves every thread.
"""
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_shared: dict[tuple, tuple] = {}  # (server, pool class, options) -> (its pool, the one client on it)
_lock = threading.Lock()


class SharedPoolClient(RedisCacheClient):
    def _pool_and_client(self, write) -> tuple:
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, repr(sorted(self._pool_options.items())))
        found = _shared.get(key)
        if found is None:
            with _lock:
                found = _shared.get(key)
                if found is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    found = _shared[key] = (pool, self._client(connection_pool=pool))
        return found

    def _get_connection_pool(self, write):
        return self._pool_and_client(write)[0]

    def get_client(self, key=None, *, write=False):
        return self._pool_and_client(write)[1]


class SharedPoolRedisCache(RedisCache):
    """settings.CACHES' backend: Django's RedisCache, its pools shared by every thread and request."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolClient
