"""Sold-out snapshots (commerce/stock_snapshot.py) on real PostgreSQL and Redis, with threads.

Two promises: a snapshot never lets through a sale the lock would refuse (every sale still goes
through the pool's row lock, so rushes with cancellations, refunds and lapsing holds end exactly at
the stock), and it refuses for at most STOCK_SNAPSHOT_SECONDS after stock comes back (cancels and
refunds drop it at commit, a lapsing hold bounds it by the clock, a raised total is seen at once).
"""
import dataclasses
import random
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commerce import inventory, selectors, sellables, services, stock_snapshot
from commerce.models import Order
from commerce.models.inventory import Hold, Inventory
from microstage.errors import Conflict
from microstage.tests.factories import UserFactory

from .helpers import KIND, buy, run_together, taken
from microstage.permissions import SYSTEM


def sold_out(item, quantity=1, buyer=None) -> Conflict:
    with pytest.raises(Conflict) as exc:
        buy(item, quantity, buyer=buyer)
    assert exc.value.code == "sold_out"
    return exc.value


def locks_taken(ctx) -> int:
    return sum("FOR UPDATE" in q["sql"] for q in ctx.captured_queries)


# Snapshots are written when a sale commits: these tests commit for real.
@pytest.mark.django_db(transaction=True)
class TestRefusedWithoutTheLock:
    def test_a_sold_out_pool_refuses_from_the_snapshot(self, catalog):
        item = catalog.add("a", {"tier:a": 2})
        buy(item, 2)
        buyer = UserFactory()
        with CaptureQueriesContext(connection) as ctx:
            err = sold_out(item, buyer=buyer)
        assert len(ctx.captured_queries) == 0  # not a query, let alone a lock
        assert err.extra["available"] == 0

    def test_more_than_is_left_is_refused_with_what_is_left(self, catalog):
        item = catalog.add("b", {"tier:b": 5})
        buy(item, 3)
        with CaptureQueriesContext(connection) as ctx:
            err = sold_out(item, 3)
        assert locks_taken(ctx) == 0 and err.extra["available"] == 2
        assert buy(item, 2).status == Order.Status.RESERVED  # what is left still sells, under the lock

    def test_without_a_snapshot_the_lock_decides_and_leaves_one(self, catalog):
        item = catalog.add("c", {"tier:c": 1})
        buy(item)
        stock_snapshot.cache.delete(stock_snapshot.PREFIX + "tier:c")
        with CaptureQueriesContext(connection) as ctx:
            sold_out(item)
        assert locks_taken(ctx) == 1
        with CaptureQueriesContext(connection) as ctx:
            sold_out(item)
        assert locks_taken(ctx) == 0

    def test_a_shared_venue_pool_refuses_every_item_on_it(self, catalog):
        a = catalog.add("va", {"tier:va": 5, "venue:v": 2})
        b = catalog.add("vb", {"tier:vb": 5, "venue:v": 2})
        buy(a, 2)
        with CaptureQueriesContext(connection) as ctx:
            sold_out(b)
        assert locks_taken(ctx) == 0

    def test_a_sale_writes_its_snapshot_and_deletes_none(self, catalog, monkeypatch):
        """A sale only takes stock: it has nothing to forget (a snapshot from before it can only say more
        is left, which the lock corrects), so no Redis delete runs while it holds the pools' lock."""
        item = catalog.add("w", {"tier:w": 3})
        buy(item)  # leaves a snapshot: 2 left
        forgotten = []
        monkeypatch.setattr(stock_snapshot, "forget", lambda keys: forgotten.append(set(keys)))
        buy(item)
        assert forgotten == []
        assert stock_snapshot.cache.get(stock_snapshot.PREFIX + "tier:w")["left"] == 1  # the sale's own
        with CaptureQueriesContext(connection) as ctx:
            sold_out(item, 2)
        assert locks_taken(ctx) == 0
        services.cancel(buy(item).pk, actor=SYSTEM)  # stock coming back is still forgotten, now and at commit
        assert forgotten == [{"tier:w"}, {"tier:w"}]

    def test_switched_off(self, catalog, settings):
        settings.STOCK_SNAPSHOT_SECONDS = 0
        item = catalog.add("off", {"tier:off": 1})
        buy(item)
        with CaptureQueriesContext(connection) as ctx:
            sold_out(item)
        assert locks_taken(ctx) == 1


