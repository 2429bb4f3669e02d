"""The COPY path of imports on PostgreSQL: it stores exactly what the ORM path stores, atomically."""
import io
import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.importers import copy
from studies.importers.copy import copy_insert
from studies.models import Case, CaseSet
from studies.services.case_sets import case_set_import
from tests import factories
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db

FIELDS = ["external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata",
          "content_hash"]
# What COPY's text format must escape, or could mistake for its own markers (\N is its NULL, \. its end).
AWKWARD = 'tab\there, new\nline, back\\slash, \\N, \\., "double" and \'single\' quotes, ;|, 5 < 6 & 7 > 2'


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path runs on PostgreSQL only (set DATABASE_URL); SQLite takes bulk_create")


def cases_jsonl() -> bytes:
    rows = [
        {"external_id": "A-1", "vignette": AWKWARD, "question": "Level?", "task_type": "triage",
         "care_setting": "critical_care", "reference_answer": "ESI 2",
         "metadata": {"note": AWKWARD, "nested": {"list": [1, 2.5, None, True, "ü"]}, "empty": {}, "nothing": None}},
        {"external_id": "Ünïcödé-２", "vignette": "Café, naïve, 日本語, emoji 🩺, e\u0301 (combining)",
         "question": "Is it safe to wait?", "task_type": "patient safety", "care_setting": "primary-care",
         "reference_answer": "", "metadata": {}},
        {"external_id": "A-3", "vignette": "  padded with spaces and a trailing newline \r\n", "question": "Q",
         "task_type": "other", "care_setting": "other"},
    ]
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def stored(case_set) -> list[dict]:
    return list(Case.objects.filter(case_set=case_set).order_by("id").values(*FIELDS))


def imported(name: str) -> CaseSet:
    return case_set_import(file=io.BytesIO(cases_jsonl()), filename="cases.jsonl", name=name).case_set


def test_copy_stores_every_field_as_the_orm_path_does_in_file_order(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(copy, "uses_copy", lambda connection: False)  # bulk_create, as on SQLite
        orm_rows = stored(imported("through the ORM"))
    rows = stored(imported("through COPY"))

    assert rows == orm_rows
    assert [r["external_id"] for r in rows] == ["A-1", "Ünïcödé-2", "A-3"]  # ids follow the file
    first, second, third = rows
    assert first["vignette"] == AWKWARD and first["metadata"]["note"] == AWKWARD
    assert first["metadata"]["nested"] == {"list": [1, 2.5, None, True, "ü"]} and first["metadata"]["nothing"] is None
    assert first["reference_answer"] == "2"
    assert second["vignette"] == "Café, naïve, 日本語, emoji 🩺, é (combining)" and second["metadata"] == {}
    assert third["vignette"] == "padded with spaces and a trailing newline" and third["reference_answer"] == ""


def test_copy_fills_the_timestamps_and_a_re_upload_changes_nothing():
    before = timezone.now()
    case_set = imported("Set")
    cases = list(Case.objects.filter(case_set=case_set))
    assert len(cases) == 3 and all(before <= c.created_at == c.updated_at <= timezone.now() for c in cases)

    again = case_set_import(file=io.BytesIO(cases_jsonl()), filename="cases.jsonl", name="Set")

    assert again.outcome == "unchanged" and again.case_set == case_set
    assert list(Case.objects.order_by("id").values_list("id", "updated_at")) == [(c.id, c.updated_at) for c in cases]


def test_appending_copies_only_the_new_cases():
    case_set = imported("Set")
    lines = cases_jsonl() + b"\n" + json.dumps({"external_id": "A-4", "vignette": "v", "question": "q",
                                                "task_type": "other", "care_setting": "other"}).encode()
    result = case_set_import(file=io.BytesIO(lines), filename="more.jsonl", name="Set")
    assert (result.outcome, result.added, result.already_present) == ("appended", 1, 3)
    assert [c.external_id for c in case_set.cases.order_by("id")] == ["A-1", "Ünïcödé-2", "A-3", "A-4"]


def test_one_bad_row_refuses_the_whole_file_and_leaves_nothing_behind():
    rows = [json.dumps({"external_id": f"B-{n}", "vignette": "v", "question": "q", "task_type": "other",
                        "care_setting": "other" if n != 700 else "moon base"}) for n in range(1_000)]
    with pytest.raises(ApplicationError) as info:
        case_set_import(file=io.BytesIO("\n".join(rows).encode()), filename="big.jsonl", name="Set")
    assert [(e["row"], e["field"]) for e in info.value.extra["errors"]] == [(701, "care_setting")]
    assert not CaseSet.objects.exists() and not Case.objects.exists()


def test_a_row_the_database_refuses_rolls_back_every_row_of_the_insert_and_nothing_else():
    case_set = factories.CaseSetFactory()
    factories.CaseFactory(case_set=case_set, external_id="taken")
    values = ("v", "q", "other", "other", "", {}, "0" * 64)
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            copy_insert(Case, FIELDS, [("new-1", *values), ("taken", *values)],
                        constants={"case_set_id": case_set.pk})
        # The failure left the surrounding transaction usable.
        assert copy_insert(Case, FIELDS, [("new-2", *values)], constants={"case_set_id": case_set.pk}) == 1
    assert sorted(case_set.cases.values_list("external_id", flat=True)) == ["new-2", "taken"]


def test_copy_insert_names_unknown_columns():
    with pytest.raises(ValueError, match="Case has no column"):
        copy_insert(Case, ["external_id", "colour"], [])


def test_values_shared_by_every_row_are_stored_as_the_orm_stores_them(monkeypatch):
    """They are rendered to text once, then escaped by COPY as any text: COPY's markers in them stay text."""
    constants = {"vignette": AWKWARD, "question": "Level?", "reference_answer": "\\N", "metadata": {"note": AWKWARD}}
    rows = [(f"S-{n}", "other", "other", "0" * 64) for n in range(3)]
    fields = ["external_id", "task_type", "care_setting", "content_hash"]

    def inserted(name: str) -> list[dict]:
        case_set = factories.CaseSetFactory(name=name)
        copy_insert(Case, fields, rows, constants={"case_set_id": case_set.pk, **constants})
        return stored(case_set)

    with monkeypatch.context() as patch:
        patch.setattr(copy, "uses_copy", lambda connection: False)
        orm_rows = inserted("through the ORM")
    assert inserted("through COPY") == orm_rows
    assert orm_rows[0]["vignette"] == AWKWARD and orm_rows[0]["reference_answer"] == "\\N"
