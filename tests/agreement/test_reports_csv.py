import csv
import io
import os

import pytest

from agreement.data import rating_notes, study_data_load
from agreement.reports.writers import CSV_COLUMNS, neutralise, write_csv
from annotation.models import Rating
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db


def _csv(study):
    out = io.StringIO()
    rows = write_csv(study_data_load(study), rating_notes(study), out)
    out.seek(0)
    return rows, list(csv.DictReader(out))


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_prefixes_formula_starts_with_a_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["ok", "", "a=b", 3, -1.5])
def test_neutralise_leaves_plain_text_and_numbers_alone(value):
    assert neutralise(value) == value


def test_csv_has_one_row_per_rating_value_with_blinding_keys_resolved():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED nurse", role="ED nurse", style="bold")
    study, responses, _, judge = rated_study(
        {"ann": [{"safety": ("compliant", "high"), "reasoning": (None, "")}, {"safety": ("not_compliant", "low")}]},
        personas=[base, doc],
        judge_values=[{"safety": {"value": "compliant", "confidence": "medium"}}],
    )
    n, rows = _csv(study)
    assert n == len(rows) == 4
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(None not in row and None not in row.values() for row in rows)  # every row has every column
    clinician = [r for r in rows if r["rater_kind"] == "clinician"]
    assert [(r["persona"], r["role"], r["style"], r["dimension"], r["value"]) for r in clinician] == [
        ("No persona", "(none)", "plain", "reasoning", ""),
        ("No persona", "(none)", "plain", "safety", "compliant"),
        ("ED nurse", "ED nurse", "bold", "safety", "not_compliant"),
    ]
    assert clinician[0]["cannot_assess"] == "true" and clinician[0]["scale_point"] == ""
    assert clinician[1]["scale_point"] == "3" and clinician[1]["value_label"] == "Compliant"  # ordinal, low -> high
    assert clinician[2]["model"] == responses[1].model.name and clinician[2]["response_code"] == responses[1].code
    (judge_row,) = [r for r in rows if r["rater_kind"] == "judge"]
    assert (judge_row["rater"], judge_row["confidence"], judge_row["is_retest"]) == (judge.name, "medium", "false")


def test_csv_neutralises_formula_injection_in_comments():
    study, responses, raters, _ = rated_study({"ann": [{"safety": ("compliant", "high")}]})
    Rating.objects.filter(assignment__response=responses[0]).update(
        comment='=HYPERLINK("http://evil","x")', is_dangerous=True, dangerous_rationale="@SUM(1)"
    )
    _, rows = _csv(study)
    assert rows[0]["comment"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert rows[0]["dangerous_rationale"] == "'@SUM(1)" and rows[0]["is_dangerous"] == "true"


def test_csv_of_a_study_without_ratings_is_just_the_header():
    n, rows = _csv(factories.StudyFactory())
    assert n == 0 and rows == []


def test_the_csv_is_written_from_the_records_without_the_rating_matrices():
    """The matrices the coefficients need are built on first use: the tidy CSV does not need them."""
    study, *_ = rated_study({"ann": [{"safety": ("compliant", "high")}], "bob": [{"safety": ("compliant", "low")}]})
    data = study_data_load(study)
    write_csv(data, rating_notes(study), io.StringIO())
    assert "dimensions" not in vars(data)
    assert data.dimensions["safety"].ratings.shape == (1, 2) and "dimensions" in vars(data)


def _left_in(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_csv_report_is_moved_into_the_storage_with_nothing_left_beside_it(settings, tmp_path, monkeypatch):
    from agreement import services

    settings.MEDIA_ROOT = str(tmp_path)
    original, spooled = services._spool, []

    def spy(*args):
        spooled.append(original(*args))
        return spooled[-1]

    monkeypatch.setattr(services, "_spool", spy)
    study, *_ = rated_study({"ann": [{"safety": ("compliant", "high")}]})
    report = services.report_generate(study=study, format="csv")
    assert report.status == "done", report.error
    # written beside the stored reports, on their file system: storing it is a rename
    assert [os.path.dirname(s.temporary_file_path()) for s in spooled] == [str(tmp_path / "reports")]
    assert _left_in(tmp_path) == [report.file.name]
    assert (tmp_path / report.file.name).stat().st_mode & 0o777 == 0o644  # FILE_UPLOAD_PERMISSIONS, not mkstemp's
    with report.file.open("rb") as fh:
        assert fh.read().decode().splitlines()[0] == ",".join(CSV_COLUMNS)


@pytest.mark.parametrize("stage", ["writing", "storing"])
def test_a_csv_report_that_fails_leaves_no_partial_file(settings, tmp_path, monkeypatch, stage):
    from agreement import services

    settings.MEDIA_ROOT = str(tmp_path)
    study, *_ = rated_study({"ann": [{"safety": ("compliant", "high")}]})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    if stage == "writing":
        monkeypatch.setattr(services, "write_csv", broken)
    else:  # the file is written, then storing it fails before the storage has moved it
        monkeypatch.setattr(services.Report, "refresh_from_db", broken)
    report = services.report_generate(study=study, format="csv")
    assert report.status == "failed" and "disk full" in report.error
    assert not [name for name in _left_in(tmp_path) if name.endswith(".part")]
