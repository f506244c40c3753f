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
in one round trip instead of one each, which matters most while rows are locked.
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
    with pipelined() as pipeline:
        cursors = [connection.cursor() for _ in queries]
        try:
            for cursor, (sql, params, *_models) in zip(cursors, queries, strict=True):
                cursor.execute(sql, params)
            pipeline.sync()  # every answer is in now (the first error raised)
            found = [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    return [_instances(rows, models) if models else rows
            for rows, (_sql, _params, *models) in zip(found, queries, strict=True)]


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
    with connection.wrap_database_errors, connection.connection.pipeline() as pipeline:
        yield pipeline
