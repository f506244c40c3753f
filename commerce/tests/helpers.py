"""Shared helpers for the commerce tests (no tests of its own): a test-only sellable kind and threads.

Commerce knows nothing of events (the layering contract covers tests too), so these tests sell a
"seat" kind registered here, whose pools are given per item — exactly the shape a ticket has: its
own pool ("tier:…") and, for in-person tiers, a pool shared with other items ("venue:…"). The same
scenarios with real ticket tiers and tickets are in events/tests/test_ticket_stock.py.
"""
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection

from commerce import sellables, services
from commerce.models import Order
from commerce.models.inventory import Hold, Inventory
from commerce.sellables import Offer
from microstage.errors import NotFound
from microstage.tests.factories import CreatorFactory, UserFactory

KIND = "test_seat"


@dataclass
class Catalog:
    """Items of the test kind (item id -> pools, price, creator) and a thread-safe log of callbacks."""

    creator_id: str
    items: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item_id: str, pools: dict[str, int], price: str = "10.00", creator_id: str | None = None,
            currency: str = "EUR") -> str:
        self.items[item_id] = {"pools": pools, "price": Decimal(price), "creator_id": creator_id or self.creator_id,
                               "currency": currency}
        return item_id

    def offer(self, item_id, quantity, buyer) -> Offer:
        item = self.items.get(item_id) if isinstance(item_id, str) else None
        if item is None:
            raise NotFound("No such item.")
        return Offer(kind=KIND, item_id=item_id, creator_id=item["creator_id"], description=f"Seat {item_id}",
                     unit_price=item["price"], currency=item["currency"], pools=dict(item["pools"]))

    def stock_key(self, item_id) -> str | None:
        """The item's own pool, as a ticket's "tier:<id>" is: its first."""
        item = self.items.get(item_id)
        return next(iter(item["pools"])) if item else None

    def _record(self, name):
        def callback(line, *extra):
            with self._lock:
                self.calls.append((name, line.pk, *extra))
        return callback

    def names(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]


@pytest.fixture
def catalog(db):
    cat = Catalog(creator_id=CreatorFactory().pk)
    sellables.register(KIND, offer=cat.offer, on_paid=cat._record("paid"), on_refunded=cat._record("refunded"),
                       on_cancelled=cat._record("cancelled"), stock_key=cat.stock_key)
    yield cat
    sellables._registry.pop(KIND, None)


def buy(item_id: str, quantity: int = 1, buyer=None, **kw) -> Order:
    buyer = buyer or UserFactory()
    return services.reserve(requests=[services.LineRequest(KIND, item_id, quantity)], buyer=buyer, **kw)


def taken(key: str) -> int:
    """Units of a pool sold or held by an active, unexpired hold: what must never exceed its total."""
    from django.db.models import Sum
    from django.utils import timezone

    pool = Inventory.objects.get(key=key)
    held = (Hold.objects.filter(inventory=pool, status=Hold.Status.ACTIVE, expires_at__gt=timezone.now())
            .aggregate(n=Sum("quantity"))["n"] or 0)
    return pool.sold + held


def run_together(funcs: list[Callable], timeout: float = 60) -> tuple[list, list]:
    """Start all functions at the same moment, each in its own thread and DB connection.

    Returns (results, errors) in no particular order; errors are the exceptions raised.
    """
    barrier = threading.Barrier(len(funcs))
    results, errors, lock = [], [], threading.Lock()

    def run(func):
        try:
            barrier.wait(timeout=timeout)
            value = func()
            with lock:
                results.append(value)
        except Exception as exc:  # collected for the test's assertions
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f,)) for f in funcs]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads did not finish in time"
    return results, errors
