"""One SELECT's result as numpy columns, without a Python object per row on PostgreSQL.

A report of a million ratings reads millions of rows. Through the ORM (or any row-wise fetch, COPY
rows included: libpq hands over one row at a time) each row costs microseconds of Python. On
PostgreSQL every column is therefore aggregated on the server into ONE binary string
(``string_agg(int8send(x), '')``: the big-endian bytes of each value, back to back) and the
client turns each string into an array with ``np.frombuffer``: one row comes back, whatever the
size. All aggregates of one query read the same rows in the same order, so the columns stay
aligned; the row order itself is unspecified (callers sort). Text columns come as two aggregates,
the UTF-8 bytes and their lengths. Other databases (SQLite in the tests) run the same column
expressions as a plain SELECT.

Column kinds: "int" (int64), "int4" (int32 on the wire, int64 here), "float", "bool", "time"
(timestamp with time zone -> datetime64[us], UTC) and "text" (object array of str). A column
expression must not be NULL except "float", "text" and "time" ones (NULL gives NaN, "" and NaT);
a "text" or "time" expression takes no query parameter.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction

from annotation.models import Assignment, Rating, RatingValue
from inference.models import JudgeScore
from studies.models import Case, CaseSet, Response

# PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC.
PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")
_SEND = {"int": ("int8send", "CAST({} AS bigint)", ">i8"), "int4": ("int4send", "CAST({} AS integer)", ">i4"),
         "float": ("float8send", "COALESCE(CAST({} AS double precision), 'NaN')", ">f8"),
         "bool": ("boolsend", "{}", "?"), "time": (None, None, ">i8")}
# NULL (and -infinity) timestamps travel as the smallest int64, infinity as the largest: both become NaT.
NOT_A_TIME = "'\\x8000000000000000'::bytea"


def _pg_select(columns: list[tuple[str, str]]) -> str:
    # string_agg skips NULLs, which would shift a column against the others: every value is made non-NULL.
    parts = []
    for expression, kind in columns:
        if kind == "text":
            value = f"convert_to(COALESCE(CAST({expression} AS text), ''), 'UTF8')"
            parts += [f"string_agg({value}, '')", f"string_agg(int4send(octet_length({value})), '')"]
        elif kind == "time":
            parts.append(f"string_agg(COALESCE(timestamptz_send({expression}), {NOT_A_TIME}), '')")
        else:
            send, cast, _ = _SEND[kind]
            parts.append(f"string_agg({send}({cast.format(expression)}), '')")
    return ", ".join(f"COALESCE({part}, '')" for part in parts)


def _from_pg(buffers: list[bytes], columns: list[tuple[str, str]]) -> list[np.ndarray]:
    out, at = [], 0
    for _, kind in columns:
        if kind == "text":
            data, lengths = buffers[at], np.frombuffer(buffers[at + 1], ">i4").astype(np.int64)
            at += 2
            ends = np.cumsum(lengths).tolist()
            starts = [0, *ends[:-1]][:len(ends)]
            out.append(object_array([data[s:e].decode() for s, e in zip(starts, ends, strict=True)]))
            continue
        raw = np.frombuffer(buffers[at], _SEND[kind][2])
        at += 1
        if kind == "time":
            ticks = raw.astype(np.int64)
            values = (PG_EPOCH + ticks.astype("timedelta64[us]")).astype("datetime64[us]")
            values[(ticks == np.iinfo(np.int64).min) | (ticks == np.iinfo(np.int64).max)] = np.datetime64("NaT")
            out.append(values)
        else:
            out.append(raw.astype({"int": np.int64, "int4": np.int64, "float": np.float64, "bool": bool}[kind]))
    return out


def object_array(values: list) -> np.ndarray:
    """A 1-D object array of `values` as they are (dicts stay dicts, never unpacked into a second axis)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _as_time(value) -> np.datetime64:
    """A database timestamp (datetime or SQLite's text) as UTC datetime64[us]; NaT for NULL."""
    if value is None:
        return np.datetime64("NaT")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(value, "us")


def _from_rows(rows: list[tuple], columns: list[tuple[str, str]]) -> list[np.ndarray]:
    out = []
    for i, (_, kind) in enumerate(columns):
        values = [row[i] for row in rows]
        if kind == "text":
            out.append(object_array(["" if v is None else str(v) for v in values]))
        elif kind == "time":
            out.append(np.array([_as_time(v) for v in values], dtype="datetime64[us]"))
        elif kind == "float":
            out.append(np.array([np.nan if v is None else v for v in values], dtype=np.float64))
        else:
            out.append(np.array(values, dtype={"int": np.int64, "int4": np.int64, "bool": bool}[kind]))
    return out


