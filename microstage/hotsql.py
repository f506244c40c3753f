"""The few statements every sale runs, as SQL written once instead of built by the ORM on every call.

Django builds a query from scratch each time it runs one: the filter becomes a WHERE tree, the tree
is compiled to SQL, the select list is worked out from the models. For a read of one row by its keys
that is about a millisecond of CPU, several times what the database spends answering it, and in a
ticket rush every buyer's request pays it for each read (bench/README.md, "seventh round").

Here a read is a fixed statement. Its select lists come from the models' own metadata (`columns`),
so a field added to a model is read without touching the statement, and its rows become model
instances the way the ORM makes them (`Model.from_db`, with the same value converters), related rows
cached on them as `select_related` would (`attach`). Aggregates (`rows`), writes (`execute`) and
existence checks (`exists`) run their fixed statement as it is. Only statements on a hot path are
written this way; everything else stays with the ORM.

Writes that need no answer in between can also be sent together (`pipelined`): PostgreSQL answers them
in one round trip instead of one each, which matters most while rows are locked: on a busy web process
every answer waited for also costs the thread a wait for the GIL (bench/README.md, tenth and eleventh
rounds). New rows of several models can be written by one statement (`insert`), and sent with the
transaction's COMMIT, so nothing is waited for between the last write and letting the locks go.
"""
from contextlib import contextmanager
from functools import cache

from django.db import connection


@cache
def _layout(model, alias: str) -> tuple[str, list[str], list]:
    fields = model._meta.concrete_fields
    select = ", ".join(f'{alias}."{f.column}"' for f in fields)
    converters = []
    for f in fields:
        col = f.get_col(alias)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        converters.append([(conv, col) for conv in found])
    return select, [f.attname for f in fields], converters


def columns(model, alias: str) -> str:
    """The select list of every concrete column of `model` under the table alias `alias`."""
    return _layout(model, alias)[0]


def statement(template: str, **models) -> str:
    """`template` with `{a}` replaced by the select list of the model passed as `a` (table alias `a`) and
    `{a_table}` by its quoted table name; made once per template. Only model metadata goes into the text:
    values are always parameters (`%s`)."""
    return _statement(template, tuple(sorted(models.items(), key=lambda item: item[0])))


@cache
def _statement(template: str, models: tuple) -> str:
    names = {}
    for alias, model in models:
        names[alias] = columns(model, alias)
        names[f"{alias}_table"] = connection.ops.quote_name(model._meta.db_table)
    return template.format(**names)


def fetch(sql: str, params, *models: tuple) -> list[tuple]:
    """Run `sql` (selecting `columns(model, alias)` for each `(model, alias)` in `models`, in that
    order, and nothing else) and make one instance of each model per row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _instances(cursor.fetchall(), models)


def fetch_together(*queries: tuple) -> list[list[tuple]]:
    """Several statements sent at once and answered in one round trip (`pipelined`), PostgreSQL running
    each after the one before: the rows of each, as model instances for a query given as `(sql, params,
    (model, alias), ...)` (see `fetch`), as plain tuples for `(sql, params)`."""
    cursors = [connection.cursor() for _ in queries]
    try:
        with pipelined():
            for cursor, (sql, params, *_models) in zip(cursors, queries, strict=True):
                cursor.execute(sql, params)
        # The pipeline's end is the one round trip: every answer is in now (the first error raised).
        found = [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()
    return [_instances(rows, models) if models else rows
            for rows, (_sql, _params, *models) in zip(found, queries, strict=True)]


def insert(*groups: list, commit: bool = False) -> None:
    """New rows written by one INSERT statement, whatever their models: each group is a list of unsaved
    instances of one model, the groups before the last written in its WITH clause. One statement is
    sent and one answer waited for, with nothing read back.

    Values are made as the ORM makes them for an insert (`Field.pre_save`, then `get_db_prep_save`:
    defaults, `auto_now`, JSON). Primary keys made in Python are written; one the database makes (an
    auto field left empty) is not read back, so use this only where the new rows' database-made keys
    are not needed afterwards. Foreign keys between the groups are fine in any order: PostgreSQL checks
    them at the end of the statement (Django's are deferred to COMMIT anyway). The instances are marked
    saved, as `bulk_create` marks them.

    `commit=True`, as the last statement of an atomic block that is the whole transaction: COMMIT is
    sent right behind the rows and answered with them, so locks the transaction holds are let go as soon
    as the rows reach PostgreSQL, without waiting for their answer first. It is the COMMIT Django would
    send on leaving the block, sent a moment sooner; Django then finds nothing left to commit and runs
    the on-commit callbacks as usual. Nothing may run in the block after it. Inside another transaction
    (a savepoint) it is not sent: the block ends as it would anyway."""
    groups = [group for group in groups if group]
    if not groups:
        return
    quote = connection.ops.quote_name
    parts, params = [], []
    for group in groups:
        model = type(group[0])
        made_by_db = group[0].pk is None
        fields = [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)
                  and not (f.primary_key and made_by_db)]
        table, names = quote(model._meta.db_table), [quote(f.column) for f in fields]
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        parts.append(f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([row] * len(group))}")  # noqa: S608 (quoted model metadata; values are parameters)
        for obj in group:
            if type(obj) is not model or not obj._state.adding or (obj.pk is None) != made_by_db:
                raise ValueError(f"insert() takes new instances of one model per group, all with keys or none: {obj!r}")
            params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    *first, last = parts
    ctes = ", ".join(f'"new_{i}" AS ({part})' for i, part in enumerate(first))
    sql = f"WITH {ctes} {last}" if first else last
    commit = commit and connection.in_atomic_block and connection.commit_on_exit and not connection.savepoint_ids
    with connection.cursor() as cursor:
        if commit:
            with pipelined():  # one round trip; a failed insert makes PostgreSQL skip the COMMIT behind it
                cursor.execute(sql, params)
                cursor.execute("COMMIT")
        else:
            cursor.execute(sql, params)
    for group in groups:
        for obj in group:
            obj._state.adding = False
            obj._state.db = connection.alias


def _instances(rows: list[tuple], models) -> list[tuple]:
    layouts = [_layout(model, alias) for model, alias in models]
    out = []
    for row in rows:
        start, made = 0, []
        for (model, _alias), (_select, names, converters) in zip(models, layouts, strict=True):
            values = list(row[start:start + len(names)])
            for i, convs in enumerate(converters):
                for conv, col in convs:
                    values[i] = conv(values[i], col, connection)
            made.append(model.from_db(connection.alias, names, values))
            start += len(names)
        out.append(tuple(made))
    return out


def attach(instance, field_name: str, related) -> None:
    """Cache `related` as `instance.<field_name>`, as select_related does (no query when it is read)."""
    instance._meta.get_field(field_name).set_cached_value(instance, related)


def rows(sql: str, params) -> list[tuple]:
    """The rows of `sql` as plain tuples (aggregates and the like: no model instances)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params) -> int:
    """Run a statement that returns no rows; how many rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def exists(sql: str, params) -> bool:
    """Whether `sql` (a SELECT) finds a row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


@contextmanager
def pipelined():
    """Statements run inside (by the ORM or here) are sent at once and answered together when the block
    ends, or sooner where one's rows are read (psycopg's pipeline mode). Their errors are raised as
    Django's database errors, at the latest when the block ends. Use it inside a transaction, for writes
    whose outcome nothing inside the block depends on."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield
