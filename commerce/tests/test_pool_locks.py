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


def test_a_sale_s_rows_are_written_by_one_statement_while_the_pools_are_locked(catalog):
    """The order, its lines and its holds reach PostgreSQL as one statement: the thread holding the
    pools' lock sends one statement and waits for one answer (each statement sent gives the GIL away);
    and they are really written."""
    item = catalog.add("pipe", {"p:pipe": 5, "p:hall": 9})
    with transaction.atomic():  # reserve inside a transaction: no batching, the statements are this one's
        sent = _traced(lambda: buy(item, 2))
    writes = [text for message, text in sent if message in ("Parse", "Query")
              and any(f'INSERT INTO "commerce_{table}"' in text for table in ("order", "orderline", "hold"))]
    assert len(writes) == 1, writes
    assert all(f'INSERT INTO "commerce_{table}" (' in writes[0] for table in ("order", "orderline", "hold"))
    order = Hold.objects.filter(inventory__key="p:pipe").get().order
    assert order.lines.get().quantity == 2
    holds = Hold.objects.filter(order=order, inventory__key__startswith="p:")
    assert sorted(holds.values_list("inventory__key", "quantity")) == [("p:hall", 2), ("p:pipe", 2)]


def test_under_the_lock_a_sale_waits_for_one_answer_only(catalog):
    """In a transaction of its own, once the lock and the count are answered, the sale sends its rows
    with COMMIT behind them, answered together: while the pools are locked the thread waits for one
    answer (the count's). Nothing is asked after COMMIT either."""
    item = catalog.add("commit", {"p:commit": 5})
    sent = _traced(lambda: buy(item, 1))  # batched: its own transaction
    count = next(i for i, (_, text) in enumerate(sent) if 'FROM "commerce_hold"' in text)
    commit = next(i for i, (_, text) in enumerate(sent) if text.strip() == '"" "COMMIT" 0')
    after = [(message, text.lstrip(' "')[:60]) for message, text in sent[count:]
             if message not in ("Bind", "Describe", "Execute")]
    assert [message for message, _ in after] == ["Parse", "Sync", "Flush", "Parse", "Parse", "Sync", "Flush"], after
    assert after[3][1].startswith('WITH "new_0" AS (INSERT INTO "commerce_order"'), after
    assert sent[commit][0] == "Parse" and commit > count
    assert Hold.objects.filter(inventory__key="p:commit").get().order.lines.get().quantity == 1


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


def test_rows_of_several_models_are_inserted_by_one_statement_as_the_orm_would(catalog):
    """`hotsql.insert`: values made as the ORM makes them (defaults, auto_now, JSON, keys made in
    Python), database-made keys left to the database, the instances marked saved."""
    from commerce.models import Order, OrderLine
    from microstage import hotsql

    pool = Inventory.objects.create(key="p:ins", total=5)
    order = Order(creator_id=catalog.creator_id, email="a@example.com", currency="EUR",
                  expires_at=timezone.now() + timedelta(minutes=5))
    line = OrderLine(order=order, kind="ticket", item_id="tier_x", description="A ticket", options={"code": "MS"},
                     unit_price=10, list_price=10, quantity=2, total=20, position=0)
    holds = [inventory.hold(order=order, line=line, pool=pool, quantity=2, expires_at=order.expires_at)]
    with transaction.atomic():
        hotsql.insert([order], [line], holds)
    stored = Order.objects.get(pk=order.pk)
    assert stored.created_at is not None and stored.status == order.status == Order.Status.RESERVED
    assert OrderLine.objects.get(pk=line.pk).options == {"code": "MS"}
    assert Hold.objects.get(order=order).quantity == 2 and holds[0].pk is None  # made by the database, not read
    assert not order._state.adding and order._state.db == "default"
    with pytest.raises(ValueError):
        hotsql.insert([order])  # already saved


def _add_pool(key: str) -> None:
    from microstage import hotsql

    hotsql.insert([Inventory(key=key, total=1)])


def test_rows_sent_with_commit_run_the_on_commit_callbacks():
    from microstage import hotsql

    committed = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(Inventory.objects.filter(key="p:hook").exists()))
        hotsql.insert([Inventory(key="p:hook", total=1)], commit=True)
        assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE  # committed
    assert committed == [True]


def test_no_commit_is_sent_inside_another_transaction():
    from microstage import hotsql

    with transaction.atomic():
        _add_pool("p:outer")
        with transaction.atomic():  # a savepoint: this block does not end the transaction
            hotsql.insert([Inventory(key="p:inner", total=1)], commit=True)
        assert connection.connection.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        transaction.set_rollback(True)
    assert not Inventory.objects.filter(key__in=["p:outer", "p:inner"]).exists()


def test_a_failed_insert_sent_with_commit_is_django_s_error_and_rolls_back():
    from django.db import IntegrityError

    from microstage import hotsql

    with pytest.raises(IntegrityError), transaction.atomic():
        _add_pool("p:first")
        hotsql.insert([Inventory(key="p:dup", total=1), Inventory(key="p:dup", total=1)], commit=True)
    assert not Inventory.objects.filter(key__in=["p:first", "p:dup"]).exists()
    with transaction.atomic():  # the connection is usable again
        hotsql.insert([Inventory(key="p:after", total=1)], commit=True)
    assert Inventory.objects.filter(key="p:after").exists()
