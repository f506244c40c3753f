"""The locked part of a reservation, written as fixed SQL (commerce/inventory.py `lock_pools`,
commerce/stock_snapshot.py `active_holds`): missing pools are made with their totals, every pool is
locked with the reservation's lock timeout for that transaction only, and only active unexpired holds
count."""
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from commerce import inventory
from commerce.models.inventory import Hold, Inventory
from microstage.errors import Conflict

from .helpers import buy

pytestmark = pytest.mark.django_db(transaction=True)


def _other_connection():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def test_missing_pools_are_made_with_their_totals_and_locked(settings):
    settings.LOCK_TIMEOUT_MS = 1234
    Inventory.objects.create(key="p:b", total=5, sold=4)
    with transaction.atomic():
        pools = inventory.lock_pools({"p:c": 7, "p:a": 3, "p:b": lambda: 2})  # a callable is read under the lock
        assert sorted(pools) == ["p:a", "p:b", "p:c"]
        assert (pools["p:a"].total, pools["p:c"].total) == (3, 7) and pools["p:a"].sold == 0
        assert pools["p:b"].total == 4  # never below what is sold
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "1234ms"
        with _other_connection() as other:  # locked until this transaction ends (new rows: not visible yet)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM commerce_inventory WHERE key = 'p:b' FOR UPDATE NOWAIT")
    with connection.cursor() as cursor:  # the timeout was the transaction's only
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"
    assert dict(Inventory.objects.values_list("key", "total")) == {"p:a": 3, "p:b": 4, "p:c": 7}


@pytest.mark.parametrize("lock", [lambda totals: inventory.lock_pools(totals),
                                  lambda totals: inventory.lock_and_count(totals, timezone.now())],
                         ids=["lock_pools", "lock_and_count"])
def test_a_locked_pool_answers_busy_after_the_timeout(settings, lock):
    settings.LOCK_TIMEOUT_MS = 50
    Inventory.objects.create(key="p:x", total=1)
    with _other_connection() as other, other.transaction():
        other.execute("SELECT 1 FROM commerce_inventory WHERE key = 'p:x' FOR UPDATE")
        with pytest.raises(Conflict) as refused, transaction.atomic():
            lock({"p:x": 1})
    assert refused.value.code == "busy"


def test_only_active_unexpired_holds_are_counted(catalog):
    item = catalog.add("seat", {"p:seats": 10, "p:room": 20})
    first, second, third = buy(item, 2), buy(item, 3), buy(item, 1)
    Hold.objects.filter(order=second).update(expires_at=timezone.now() - timedelta(seconds=1))
    Hold.objects.filter(order=third).update(status=Hold.Status.RELEASED)
    pools = list(Inventory.objects.filter(key__in=["p:seats", "p:room", "p:none"]))
    Inventory.objects.create(key="p:none", total=1)
    now = timezone.now()
    held = inventory.active_holds(pools + [Inventory.objects.get(key="p:none")], now)
    by_key = {p.key: p.pk for p in Inventory.objects.all()}
    assert dict(held) == {by_key["p:seats"]: 2, by_key["p:room"]: 2}
    assert held.soonest[by_key["p:seats"]] == first.holds.first().expires_at


