import csv
import io

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