@pytest.mark.django_db(transaction=True)
class TestStockComingBackIsSeen:
    def test_a_cancel_frees_the_stock_at_once(self, catalog):
        item = catalog.add("d", {"tier:d": 1})
        first = buy(item)
        sold_out(item)
        services.cancel(first.pk, actor=SYSTEM)
        assert buy(item).status == Order.Status.RESERVED

    def test_a_refund_frees_the_stock_at_once(self, catalog, sandbox):
        item = catalog.add("e", {"tier:e": 1})
        first = buy(item)
        services.sandbox_pay(first.pk)
        sold_out(item)
        services.refund(first.pk, reason="changed plans", actor=SYSTEM)
        assert buy(item).status == Order.Status.RESERVED

    def test_a_total_raised_through_its_owner_is_seen_at_once(self, catalog):
        item = catalog.add("f", {"tier:f": 1})
        buy(item)
        sold_out(item)
        with transaction.atomic():  # what the selling app's edit does (events.services.events.update_tier)
            catalog.items[item]["pools"] = {"tier:f": 2}
            inventory.resize("tier:f", 2)
        assert buy(item).status == Order.Status.RESERVED

    def test_a_total_raised_behind_its_owners_back_is_seen_within_the_snapshot_age(self, catalog):
        """The item's own pool is asked before the offer, when its total is not known yet: a total raised
        without telling commerce (the admin, a shell) is refused for at most the snapshot's age."""
        item = catalog.add("f2", {"tier:f2": 1})
        buy(item)
        sold_out(item)
        catalog.items[item]["pools"] = {"tier:f2": 2}
        sold_out(item)
        later = timezone.now() + timedelta(seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert buy(item).status == Order.Status.RESERVED

    def test_a_raised_total_of_a_shared_pool_is_seen_at_once(self, catalog):
        """Pools other than the item's own are asked after the offer, against the offer's total."""
        item = catalog.add("f3", {"tier:f3": 5, "venue:f3": 1})
        buy(item)
        sold_out(item)
        catalog.items[item]["pools"] = {"tier:f3": 5, "venue:f3": 2}
        assert buy(item).status == Order.Status.RESERVED

    def test_the_own_pool_refuses_before_the_offer_is_made(self, catalog):
        item = catalog.add("f4", {"tier:f4": 1})
        buy(item)
        sold_out(item)
        not_asked = dataclasses.replace(sellables.get(KIND), offer=mock.Mock(side_effect=AssertionError("offer made")))
        with mock.patch.dict(sellables._registry, {KIND: not_asked}):
            assert sold_out(item).extra["available"] == 0

    def test_a_hold_lapsing_by_the_clock_is_seen_at_its_expiry(self, catalog, settings):
        settings.STOCK_SNAPSHOT_SECONDS = 3600  # even a long-lived snapshot ends when a hold it counted lapses
        item = catalog.add("g", {"tier:g": 1})
        first = buy(item)
        sold_out(item)
        after = first.expires_at + timedelta(milliseconds=1)
        with mock.patch("django.utils.timezone.now", return_value=after):
            assert buy(item).status == Order.Status.RESERVED

    def test_a_stale_snapshot_refuses_for_at_most_its_age(self, catalog):
        """A snapshot written by a request that raced a cancel outlives the cancel, but not its age."""
        item = catalog.add("h", {"tier:h": 1})
        first = buy(item)
        services.cancel(first.pk, actor=SYSTEM)
        now = timezone.now()
        stock_snapshot.cache.set(stock_snapshot.PREFIX + "tier:h",  # the racing request's view: 0 left
                                 {"left": 0, "total": 1, "at": now.timestamp(), "until": now.timestamp() + 1})
        with mock.patch("django.utils.timezone.now", return_value=now + timedelta(milliseconds=500)):
            sold_out(item)  # stale, within its age
        with mock.patch("django.utils.timezone.now", return_value=now + timedelta(seconds=1)):
            assert buy(item).status == Order.Status.RESERVED  # the age is over: the lock decides, and sells


@pytest.mark.django_db(transaction=True)
class TestRushes:
    """Threads on real PostgreSQL and Redis; every sale goes through the lock, so the pool ends exact."""

    BUYERS = 40

    def test_rush_with_cancellations_and_refunds_during_it(self, catalog, sandbox):
        item = catalog.add("r1", {"tier:r1": 10, "venue:r1": 12})
        paid = [buy(item) for _ in range(3)]
        for order in paid:
            services.sandbox_pay(order.pk)
        held = [buy(item) for _ in range(3)]  # 6 of 10 gone
        buyers = [UserFactory() for _ in range(self.BUYERS)]
        funcs = [lambda b=b: buy(item, buyer=b) for b in buyers]
        funcs += [lambda o=o: services.cancel(o.pk, actor=SYSTEM) for o in held]
        funcs += [lambda o=o: services.refund(o.pk, reason="rush", actor=SYSTEM) for o in paid[:2]]
        random.Random(7).shuffle(funcs)
        results, errors = run_together(funcs)
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
        new = [r for r in results if isinstance(r, Order) and r.buyer_id in {b.pk for b in buyers}]
        # 4 left at the start + 3 cancelled + 2 refunded = at most 9 new sales; the pool is never over.
        assert taken("tier:r1") == 1 + len(new) <= 10
        assert taken("venue:r1") <= 12
        # and once the rush is over nothing is refused that the lock would sell
        if taken("tier:r1") < 10:
            assert buy(item).status == Order.Status.RESERVED
        assert len(new) + len(errors) == self.BUYERS

    def test_rush_with_holds_lapsing_during_it(self, catalog, settings):
        """Holds of a first wave lapse (by the clock) in the middle of a second wave.

        Each thread has its own clock here, so each reservation takes its stock alone: a batch counts
        its claims at one moment, its leader's (in production the real time at the lock)."""
        settings.RESERVE_BATCH_MAX = 1
        item = catalog.add("r2", {"tier:r2": 5})
        base = timezone.now()
        first = [buy(item) for _ in range(5)]
        sold_out(item)  # snapshot: 0 left, soonest expiry = the first wave's
        later = first[0].expires_at + timedelta(seconds=1)
        clock = threading.local()

        def at(when, func):
            def run():
                clock.when = when
                with mock.patch("django.utils.timezone.now", side_effect=lambda: getattr(clock, "when", base)):
                    return func()
            return run

        buyers = [UserFactory() for _ in range(self.BUYERS)]
        # Half of the second wave comes before the lapse (all refused), half after (5 sell again).
        funcs = [at(base if n % 2 else later, lambda b=b: buy(item, buyer=b)) for n, b in enumerate(buyers)]
        results, errors = run_together(funcs)
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors), errors
        assert len(results) == 5
        assert all(o.created_at >= base for o in results)
        assert Hold.objects.filter(inventory__key="tier:r2", status=Hold.Status.ACTIVE,
                                   expires_at__gt=later).count() == 5

    def test_batched_rush_after_holds_lapsed(self, catalog, settings):
        """Batched (as a web process batches them): a wave before the first wave's holds lapse is refused,
        a wave after it sells exactly the 5 that came back, counted at the batch's moment."""
        settings.RESERVE_BATCH_MAX = 100
        item = catalog.add("r4", {"tier:r4": 5})
        first = [buy(item) for _ in range(5)]
        sold_out(item)
        clock = {"now": timezone.now()}
        with mock.patch("django.utils.timezone.now", side_effect=lambda: clock["now"]):
            results, errors = run_together([lambda b=b: buy(item, buyer=b) for b in
                                            [UserFactory() for _ in range(10)]])
            assert results == [] and all(e.code == "sold_out" for e in errors)
            clock["now"] = first[0].expires_at + timedelta(seconds=1)
            results, errors = run_together([lambda b=b: buy(item, buyer=b) for b in
                                            [UserFactory() for _ in range(self.BUYERS)]])
        assert len(results) == 5 and all(e.code == "sold_out" for e in errors)
        assert Hold.objects.filter(inventory__key="tier:r4", status=Hold.Status.ACTIVE,
                                   expires_at__gt=clock["now"]).count() == 5

    def test_rush_never_sells_more_than_the_lock_allows(self, catalog):
        item = catalog.add("r3", {"tier:r3": 7})
        buyers = [UserFactory() for _ in range(self.BUYERS)]
        results, errors = run_together([lambda b=b: buy(item, buyer=b) for b in buyers])
        assert len(results) == 7 and taken("tier:r3") == 7
        assert Inventory.objects.get(key="tier:r3").total == 7
        assert all(isinstance(e, Conflict) and e.code == "sold_out" for e in errors)
        assert selectors.availability(["tier:r3"]) == 0