def _traced(run) -> list[tuple[str, str]]:
    """The protocol messages the client sent to PostgreSQL while `run()` ran: (message, its text)."""
    import tempfile

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(log.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        log.seek(0)
        sent = [line.split("\t") for line in log.read().splitlines()]
    return [(fields[2], fields[3] if len(fields) > 3 else "") for fields in sent if fields[0] == "F"]


def test_a_sale_s_rows_are_written_in_one_round_trip_while_the_pools_are_locked(catalog):
    """The order, its lines and its holds reach PostgreSQL together and are answered together (a
    round trip ends with Sync, or is a simple Query), so the pools' lock is held one round trip less
    per statement; and they are really written."""
    item = catalog.add("pipe", {"p:pipe": 5, "p:hall": 9})
    with transaction.atomic():  # reserve inside a transaction: no batching, the statements are this one's
        sent = _traced(lambda: buy(item, 2))
    steps = [(message, text) for message, text in sent if message in ("Parse", "Query", "Sync")]
    inserts = [i for i, (_, text) in enumerate(steps) if text.lstrip(' "').startswith('INSERT INTO "commerce_')
               and "commerce_inventory" not in text]
    assert len(inserts) == 3, steps
    between = [message for message, _ in steps[inserts[0]:inserts[-1] + 1]]
    assert between == ["Parse", "Parse", "Parse"], steps  # sent together: no answer waited for in between
    order = Hold.objects.filter(inventory__key="p:pipe").get().order
    assert order.lines.get().quantity == 2
    holds = Hold.objects.filter(order=order, inventory__key__startswith="p:")
    assert sorted(holds.values_list("inventory__key", "quantity")) == [("p:hall", 2), ("p:pipe", 2)]


def test_a_sale_s_pools_are_made_locked_and_counted_in_one_round_trip(catalog):
    """The upsert of the pools, their lock and the count of their holds are sent together, and answered
    together; PostgreSQL runs the count after the lock, so it is still right (see the next tests and
    the concurrency tests)."""
    item = catalog.add("trip", {"p:trip": 5})
    sent = _traced(lambda: buy(item, 1))  # batched: its own transaction
    steps = [(message, text) for message, text in sent if message in ("Parse", "Query", "Sync")]
    first = next(i for i, (_, text) in enumerate(steps) if 'INSERT INTO "commerce_inventory"' in text)
    lock = next(i for i, (_, text) in enumerate(steps) if "FOR UPDATE" in text)
    count = next(i for i, (_, text) in enumerate(steps) if 'FROM "commerce_hold"' in text)
    assert first < lock < count
    assert [message for message, _ in steps[first:count + 2]] == ["Parse"] * 3 + ["Sync"], steps


def test_holds_committed_while_waiting_for_the_lock_are_counted(catalog):
    """The count is its own statement, run once the lock is ours: a hold committed by the transaction
    that held the lock is in it (counted by the locking statement, it would not be)."""
    item = catalog.add("wait", {"p:wait": 5})
    first = buy(item, 1)
    with _other_connection() as other:
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM commerce_inventory WHERE key = 'p:wait' FOR UPDATE")
        other.execute("INSERT INTO commerce_hold (order_id, line_id, inventory_id, quantity, expires_at, status) "
                      "SELECT order_id, line_id, inventory_id, 3, expires_at, status FROM commerce_hold "
                      "WHERE order_id = %s AND inventory_id = (SELECT id FROM commerce_inventory WHERE key = 'p:wait')",
                      [first.pk])

        def commit_soon():
            time.sleep(0.3)
            other.execute("COMMIT")

        committer = threading.Thread(target=commit_soon)
        committer.start()
        with transaction.atomic():
            pools, held = inventory.lock_and_count({"p:wait": 5}, timezone.now())  # waits for the commit
        committer.join()
    assert held[pools["p:wait"].pk] == 1 + 3


def test_a_failed_write_in_one_round_trip_is_django_s_error_and_rolls_back(catalog):
    from django.db import IntegrityError

    from commerce.models import Order
    from microstage import hotsql

    with pytest.raises(IntegrityError), transaction.atomic(), hotsql.pipelined():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO commerce_inventory (key, total, sold, moved, updated_at) "
                           "VALUES ('p:dup', 1, 0, 0, now())")
            cursor.execute("INSERT INTO commerce_inventory (key, total, sold, moved, updated_at) "
                           "VALUES ('p:dup', 1, 0, 0, now())")  # the same key again
    assert not Inventory.objects.filter(key="p:dup").exists() and not Order.objects.exists()
