"""The Redis cache keeps one connection pool per process, not one per request (microstage/cache.py)."""
import asyncio
import contextvars

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.cache import cache, caches


def _pool():
    cache.get("pool-probe")  # what any request does: it builds its context's cache object
    return caches["default"], caches["default"]._cache._get_connection_pool(write=False)


async def _request():
    async with ThreadSensitiveContext():  # as Django's ASGIHandler runs each request
        return await sync_to_async(_pool)()


async def _requests(n: int):
    # The server runs each request as a task of its own, started from the server's context, in which
    # no cache object was made.
    return [await asyncio.get_running_loop().create_task(_request(), context=contextvars.Context())
            for _ in range(n)]


def test_requests_under_asgi_share_one_redis_connection_pool():
    seen = asyncio.run(_requests(5))
    objects = {id(obj) for obj, _ in seen}
    pools = {id(pool) for _, pool in seen}
    assert len(objects) == 5  # Django's cache objects are still per request context
    assert len(pools) == 1  # but their connections come from one pool


def test_reads_and_writes_through_the_shared_pool():
    cache.set("shared-pool-check", {"n": 1}, 5)
    assert asyncio.run(sync_to_async(cache.get)("shared-pool-check")) == {"n": 1}


def test_one_redis_client_per_pool_for_every_request():
    seen = asyncio.run(_requests(3))
    clients = [obj._cache.get_client(write=w) for obj, _ in seen for w in (False, True)]  # all kept alive
    assert len({id(client) for client in clients}) == 1  # not a new client (and its reply-parser table) per cache call
