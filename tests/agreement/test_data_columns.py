"""Loading a study into arrays: every character, time and missing value comes back as stored, on every database.

On PostgreSQL the columns travel aggregated (one binary string per column); the same SELECT read row
by row (`fetch_rows`, what SQLite runs) must give the same arrays.
"""
import itertools
from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection

from agreement.data import study_data_load
from agreement.data_columns import fetch_columns, fetch_rows, rating_query
from annotation.models import Assignment, Rating, RatingValue
from studies.models import Case, Response
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

C, N = "compliant", "not_compliant"
AWKWARD = "tab\there, new\nline, back\\slash, \"quoted\", comma, é ∑ 😀"
SHORT = " a\tb\n\\c,\" é😀 "  # fits a 32-character column


def _study():
    return rated_study(
        {"ann": [{"safety": (C, "high"), "reasoning": ("4", "low")}, {"safety": (N, "medium")}],
         "bob": [{"safety": (C, "low"), "reasoning": (None, "")}, {"safety": (C, "high")}]},
        judge_values=[{"safety": {"value": C, "confidence": "high"}, "reasoning": {"value": 3}}, {}],
    )


def test_text_is_read_as_stored_whatever_its_characters():
    study, responses, *_ = _study()
    Case.objects.filter(pk=responses[0].case_id).update(external_id=AWKWARD, reference_answer=f"  {AWKWARD} ",
                                                        metadata={"note": AWKWARD, "n": [1, 2.5]})
    Response.objects.filter(pk=responses[1].pk).update(parsed_label=SHORT, parsed_confidence=None)
    items = study_data_load(study).items
    assert items.case_external_id[0] == AWKWARD and items.reference_answer[0] == AWKWARD  # stripped
    assert items.metadata[0] == {"note": AWKWARD, "n": [1, 2.5]} and items.metadata[1] == {}
    assert items.parsed_label[1] == SHORT.strip() and np.isnan(items.parsed_confidence[1])
    assert list(items.code) == [r.code for r in responses]


def test_values_outside_the_schema_are_kept_as_stored_and_sorted_with_the_others():
    study, responses, raters, _ = _study()
    value = RatingValue.objects.get(rating__assignment__rater=raters["ann"], rating__assignment__response=responses[0],
                                    dimension="reasoning")
    value.dimension, value.value, value.confidence = "a_retired_dimension", AWKWARD, "unsure"
    value.save()
    data = study_data_load(study)
    r = data.records
    first = r.assignment_id == r.assignment_id[0]
    assert r.dimension[first].tolist() == ["a_retired_dimension", "safety"]
    assert r.value[first].tolist() == [AWKWARD, C] and r.confidence[first].tolist() == ["unsure", "high"]
    assert data.dimensions["reasoning"].n_values == 1  # bob's cannot-assess only


def test_times_come_back_in_utc_to_the_microsecond_and_missing_ones_as_nat():
    study, responses, raters, _ = _study()
    stamp = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    Assignment.objects.filter(rater=raters["ann"]).update(submitted_at=stamp)
    Assignment.objects.filter(rater=raters["bob"]).update(submitted_at=None)
    Rating.objects.filter(assignment__rater=raters["ann"]).update(updated_at=stamp)
    r = study_data_load(study).records
    ann = r.rater == 0
    assert set(r.submitted_at[ann].tolist()) == {stamp.replace(tzinfo=None)}
    assert set(r.rating_updated_at[ann].tolist()) == {stamp.replace(tzinfo=None)}
    assert np.isnat(r.submitted_at[~ann]).all() and not np.isnat(r.rating_updated_at).any()


def test_aggregated_columns_equal_the_same_select_read_row_by_row():
    study, responses, *_ = _study()
    Case.objects.filter(pk=responses[0].case_id).update(external_id=AWKWARD)
    columns = [("r.id", "int"), ("r.sample_index", "int4"), ("r.parsed_confidence", "float"), ("c.external_id", "text"),
               ("r.leaks_persona", "bool"), ("r.created_at", "time"), ("NULL", "time"), ("c.metadata", "text")]
    sql = "FROM studies_response r JOIN studies_case c ON c.id = r.case_id WHERE r.study_id = %s"
    fast, plain = fetch_columns(columns, sql, [study.id]), fetch_rows(columns, sql, [study.id])
    order_fast, order_plain = np.argsort(fast[0]), np.argsort(plain[0])
    for a, b in zip(fast, plain, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a[order_fast], b[order_plain], equal_nan=a.dtype.kind in "fM")
    assert connection.vendor != "postgresql" or fast[3][order_fast].tolist()[0] == AWKWARD


def test_a_study_without_rows_gives_empty_columns():
    columns = [("r.id", "int"), ("r.code", "text"), ("r.created_at", "time")]
    out = fetch_columns(columns, "FROM studies_response r WHERE r.study_id = %s", [-1])
    assert [len(c) for c in out] == [0, 0, 0] and out[2].dtype == np.dtype("datetime64[us]")



@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_the_columns_are_planned_for_their_values_whatever_the_connection_plans():
    """The connection keeps one generic plan per prepared statement (right for key lookups); planned
    generically, a study's columns would be read as if it held half of every table (a full scan of the
    other studies' ratings), so the loader's queries are planned for their own values."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        assert cursor.fetchone()[0] == "force_generic_plan"
    [mode] = fetch_columns([("current_setting('plan_cache_mode')", "text")], "FROM (SELECT 1 AS x) s WHERE s.x = %s",
                           [1])
    assert list(mode) == ["force_custom_plan"]
@pytest.mark.django_db(transaction=True)
def test_rating_values_read_aside_in_parts_on_their_own_connections_give_the_same_data(monkeypatch, settings):
    """Outside a transaction the rating values come in parts (whole assignments each), each on a connection
    of its own, while this one reads the rest; inside one (where another connection would not see
    uncommitted rows) in one part, on this connection."""
    import threading

    from django.db import transaction

    from agreement import data as data_module

    settings.REPORT_PROCESSES = 3
    study, responses, *_ = _study()
    factories.AssignmentFactory(response=responses[0])  # pending: in a range, without rating values
    factories.AssignmentFactory()  # another study's
    calls = []
    original = data_module.rating_columns
    monkeypatch.setattr(data_module, "rating_columns",
                        lambda *args: calls.append((threading.current_thread(), args[-1])) or original(*args))
    outside = study_data_load(study)
    outside_calls, calls[:] = list(calls), []
    with transaction.atomic():
        inside = study_data_load(study)
    assert outside.snapshot_hash == inside.snapshot_hash and outside.counts == inside.counts
    assert np.all(np.diff(outside.records.assignment_id) >= 0)  # each part sorted, joined in the ranges' order
    assert outside.counts["rating_values"] == 6
    main = threading.main_thread()
    assert calls == [(main, None)]  # in a transaction: this connection, every assignment at once
    if connection.vendor == "postgresql":
        # Three ranges of assignment ids, together every id: the first and last unbounded.
        ranges = sorted((part for _, part in outside_calls), key=lambda r: -1 if r[0] is None else r[0])
        assert len(ranges) == 3 and ranges[0][0] is None and ranges[-1][1] is None
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(thread is not main for thread, _ in outside_calls)
    else:
        assert outside_calls == [(main, None)]


def test_a_part_of_the_rating_values_bounds_the_ratings_assignment_too():
    """The server does not carry a range across a join: stated on the assignments alone, each part joined every
    rating of the table to the values before half of them fell away with the other part's assignments."""
    vocabularies = {"dimension": ("safety",), "value": (C,), "confidence": ("high",)}
    _, whole, whole_params = rating_query(1, "submitted", vocabularies)
    _, part, params = rating_query(1, "submitted", vocabularies, (5, 9))
    assert part == whole + " AND a.id >= %s AND a.id < %s AND r.assignment_id >= %s AND r.assignment_id < %s"
    assert params == [*whole_params, 5, 9, 5, 9]
    _, last, params = rating_query(1, "submitted", vocabularies, (5, None))
    assert last == whole + " AND a.id >= %s AND r.assignment_id >= %s" and params == [*whole_params, 5, 5]
