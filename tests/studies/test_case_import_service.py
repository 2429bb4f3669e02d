"""case_set_import: round trips, idempotent re-uploads, conflicts, new versions, appends, dry runs, scale."""
import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from config.exceptions import ApplicationError
from studies.importers import case_set_hash
from studies.models import Case, CaseSet, StudyStatus
from studies.services.case_sets import case_set_import
from tests import factories
from tests.studies.test_case_import_malformed import EXAMPLE, UPLOADS, db_state

EXAMPLES = Path(__file__).resolve().parents[2] / "studies" / "data" / "examples"
FIELDS = ["external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata"]


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "metadata": json.dumps(row.get("metadata", {}))})
    return out.getvalue().encode()


def row(n, **over):
    return {"external_id": f"K-{n}", "vignette": f"Case {n}: chest pain for {n} hours.",
            "question": "What triage level?", "task_type": "triage", "care_setting": "critical_care",
            "reference_answer": str(1 + n % 5), "metadata": {"n": n}, **over}


def upload(rows, name="Set A", **kw):
    return case_set_import(file=io.BytesIO(csv_bytes(rows)), filename="cases.csv", name=name, **kw)


@pytest.mark.django_db
def test_the_example_case_set_imports_with_every_field_as_written(admin_user):
    result = case_set_import(file=EXAMPLE, name="Examples", owner=admin_user, description="shipped")
    assert result.outcome == "created" and result.message == "Created case set Examples v1 with 8 cases."
    case_set = CaseSet.objects.get(name="Examples")
    assert (case_set.version, case_set.owner, case_set.description, case_set.source_filename) == (
        1, admin_user, "shipped", "example_cases.csv")
    with open(EXAMPLE, encoding="utf-8", newline="") as fh:
        source = list(csv.DictReader(fh))
    stored = list(case_set.cases.order_by("id").values(*FIELDS))
    assert [s["external_id"] for s in stored] == [r["external_id"] for r in source]
    for written, kept in zip(source, stored, strict=True):
        assert {**written, "metadata": json.loads(written["metadata"])} == kept
    assert case_set.content_hash == case_set_hash(case_set.cases.values_list("content_hash", flat=True))


@pytest.mark.django_db
def test_every_shipped_example_format_holds_the_same_cases_and_re_uploading_any_changes_nothing(admin_user):
    first = case_set_import(file=EXAMPLE, name="Examples", owner=admin_user)
    files = sorted(EXAMPLES.iterdir())
    assert {f.name for f in files} == {"cases.json", "cases.jsonl", "cases.csv.gz"}
    before = db_state()
    for path in files:
        again = case_set_import(file=path, name="Examples", owner=admin_user)
        assert again.outcome == "unchanged", path.name
        assert again.content_hash == first.content_hash
        assert again.message == "This file holds exactly the cases of Examples v1; nothing changed."
    assert db_state() == before


@pytest.mark.django_db
def test_csv_json_jsonl_and_gzip_of_the_same_rows_give_the_same_hash():
    rows = [row(n) for n in range(5)]
    as_csv = csv_bytes(rows)
    as_json = json.dumps(rows).encode()
    as_jsonl = "\n".join(json.dumps(r) for r in rows).encode()
    hashes = {
        case_set_import(file=io.BytesIO(data), filename=fn, name="S", dry_run=True).content_hash
        for fn, data in [("a.csv", as_csv), ("a.json", as_json), ("a.jsonl", as_jsonl),
                         ("a.csv.gz", gzip.compress(as_csv)), ("no-extension", as_json),
                         ("bom.csv", b"\xef\xbb\xbf" + as_csv.replace(b"\r\n", b"\n"))]
    }
    assert len(hashes) == 1


@pytest.mark.django_db
def test_values_are_normalised_enums_esi_levels_whitespace_and_semicolon_separated_files():
    text = ("external_id;vignette;question;task_type;care_setting;reference_answer\n"
            " X-1 ;\"  Chest pain.\r\n\";Level?;Triage;Critical care;ESI 2\n"
            "X-2;Rash.;Safe?;patient-safety;PRIMARY_CARE;\n")
    result = case_set_import(file=io.BytesIO(text.encode()), filename="x.csv", name="Norm")
    assert result.outcome == "created"
    assert list(Case.objects.order_by("id").values_list("external_id", "vignette", "task_type", "care_setting",
                                                         "reference_answer", "metadata")) == [
        ("X-1", "Chest pain.", "triage", "critical_care", "2", {}),
        ("X-2", "Rash.", "patient_safety", "primary_care", "", {}),
    ]


@pytest.mark.django_db
def test_leading_plus_or_minus_in_free_text_is_kept_verbatim():
    rows = [row(1, vignette="-ve troponin, +2 pitting oedema."), row(2, question="+ What now?")]
    upload(rows)
    assert list(Case.objects.values_list("vignette", flat=True).order_by("id"))[0] == "-ve troponin, +2 pitting oedema."


@pytest.mark.django_db
def test_re_uploading_the_same_file_changes_nothing_and_says_so(admin_user):
    upload([row(n) for n in range(3)], owner=admin_user)
    before = db_state()
    again = upload([row(n) for n in reversed(range(3))], owner=admin_user)
    assert (again.outcome, again.changed, again.added) == ("unchanged", False, 0)
    assert again.message == "This file holds exactly the cases of Set A v1; nothing changed."
    assert db_state() == before


@pytest.mark.django_db
def test_an_id_with_different_content_is_refused_listing_every_conflicting_id():
    upload([row(n) for n in range(4)])
    before = db_state()
    changed = [row(0), row(1, vignette="Changed."), row(2), row(3, care_setting="other"), row(9)]
    with pytest.raises(ApplicationError) as caught:
        upload(changed)
    assert caught.value.status_code == 409
    assert caught.value.message == (
        "2 case id(s) already exist in Set A v1 with different content: K-1, K-3. Nothing was imported. "
        "To replace them, upload the file as a new version of the set."
    )
    assert caught.value.extra["conflicting_ids"] == ["K-1", "K-3"]
    assert db_state() == before


@pytest.mark.django_db
def test_asking_for_a_new_version_creates_it_from_the_file_and_keeps_the_old_one():
    first = upload([row(n) for n in range(4)], description="first").case_set
    result = upload([row(0), row(1, vignette="Changed.")], new_version=True)
    assert result.outcome == "new_version"
    assert result.message == "Created Set A v2 with 2 cases (earlier versions are kept)."
    v2 = result.case_set
    assert (v2.version, v2.description) == (2, "first")
    assert list(v2.cases.values_list("external_id", "vignette").order_by("id")) == [
        ("K-0", row(0)["vignette"]), ("K-1", "Changed.")]
    assert first.cases.count() == 4
    # Uploading v1's file again matches v1 and changes nothing.
    again = upload([row(n) for n in range(4)])
    assert again.message == "This file holds exactly the cases of Set A v1; nothing changed."


@pytest.mark.django_db
def test_new_ids_are_added_to_the_latest_version_and_the_set_hash_follows():
    case_set = upload([row(n) for n in range(3)]).case_set
    result = upload([row(n) for n in range(5)])
    assert (result.outcome, result.added, result.already_present) == ("appended", 2, 3)
    assert result.message == "Added 2 new case(s) to Set A v1; 3 already there unchanged."
    case_set.refresh_from_db()
    assert case_set.cases.count() == 5
    assert case_set.content_hash == case_set_hash(case_set.cases.values_list("content_hash", flat=True))
    assert upload([row(n) for n in range(5)]).outcome == "unchanged"
    assert upload([row(1)]).message == "All 1 cases in this file are already in Set A v1 unchanged; nothing changed."


@pytest.mark.django_db
def test_cases_cannot_be_added_to_a_set_a_running_study_uses():
    case_set = upload([row(n) for n in range(2)]).case_set
    factories.StudyFactory(name="Running", status=StudyStatus.RATING, case_sets=[case_set])
    before = db_state()
    with pytest.raises(ApplicationError) as caught:
        upload([row(n) for n in range(3)])
    assert caught.value.message == (
        "Set A v1 is used by study 'Running' (rating), so no cases can be added to it (1 new in this file). "
        "Nothing was imported; upload the file as a new version."
    )
    assert db_state() == before
    assert upload([row(n) for n in range(3)], new_version=True).case_set.version == 2


@pytest.mark.django_db
def test_a_dry_run_reports_what_would_happen_and_writes_nothing():
    upload([row(n) for n in range(3)])
    before = db_state()
    would_add = upload([row(n) for n in range(15)], dry_run=True)
    assert (would_add.ok, would_add.outcome, would_add.added, would_add.rows) == (True, "appended", 12, 15)
    assert would_add.message == "Would add 12 new case(s) to Set A v1; 3 already there unchanged."
    assert [p["external_id"] for p in would_add.preview] == [f"K-{n}" for n in range(10)]
    conflict = upload([row(0, vignette="Other.")], dry_run=True)
    assert (conflict.ok, conflict.outcome, conflict.conflicting_ids) == (False, "conflict", ["K-0"])
    new = upload([row(0)], name="Set B", dry_run=True)
    assert new.message == "Would create case set Set B v1 with 1 cases."
    assert db_state() == before


@pytest.mark.django_db
def test_a_case_set_needs_a_name():
    with pytest.raises(ApplicationError, match="A case set needs a name."):
        upload([row(1)], name="  ")
    assert not CaseSet.objects.exists()


@pytest.mark.django_db
def test_the_valid_samples_import_bom_and_gzip_included():
    for name in ("utf8_bom.csv", "valid.jsonl.gz"):
        result = case_set_import(file=UPLOADS / name, name=name)
        assert (result.outcome, result.added) == ("created", 3), name
    assert case_set_import(file=UPLOADS / "valid.jsonl.gz", name="x").compressed


@pytest.mark.django_db(transaction=True)
def test_a_hundred_thousand_case_csv_imports_completely():
    lines = ["external_id,vignette,question,task_type,care_setting,reference_answer,metadata"]
    lines += [f'B{n:06d},"Patient {n} with chest pain, BP {90 + n % 60}/60.",Level?,triage,critical_care,{1 + n % 5},'
              f'"{{""n"": {n}}}"' for n in range(100_000)]
    data = ("\n".join(lines) + "\n").encode()
    result = case_set_import(file=io.BytesIO(data), filename="big.csv", name="Big")
    assert (result.outcome, result.added) == ("created", 100_000)
    assert Case.objects.filter(case_set=result.case_set).count() == 100_000
    assert Case.objects.get(case_set=result.case_set, external_id="B099999").metadata == {"n": 99_999}
    again = case_set_import(file=io.BytesIO(data), filename="big.csv", name="Big")
    assert again.outcome == "unchanged" and Case.objects.count() == 100_000