def fetch_columns(columns: list[tuple[str, str]], from_where: str, params: list) -> list[np.ndarray]:
    """`SELECT <columns> <from_where>` as one array per column, rows in the same (unspecified) order."""
    if connection.vendor != "postgresql":
        return fetch_rows(columns, from_where, params)
    import psycopg

    sql = f"SELECT {_pg_select(columns)} {from_where}"
    connection.ensure_connection()
    start = time.monotonic()
    # Binary results need a server-side binding cursor (Django's binds on the client side).
    with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
        # One big scan: compiling it (JIT) costs more than it saves, and hash joins should stay in memory. Planned
        # for this study's values: the connection's generic plans (config.settings) suit key lookups, but here a
        # generic plan assumes a study holds half the table and scans every rating of the others (seconds).
        # Random reads priced as on an SSD or a cached database (PostgreSQL's advice: 1.1), so that a small
        # study beside large ones is found through the indexes, not by scanning every study's ratings.
        cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true), "
                       "set_config('plan_cache_mode', 'force_custom_plan', true), "
                       "set_config('random_page_cost', '1.1', true)")
        cursor.execute(sql, params, binary=True)
        buffers = list(cursor.fetchone())
    if connection.queries_logged:  # as Django's own cursor does (query logging, CaptureQueriesContext)
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})
    return _from_pg(buffers, columns)


def fetch_rows(columns: list[tuple[str, str]], from_where: str, params: list) -> list[np.ndarray]:
    """The same as a plain SELECT, row by row: any database (and the reference the aggregated path is tested on)."""
    with connection.cursor() as cursor:
        select = ", ".join(f"CAST({e} AS text)" if kind == "text" else e for e, kind in columns)
        cursor.execute(f"SELECT {select} {from_where}", params)
        return _from_rows(cursor.fetchall(), columns)


def code_of(expression: str, vocabulary: tuple[str, ...]) -> tuple[str, list]:
    """SQL giving the 1-based position of `expression`'s value in `vocabulary`, 0 when absent; and its params."""
    if not vocabulary:
        return "0", []
    return f"CASE {expression} {' '.join(['WHEN %s THEN ' + str(i + 1) for i in range(len(vocabulary))])} ELSE 0 END", \
        list(vocabulary)


# --- the study's rows ---------------------------------------------------------------------------


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def response_columns(study_id: int) -> list[np.ndarray]:
    """id, code, case, persona, model, sample index, parsed label/confidence/status of the study's responses, by id."""
    columns = fetch_columns(
        [("r.id", "int"), ("r.code", "text"), ("r.case_id", "int"), ("r.persona_id", "int"), ("r.model_id", "int"),
         ("r.sample_index", "int"), ("r.parsed_label", "text"), ("r.parsed_confidence", "float"),
         ("r.parse_status", "text")],
        f"FROM {_table(Response)} r WHERE r.study_id = %s", [study_id])
    order = np.argsort(columns[0], kind="stable")
    return [column[order] for column in columns]


def case_columns(study_id: int) -> dict[str, np.ndarray]:
    """The cases the study's responses answer, by id: names, metadata (dicts) and reference answers (stripped)."""
    names = ("id", "external_id", "case_set", "case_set_id", "metadata", "task_type", "care_setting",
             "reference_answer")
    columns = fetch_columns(
        [("c.id", "int"), ("c.external_id", "text"), ("s.name", "text"), ("c.case_set_id", "int"),
         ("c.metadata", "text"), ("c.task_type", "text"), ("c.care_setting", "text"), ("c.reference_answer", "text")],
        f"FROM {_table(Case)} c JOIN {_table(CaseSet)} s ON s.id = c.case_set_id "
        f"WHERE c.id IN (SELECT case_id FROM {_table(Response)} WHERE study_id = %s)", [study_id])
    order = np.argsort(columns[0], kind="stable")
    out = {name: column[order] for name, column in zip(names, columns, strict=True)}
    metadata = [json.loads(m) if m else None for m in out["metadata"].tolist()]
    out["metadata"] = object_array([m if isinstance(m, dict) else {} for m in metadata])
    out["reference_answer"] = object_array([r.strip() for r in out["reference_answer"].tolist()])
    return out


def _words(codes: np.ndarray, vocabulary: tuple[str, ...], unknown: dict[int, str], ids: np.ndarray) -> tuple:
    """Strings of coded values (0 = not in the vocabulary: looked up in `unknown` by value id) and their sort ranks."""
    words = sorted(set(vocabulary) | set(unknown.values()))
    rank = {w: i for i, w in enumerate(words)}
    values = object_array([None, *vocabulary])[codes]
    ranks = np.array([0, *(rank[w] for w in vocabulary)], dtype=np.int64)[codes]
    for i in np.flatnonzero(codes == 0).tolist():
        values[i] = unknown[int(ids[i])]
        ranks[i] = rank[values[i]]
    return values, ranks


IdRange = tuple[int | None, int | None] | None
FIELDS = ("dimension", "value", "confidence")  # a rating value's texts, coded by their vocabularies
CODED = ("value", "confidence")  # whose codes come back beside the texts (``rating_columns``)


