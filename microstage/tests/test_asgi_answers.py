"""What the ASGI fast paths share (microstage/asgi_answers.py)."""
import asyncio

from django.core.cache import cache

from microstage.asgi_answers import AsyncCache


def test_cache_values_are_read_as_django_wrote_them():
    cache.set("asgi-answers-probe", {"left": 0}, 5)
    assert asyncio.run(AsyncCache().values("asgi-answers-probe", "asgi-answers-absent")) == [{"left": 0}, None]


def test_a_rush_of_reads_at_once_waits_for_connections_instead_of_failing():
    reader = AsyncCache()

    async def rush():
        return await asyncio.gather(*(reader.values("asgi-answers-absent") for _ in range(300)))

    assert asyncio.run(rush()) == [[None]] * 300  # redis-py's plain pool refused past 100 connections
