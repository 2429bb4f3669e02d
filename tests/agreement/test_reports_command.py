import csv
import io

import pytest
from django.core.management import CommandError, call_command

from agreement.models import Report
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return rated_study({
        "ann": [{"safety": ("compliant", "high")}, {"safety": ("=cmd|' /C calc'!A0", "low")}],
        "bob": [{"safety": ("compliant", "medium")}, {"safety": ("compliant", "low")}],
    })[0]


def test_command_writes_the_csv_to_a_file_by_study_name(study, tmp_path):
    target = tmp_path / "out.csv"
    err = io.StringIO()
    call_command("agreement_report", study.name, "--format", "csv", "--output", str(target), stderr=err)
    with target.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    # A stored value that a spreadsheet would run is neutralised.
    assert "'=cmd|' /C calc'!A0" in {r["value"] for r in rows}
    assert "data snapshot" in err.getvalue()


def test_command_writes_to_stdout_by_study_id(study, capsysbinary):
    call_command("agreement_report", str(study.pk), "--format", "csv", stderr=io.StringIO())
    out = capsysbinary.readouterr().out.decode()
    assert out.startswith("study_id,study,rater_kind")


def test_command_refuses_an_unknown_study_and_bad_parameters():
    with pytest.raises(CommandError, match="No study"):
        call_command("agreement_report", "nope", "--format", "csv")
    study = factories.StudyFactory()
    with pytest.raises(CommandError, match="n_boot"):
        call_command("agreement_report", str(study.pk), "--format", "json", "--n-boot", "-3")
    assert Report.objects.count() == 0


def test_command_passes_the_analysis_options(study, tmp_path):
    import json

    target = tmp_path / "out.json"
    call_command("agreement_report", study.name, "--format", "json", "--output", str(target), "--consensus-tie",
                 "lower", "--multiplicity", "bh", "--metadata-key", "category", stderr=io.StringIO())
    params = json.loads(target.read_text())["meta"]["parameters"]
    assert (params["consensus_tie"], params["multiplicity"], params["metadata_key"]) == ("lower", "bh", "category")


def test_command_passes_the_mixed_models_choice_to_the_report(study, tmp_path):
    call_command("agreement_report", study.name, "--format", "json", "--mixed-models", "off",
                 "--output", str(tmp_path / "r.json"), stderr=io.StringIO())
    assert Report.objects.get().parameters["mixed_models"] == "off"