def rating_query(study_id: int, status: str, vocabularies: dict[str, tuple[str, ...]],
                 ids: IdRange = None) -> tuple[list[tuple[str, str]], str, list]:
    """The columns, FROM/WHERE and parameters of the study's rating values (`rating_columns` reads them);
    with `ids` (low, high), only those of assignments low <= id < high (None: no bound).

    One number per value carries its dimension, value and confidence codes (< 2^20 each) and the
    cannot-assess flag. Each text is looked up among its own field's words only: a million ratings' values
    are compared with a few words each, not with every word of the schema (seconds of the server's time).
    """
    if any(len(words) >= 2**20 for words in vocabularies.values()):
        raise ValueError("the rating schema declares too many distinct values")
    codes = [code_of(f"v.{name}", vocabularies[name]) for name in FIELDS]
    packed = (f"({codes[0][0]}) * {2**42} + ({codes[1][0]}) * {2**21} + ({codes[2][0]}) * 2 "
              "+ CASE WHEN v.cannot_assess THEN 1 ELSE 0 END")
    columns = [("a.response_id", "int"), ("a.rater_id", "int"), ("a.id", "int"), ("r.id", "int"),
               ("COALESCE(a.repeat_of_id, 0)", "int"),
               # Where the rater actually met the item; the planned queue place until it was shown.
               ("COALESCE(a.display_position, a.position)", "int4"), ("v.id", "int"), (packed, "int"),
               ("r.revision", "int4"), ("a.active_seconds", "float"), ("a.submitted_at", "time"),
               ("r.updated_at", "time")]
    from_where = (f"FROM {_table(RatingValue)} v JOIN {_table(Rating)} r ON r.id = v.rating_id "
                  f"JOIN {_table(Assignment)} a ON a.id = r.assignment_id "
                  "WHERE a.study_id = %s AND a.status = %s AND NOT a.is_calibration")
    params = [p for _, params in codes for p in params] + [study_id, status]
    # A range, which PostgreSQL estimates from its statistics (a modulo it would take for 0.5 % of the rows);
    # stated on the ratings' assignment too, which the server does not infer from the join: it then joins only
    # this part's ratings, not all the study's (a part of a million ratings' load: 2.8 -> 2.2 s on the server).
    low, high = ids or (None, None)
    for column in ("a.id", "r.assignment_id"):
        if low is not None:
            from_where += f" AND {column} >= %s"
            params.append(low)
        if high is not None:
            from_where += f" AND {column} < %s"
            params.append(high)
    return columns, from_where, params


def rating_columns(study_id: int, status: str, vocabularies: dict[str, tuple[str, ...]],
                   ids: IdRange = None) -> dict[str, np.ndarray]:
    """Every stored rating value of the study's submitted, non-calibration assignments, or those of the
    assignments in `ids` (as in `rating_query`), ordered by assignment, then dimension (sorted where the part is
    read: the parts of a load are sorted side by side, and joined in the order of their ranges stay sorted).

    Dimension, value and confidence travel as positions in their `vocabularies`; the few values outside
    them (a schema edited after rating) are read by id in a second query. Value and confidence come back as
    texts and, as ``value_code`` and ``confidence_code``, as those positions (1-based; 0: outside them).
    """
    names = ("response_id", "rater_id", "assignment_id", "rating_id", "repeat_of", "position", "value_id", "packed",
             "revision", "active_seconds", "submitted_at", "rating_updated_at")
    columns = fetch_columns(*rating_query(study_id, status, vocabularies, ids))
    out = dict(zip(names, columns, strict=True))
    packed = out.pop("packed")
    out.update(dimension=packed >> 42, value=(packed >> 21) & (2**20 - 1), confidence=(packed >> 1) & (2**20 - 1),
               cannot_assess=(packed & 1).astype(bool))
    odd = (out["dimension"] == 0) | (out["value"] == 0) | (out["confidence"] == 0)
    unknown: dict[str, dict[int, str]] = {name: {} for name in FIELDS}
    odd_ids = out["value_id"][odd].tolist()
    for start in range(0, len(odd_ids), 500):
        for vid, *texts in RatingValue.objects.filter(id__in=odd_ids[start:start + 500]).values_list(
                "id", "dimension", "value", "confidence"):
            for name, text in zip(unknown, texts, strict=True):
                unknown[name][vid] = text
    for name in unknown:
        if name in CODED:
            out[f"{name}_code"] = out[name].astype(np.int32)
        out[name], ranks = _words(out[name], vocabularies[name], unknown[name], out["value_id"])
        if name == "dimension":
            out["dimension_rank"] = ranks
    order = np.lexsort((out["dimension_rank"], out["assignment_id"]))
    return {key: column[order] for key, column in out.items()}


def judge_columns(study_id: int) -> list[np.ndarray]:
    """judge id, response id and the stored JSON text of every judge score of the study's responses."""
    return fetch_columns(
        [("j.judge_id", "int"), ("j.response_id", "int"), (f"j.{connection.ops.quote_name('values')}", "text")],
        f"FROM {_table(JudgeScore)} j JOIN {_table(Response)} r ON r.id = j.response_id WHERE r.study_id = %s",
        [study_id])
