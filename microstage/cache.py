"""Django's Redis cache with one connection pool per process and server.

Django keeps one cache object per thread and per async context (`django.core.cache.caches`), and its
RedisCacheClient keeps its connection pools on that object. Under ASGI each request runs in a context
of its own, so every request that touched the cache built a new pool and opened a new TCP connection
to Redis, then dropped it (Django ticket #35651; measured in a ticket rush: a connect, its handshake and
a thread start in about every sale and refusal). redis-py's ConnectionPool is thread-safe and starts
afresh in a forked child, so one per process and server is what it is made for; the cache objects stay
per context as Django wants them, only their pools are shared.
"""
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
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


class SharedPoolRedisCache(RedisCache):
    """settings.CACHES' backend: Django's RedisCache, its pools shared by every thread and request."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolClient
