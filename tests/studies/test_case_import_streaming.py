"""A file checked a batch at a time gives the whole file's check, and a new set written to COPY while its file is
checked ends as the import that checks first and writes after: same result, same rows, and every error."""
import csv
import gzip
import io
import json

import pytest
from django.db import connection

from config.exceptions import ApplicationError
from studies.importers import check_file, copy, readers
from studies.models import Case, CaseSet
from studies.services import case_sets
from studies.services.case_sets import case_set_import
from tests.conftest import skip_or_fail

COLUMNS = ["external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata"]
STORED = ["external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata",
          "content_hash"]


def good(n: int) -> list[str]:
    return [f"C-{n}", f"Case {n}: chest pain for {n % 7 + 1} hours.", "Level?", "triage",
            ("critical_care", "primary_care", "other")[n % 3], f"ESI {n % 5 + 1}", json.dumps({"batch": n // 4})]


def faulty_rows() -> list[list[str]]:
    """Errors from the third batch of 4 rows on: an id used twice across batches, look-alike ids, a short row."""
    rows = [good(n) for n in range(30)]
    rows[20][4] = "moon base"
    rows[9][0] = "C-1"  # also used on row 2
    rows[13] = rows[13][:5]  # too few values: a reader's error
    rows[17][0] = "С-3"  # Cyrillic Es, looks like C-3 (row 4)
    rows[22][3], rows[22][5] = "triage", "ESI 9"
    rows[29][1] = "=SUM(A1)"
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([COLUMNS, *rows])
    return text.getvalue().encode()


def jsonl_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(json.dumps(dict(zip(COLUMNS[:-1], row[:-1], strict=False)) | {
        "metadata": json.loads(row[-1]) if len(row) == len(COLUMNS) else 0}) for row in rows).encode()


@pytest.mark.parametrize("data, filename", [
    (csv_bytes(faulty_rows()), "cases.csv"), (jsonl_bytes(faulty_rows()), "cases.jsonl"),
    (csv_bytes([good(n) for n in range(30)]), "cases.csv"), (gzip.compress(csv_bytes(faulty_rows())), "c.csv.gz"),
    (csv_bytes([*map(good, range(5)), good(5)[:6], *map(good, range(6, 30))]), "cases.csv"),  # a short row 6
])
def test_a_file_checked_in_batches_gets_the_whole_files_cases_and_errors(monkeypatch, data, filename):
    whole = check_file(data, filename=filename, max_bytes=10**6, max_rows=100)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 4)
    written = []
    batched = check_file(data, filename=filename, max_bytes=10**6, max_rows=100, write=written.append)
    assert batched == whole
    assert [str(e) for e in batched.errors] == [str(e) for e in whole.errors]
    # Written: the batches before the one with the first error, or every batch of a clean file.
    clean_rows = (whole.errors[0].row - 1) // 4 * 4 if whole.errors else 30
    assert written == [whole.cases[i:i + 4] for i in range(0, clean_rows, 4)]


def test_a_header_without_a_required_column_still_gets_the_rows_reader_errors(monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_ROWS", 2)
    data = b"external_id,vignette\nA,v\nB\nC,v,x\nD,v\n"
    checked = check_file(data, filename="x.csv", max_bytes=10**6, max_rows=100, write=pytest.fail)
    assert [str(e) for e in checked.errors] == [
        "missing required column(s): question, task_type, care_setting",
        "row 2: has 1 values but the header has 2 columns", "row 3: has 3 values but the header has 2 columns"]
    assert checked.cases == [] and checked.rows_read == 4


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        skip_or_fail("the streamed import runs on PostgreSQL only (set DATABASE_URL); SQLite checks, then inserts")


def outcome(monkeypatch, *, streamed: bool, chunk_rows: int = 4, **kwargs):
    """The import's result (as a dict, or the refusal's), and the rows it left; the set's id left out."""
    with monkeypatch.context() as patch:
        patch.setattr(readers, "CHUNK_ROWS", chunk_rows)
        if not streamed:
            patch.setattr(case_sets, "_streamed", lambda *args, **kw: None)
        data = kwargs.pop("data")
        try:
            result = case_set_import(file=io.BytesIO(data), **kwargs).as_dict()
        except ApplicationError as exc:
            result = {"refused": exc.status_code, **exc.extra}
    result.pop("case_set_id", None)
    rows = list(Case.objects.order_by("id").values_list("case_set__name", "case_set__version", *STORED))
    sets = list(CaseSet.objects.order_by("id").values_list("name", "version", "content_hash", "source_filename",
                                                            "description"))
    return result, rows, sets


def both_ways(monkeypatch, **kwargs):
    """The same import written while checked, then (everything deleted) checked first: both outcomes."""
    streamed = outcome(monkeypatch, streamed=True, **kwargs)
    Case.objects.all().delete()
    CaseSet.objects.all().delete()
    return streamed, outcome(monkeypatch, streamed=False, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("data, filename", [
    (csv_bytes([good(n) for n in range(30)]), "cases.csv"), (jsonl_bytes([good(n) for n in range(30)]), "c.jsonl"),
    (csv_bytes(faulty_rows()), "cases.csv"), (jsonl_bytes(faulty_rows()), "cases.jsonl"),
    (csv_bytes([good(n) for n in range(30)]) + b'"unclosed\n', "cases.csv"),  # a syntax error at the end
    (csv_bytes([good(n) for n in range(120)]), "cases.csv"),  # too many rows, found in the 26th batch
])
def test_a_new_set_written_while_checked_ends_as_checking_first(monkeypatch, settings, postgres, data, filename):
    settings.CASE_UPLOAD_MAX_ROWS = 100
    streamed, checked_first = both_ways(monkeypatch, data=data, filename=filename, name="Ward")
    assert streamed == checked_first
    result, rows, _ = streamed
    if "refused" in result or not result["ok"]:
        assert rows == [] and result["errors"]
    else:
        assert result["outcome"] == "created" and len(rows) == 30 and result["added"] == 30


@pytest.mark.django_db
@pytest.mark.parametrize("second", [
    [good(n) for n in range(30)],  # the same cases: unchanged, the new version rolled back
    [good(n) for n in range(31)],  # one more: a new version
    [good(n) for n in range(29, -1, -1)],  # the same cases in another order: unchanged
    faulty_rows(),
])
def test_a_new_version_written_while_checked_ends_as_checking_first(monkeypatch, postgres, second):
    def first_then_second(streamed: bool):
        Case.objects.all().delete()
        CaseSet.objects.all().delete()
        _, first, _ = outcome(monkeypatch, streamed=True, data=csv_bytes([good(n) for n in range(30)]),
                              filename="a.csv", name="Ward", description="first")
        return first, outcome(monkeypatch, streamed=streamed, data=csv_bytes(second), filename="b.csv", name="Ward",
                              new_version=True)

    first, written = first_then_second(streamed=True)
    assert first_then_second(streamed=False) == (first, written)
    result, rows, sets = written
    if result["outcome"] == "new_version":
        assert rows[:30] == first and len(rows) == 61 and sets[1][:2] == ("Ward", 2) and sets[1][4] == "first"
    else:
        assert rows == first and len(sets) == 1


@pytest.mark.django_db
def test_appending_dry_runs_and_the_orm_path_check_the_whole_file_first(monkeypatch, postgres):
    def streamed_import(*args, **kwargs):
        raise AssertionError("this import writes nothing before it has checked the whole file")

    case_set_import(file=io.BytesIO(csv_bytes([good(n) for n in range(30)])), filename="a.csv", name="Ward")
    monkeypatch.setattr(case_sets, "case_writer", streamed_import)
    more = csv_bytes([good(n) for n in range(35)])
    assert case_set_import(file=io.BytesIO(more), filename="a.csv", name="New", dry_run=True).outcome == "created"
    assert case_set_import(file=io.BytesIO(more), filename="a.csv", name="Ward").outcome == "appended"
    monkeypatch.setattr(copy, "uses_copy", lambda connection: False)  # bulk_create, as on SQLite
    assert case_set_import(file=io.BytesIO(more), filename="a.csv", name="ORM").outcome == "created"
    assert Case.objects.count() == 70


@pytest.mark.parametrize("boundary", ["", *(chr(c) for c in range(0x10000)
                                           if chr(c) not in "\r\n" and len(f"a{chr(c)}b".splitlines()) > 1)])
def test_csv_lines_are_read_as_from_a_file_opened_with_newline_empty(monkeypatch, boundary):
    rows = [["A-1", f'two\nlines, "quoted"{boundary}', "Q", "triage", "other", "1", "{}"],
            ["A-2", f"cr\r only{boundary}", "Q", "triage", "other", "2", ""],
            ["A-3", f"{boundary}unquoted{boundary}", "Q", "other", "other", "", ""]]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([COLUMNS, *rows])
    data = (text.getvalue() + "A-4,v,Q,other,other,,\rA-5,v,Q,other,other,,\n").encode()
    parsed = readers.parse_file(data, filename="x.csv", max_bytes=10**6, max_rows=100)
    monkeypatch.setattr(readers, "OTHER_LINE_BOUNDARIES", "\n")  # every text read through a StringIO
    assert parsed == readers.parse_file(data, filename="x.csv", max_bytes=10**6, max_rows=100)
    assert [r.values["external_id"] for r in parsed.records] == ["A-1", "A-2", "A-3", "A-4", "A-5"]
