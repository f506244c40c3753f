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

_pools: dict[tuple, object] = {}
_clients: dict[int, object] = {}  # id(pool) -> the one redis-py client on that pool (pools live for good)
_lock = threading.Lock()


class SharedPoolClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, repr(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            with _lock:
                client = _clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    """settings.CACHES' backend: Django's RedisCache, its pools shared by every thread and request."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolClient
