"""Inserting validated import rows at COPY speed, with the ORM's semantics.

On PostgreSQL the rows stream through psycopg's COPY straight into the table, inside the caller's
transaction: the table's constraints are checked as each row arrives, so a duplicate key raises
IntegrityError exactly as bulk_create does, and a failure leaves nothing behind (COPY is one statement).
Per-row model instances and per-value SQL adaptation are what make bulk_create several times slower than
a bare COPY of the same rows (benchmarks/case_import.py). Other databases (SQLite) keep bulk_create.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connections, transaction
from django.db.models import JSONField
from django.utils import timezone
from psycopg.adapt import PyFormat, Transformer


def uses_copy(connection) -> bool:
    return connection.vendor == "postgresql"


def _columns(model, fields: Sequence[str], constants: dict) -> tuple[list, list, dict]:
    """(fields given per row, fields whose callable default runs per row, {field: value for every row})."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in (*fields, *constants) if name not in by_attname]
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {', '.join(unknown)}")
    given, per_row, fixed, now = [by_attname[name] for name in fields], [], {}, timezone.now()
    for name, value in constants.items():
        fixed[by_attname[name]] = value
    for field in model._meta.concrete_fields:
        if field.attname in fields or field.attname in constants or field is model._meta.pk:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fixed[field] = now
        elif field.has_default() and callable(field.default):
            per_row.append(field)  # e.g. a random public code: one call per row, as model instances do
        else:
            fixed[field] = field.get_default()
    return given, per_row, fixed


def copy_insert(model, fields: Sequence[str], rows: Iterable[Sequence], *, constants: dict | None = None,
                using: str = "default") -> int:
    """Insert `rows` (one tuple of values per row, in the order of `fields`, named by attname such as
    `case_set_id`) into `model`'s table; returns how many were inserted.

    `constants`: attname -> value shared by every row (a parent's id). Other fields take their model
    default, a callable one called per row; auto_now/auto_now_add timestamps are now. JSON fields take
    Python values. Atomic: a row the database refuses (IntegrityError) leaves no row inserted.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        if uses_copy(connection):
            with copy_rows(model, fields, constants=constants, using=using) as write:
                return write(rows)
        objs = [model(**dict(zip(fields, row, strict=True)), **(constants or {})) for row in rows]
        model.objects.using(using).bulk_create(objs)
        return len(objs)


@contextmanager
def copy_rows(model, fields: Sequence[str], *, constants: dict | None = None,
              using: str = "default") -> Iterator[Callable[[Iterable[Sequence]], int]]:
    """An open COPY into `model`'s table (PostgreSQL only), inside the caller's transaction: yields
    `write(rows) -> int`, to be called for one batch after another while the caller works out the next one;
    the server stores each batch as it arrives. Rows and constants as for copy_insert. Leaving the block ends
    the COPY; an exception in it aborts the COPY (and the caller's transaction has to roll back)."""
    connection = connections[using]
    given, per_row, fixed = _columns(model, fields, constants or {})
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in (*given, *per_row, *fixed))
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        yield _RowWriter(copy, given, per_row, _as_text(cursor.cursor, connection, fixed))


def _as_text(cursor, connection, fixed: dict) -> list[str | None]:
    """The values shared by every row in PostgreSQL's text form, rendered once (rendering a timestamp costs
    more than escaping a row's text fields); COPY then escapes them as any text value."""
    transformer, encoding = Transformer.from_context(cursor), cursor.connection.info.encoding
    values = [field.get_db_prep_save(value, connection) for field, value in fixed.items()]
    return [None if value is None else bytes(transformer.get_dumper(value, PyFormat.TEXT).dump(value)).decode(
        encoding) for value in values]


class _RowWriter:
    """Writes rows to an open COPY: each row's given values, then its per-row defaults, then the shared tail."""

    def __init__(self, copy, given: list, per_row: list, tail: list):
        self.copy, self.per_row, self.tail = copy, per_row, tail
        json_at = [i for i, f in enumerate(given) if isinstance(f, JSONField)]
        # A JSON value that several rows share (identical metadata cells of a CSV) is written once: per column,
        # id -> (value, text), the value held so that its id is not reused by another object meanwhile.
        self.json = [(i, given[i].encoder, {}) for i in json_at]

    def __call__(self, rows: Iterable[Sequence]) -> int:
        # Straight into the table: COPY checks every constraint row by row, one that fails aborts the whole
        # COPY (IntegrityError, nothing inserted), and ids follow the rows' order as with bulk_create.
        write_row, per_row, tail, inserted = self.copy.write_row, self.per_row, self.tail, 0
        for row in rows:
            row = list(row)
            for i, encoder, texts in self.json:
                value = row[i]
                if value is not None:  # None is SQL NULL, as the ORM stores it
                    held = texts.get(id(value))
                    if held is None:
                        held = texts[id(value)] = (value, json.dumps(value, cls=encoder))
                    row[i] = held[1]
            if per_row:
                row += [f.get_default() for f in per_row]
            write_row(row + tail)
            inserted += 1
        return inserted
