import json

import pytest

from agreement import services
from agreement.models import Report, ReportStatus
from agreement.tasks import report_build_task
from annotation.models import RatingValue
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return rated_study({
        "ann": [{"safety": ("compliant", "high")}, {"safety": ("not_compliant", "low")}],
        "bob": [{"safety": ("compliant", "medium")}, {"safety": ("compliant", "low")}],
    })[0]


def test_unchanged_ratings_reuse_the_cached_file(study):
    first = services.report_generate(study=study, format="csv")
    second = services.report_generate(study=study, format="csv")
    assert first.status == second.status == ReportStatus.DONE
    assert second.reused_from_id == first.pk and second.file.name == first.file.name
    assert second.data_hash == first.data_hash and "reused" in second.progress_message


def test_a_changed_rating_rebuilds(study):
    first = services.report_generate(study=study, format="csv")
    RatingValue.objects.filter(dimension="safety", value="not_compliant").update(value="partially_compliant")
    second = services.report_generate(study=study, format="csv")
    assert second.reused_from_id is None and second.data_hash != first.data_hash
    assert second.file.name != first.file.name
    assert b"partially_compliant" in second.file.open("rb").read()


def test_other_parameters_or_format_do_not_share_a_cache_entry(study):
    first = services.report_generate(study=study, format="csv")
    other_seed = services.report_generate(study=study, format="csv", parameters={"seed": 1})
    assert other_seed.reused_from_id is None and other_seed.parameters_key != first.parameters_key


def test_task_is_idempotent_for_a_finished_report(study):
    report = services.report_generate(study=study, format="csv")
    finished_at = report.finished_at
    assert report_build_task.delay(report.pk).get() == ReportStatus.DONE
    report.refresh_from_db()
    assert report.finished_at == finished_at and Report.objects.count() == 1


def test_a_failing_build_is_recorded_on_the_report_not_raised(study, monkeypatch):
    report = services.report_create(study=study, format="csv")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_csv", explode)
    assert report_build_task.delay(report.pk).get() == ReportStatus.FAILED
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and "disk full" in report.error and not report.file
    assert report.data_hash == ""


def test_an_html_report_is_written_from_the_figures_of_a_json_one_not_computed_again(study, monkeypatch):
    from agreement.data import study_data_load
    from agreement.reports import build_report, render_html

    first = services.report_generate(study=study, format="json")
    fresh = build_report(study_data_load(study, cannot_assess=first.parameters["cannot_assess"]), first.parameters)

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(services, "build_report", refuse)
    html = services.report_generate(study=study, format="html")
    assert html.status == ReportStatus.DONE and html.reused_from_id is None
    assert html.progress_message == f"done: the figures of report #{first.pk}"
    # The JSON file's figures give the page a cold build gives (computed when the JSON report was).
    fresh["meta"]["generated_at"] = json.loads(first.file.open("rb").read())["meta"]["generated_at"]
    assert html.file.open("rb").read().decode() == render_html(fresh)
    # Other parameters, or a JSON report after an HTML one, are computed.
    monkeypatch.undo()
    other = services.report_generate(study=study, format="html", parameters={"seed": 1})
    assert other.progress_message == "done"
    assert services.report_generate(study=study, format="json", parameters={"seed": 1}).progress_message == "done"


def test_an_html_report_computes_when_the_json_file_is_gone(study):
    first = services.report_generate(study=study, format="json")
    first.file.delete(save=False)
    Report.objects.filter(pk=first.pk).update(file="study-x.json")
    assert services.report_generate(study=study, format="html").progress_message == "done"


def test_a_report_computed_another_way_is_not_reused(study, monkeypatch):
    """A change that moves figures raises METHODS_REVISION: reports built before it are built again."""
    from agreement.reports import parameters

    first = services.report_generate(study=study, format="csv")
    monkeypatch.setattr(parameters, "METHODS_REVISION", parameters.METHODS_REVISION + 1)
    second = services.report_generate(study=study, format="csv")
    assert second.reused_from_id is None and second.parameters_key != first.parameters_key
