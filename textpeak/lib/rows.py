"""Rows written by statements the ORM would build at a higher cost.

The sending workers write a batch of 100 messages' outcomes at a time: ``update_each`` and
``insert_each`` do it in one statement with a parameter per row, where ``bulk_update`` and
``bulk_create`` build a model instance, a CASE or a parameter per row and field (and psycopg
parses the long statement again on every call).

``Model.save()`` compiles its INSERT again on every call: for the send API's lone message that
was a sixth of the request's Python time. ``insert_row`` writes the same columns with the same
values as ``save(force_insert=True)`` (defaults and ``auto_now`` included) from SQL built once
per process; it sends no ``pre_save``/``post_save`` signals, and nothing here listens for them.
Outside a transaction it is one statement in autocommit: one round trip to the database.
"""

from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


@cache
def _statement(model: type[Model]) -> tuple[list, str]:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    # Names from the model, quoted; the values are parameters.
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608
    return fields, f"{sql} RETURNING {quote(meta.pk.column)}"


def insert_row(row: Model) -> None:
    """INSERT ``row`` and give it its primary key, as ``row.save(force_insert=True)`` would."""
    fields, sql = _statement(type(row))
    # The connection itself: django.db.connection looks it up again on every attribute.
    connection = connections[DEFAULT_DB_ALIAS]
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row.pk = cursor.fetchone()[0]
    row._state.adding = False
    row._state.db = connection.alias


def update_each(model: type[Model], column: str, values: dict[Any, Any], **fields: Any) -> None:
    """One UPDATE: the row of each primary key in ``values`` gets its value in ``column``, and
    every one of them ``fields``.

    ``bulk_update`` would build a CASE with one When per row: a few milliseconds of Python per
    hundred rows, on the sending workers' hot path."""
    if not values:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    each = meta.get_field(column)
    shared = [meta.get_field(name) for name in fields]
    assignments = [f"{quote(field.column)} = %s" for field in shared]
    # A VALUES list's columns are column1, column2 … in PostgreSQL and SQLite alike.
    assignments.append(f"{quote(each.column)} = v.column2")
    rows = ", ".join(["(%s, %s)"] * len(values))
    # Names from the model, quoted; the values are parameters.
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {rows}) AS v "  # noqa: S608
        f"WHERE {table}.{quote(meta.pk.column)} = v.column1"
    )
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(shared, fields.values(), strict=True)
    ]
    for pk, value in values.items():
        params += [pk, each.get_db_prep_save(value, connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_each(model: type[Model], column: str, values: list[Any], **fields: Any) -> None:
    """One INSERT: a row for each of ``values`` in ``column``, every one with ``fields`` (and
    the model's defaults for the fields not given)."""
    if not values:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = model._meta
    each = meta.get_field(column)
    shared = [f for f in meta.concrete_fields if f is not meta.auto_field and f is not each]
    template = model(**fields)
    columns = ", ".join(quote(field.column) for field in [*shared, each])
    placeholders = ", ".join(["%s"] * len(shared))
    rows = ", ".join(["(%s)"] * len(values))
    # Names from the model, quoted; the values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {placeholders}, v.column1 FROM (VALUES {rows}) AS v"
    )
    params = [
        field.get_db_prep_save(field.pre_save(template, True), connection) for field in shared
    ]
    params += [each.get_db_prep_save(value, connection) for value in values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def upsert_latest(model: type[Model], unique: list[str], column: str, rows: list[tuple]) -> None:
    """One INSERT of ``rows``, each the values of the ``unique`` fields then of ``column``; a
    row already there with the same ``unique`` values keeps the later of its ``column`` and the
    new one.

    ``bulk_create(update_conflicts=True)`` would overwrite it with the new one even when that
    is earlier: rows reported out of order would move it back."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    fields = [meta.get_field(name) for name in [*unique, column]]
    keys = ", ".join(quote(field.column) for field in fields[:-1])
    latest = quote(fields[-1].column)
    values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * len(rows))
    # Names from the model, quoted; the values are parameters.
    sql = (
        f"INSERT INTO {table} ({keys}, {latest}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({keys}) DO UPDATE SET {latest} = excluded.{latest} "
        f"WHERE {table}.{latest} < excluded.{latest}"
    )
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(fields, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
