"""Prepared statements for the few hand-written statements every page or rating runs (the session's user,
the item, the first submit, the first-shown mark).

Django binds parameters on the client, so PostgreSQL parses and plans each statement anew; for the item's
page query (five joins, the role flags and the progress subquery) planning cost about four times as long
as running it. `prepared_cursor` runs a statement with server-side binding, prepared once per connection
(psycopg keeps the most recently used ones, see its `prepared_max`) and planned once: config.settings has
the connection use generic plans for prepared statements (they find rows by key). It is a Django cursor:
the statement is logged and counted like any other query.

Preparing needs a persistent connection (CONN_MAX_AGE, set in config.settings) and is switched off with
DATABASE_PREPARED_STATEMENTS=0, e.g. behind a PgBouncer older than 1.21 in transaction mode; the statements
then run as usual. On SQLite this is a plain cursor.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache


@contextmanager
def prepared_cursor(db):
    """A cursor on connection `db` whose `execute` prepares its statement (PostgreSQL); use it only for
    statements whose text is the same on every call, parameters apart."""
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = _preparing_cursor_class()(db.connection)
    with db._prepare_cursor(raw) as cursor:  # Django's wrapper: query logging, execute wrappers
        yield cursor


@cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor  # needs psycopg: PostgreSQL only

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params, prepare=True, **kwargs)

    return PreparingCursor


def converted(db, fields, values) -> list:
    """A row's raw `values` for model `fields` as the ORM gives them (JSON decoded; on SQLite, dates and
    booleans too), for Model.from_db."""
    out = []
    for field, value in zip(fields, values, strict=True):
        col = field.cached_col
        for convert in db.ops.get_db_converters(col) + col.get_db_converters(db):
            value = convert(value, col, db)
        out.append(value)
    return out
