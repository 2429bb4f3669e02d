"""A report whose builder died is noticed (no heartbeat for REPORT_STALE_SECONDS), failed or queued again."""
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from agreement import services
from agreement.models import Report, ReportStatus
from config.exceptions import ApplicationError
from tests.agreement.report_fixtures import rated_study


@pytest.fixture
def study(db):
    return rated_study({
        "ann": [{"safety": ("compliant", "high")}, {"safety": ("not_compliant", "low")}],
        "bob": [{"safety": ("compliant", "medium")}, {"safety": ("compliant", "low")}],
    })[0]


def abandoned(study, *, silent_for=timedelta(hours=3), heartbeat=True, fmt="csv") -> Report:
    """A report left 'building' by a worker whose main process was killed: nothing touches it any more."""
    report = services.report_create(study=study, format=fmt)
    then = timezone.now() - silent_for
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, started_at=then, progress=0.4,
                                               heartbeat_at=then if heartbeat else None)
    return report


def test_requesting_a_report_fails_the_studys_stopped_builds(study, django_capture_on_commit_callbacks):
    dead, dead_without_beat = abandoned(study), abandoned(study, heartbeat=False)
    alive = abandoned(study, silent_for=timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        new = services.report_request(study=study, format="csv")
    for report in (dead, dead_without_beat):
        report.refresh_from_db()
        assert report.status == ReportStatus.FAILED and report.finished_at is not None
        assert report.error.startswith("The process building this report stopped (no sign of life for 15 minute(s))")
    alive.refresh_from_db()
    assert alive.status == ReportStatus.RUNNING
    new.refresh_from_db()
    assert new.status == ReportStatus.DONE and new.heartbeat_at is not None


def test_the_stale_limit_is_a_setting(study, settings):
    report = abandoned(study, silent_for=timedelta(minutes=5))
    assert services.reports_fail_stale(study=study) == 0
    settings.REPORT_STALE_SECONDS = 60
    assert services.reports_fail_stale(study=study) == 1
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED


def test_a_stopped_or_failed_report_resumes_and_builds(study, django_capture_on_commit_callbacks):
    report = abandoned(study)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = services.report_resume(report=report)
    assert resumed.status == ReportStatus.QUEUED or resumed.status == ReportStatus.DONE
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.error == "" and report.file

    failed = abandoned(study)
    services.reports_fail_stale(study=study)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_resume(report=failed)
    failed.refresh_from_db()
    assert failed.status == ReportStatus.DONE and failed.error == ""


def test_a_done_or_live_report_is_not_resumed(study, django_capture_on_commit_callbacks):
    alive = abandoned(study, silent_for=timedelta(seconds=5))
    with pytest.raises(ApplicationError, match=r"is building; only a failed, queued or stopped report") as caught:
        services.report_resume(report=alive)
    assert caught.value.status_code == 409
    done = services.report_generate(study=study, format="csv")
    with pytest.raises(ApplicationError, match="is done"):
        services.report_resume(report=done)


def test_a_build_that_was_taken_for_stopped_but_finishes_is_done_without_the_error(study):
    report = abandoned(study)
    services.reports_fail_stale(study=study)
    built = services.report_build(report_id=report.pk)
    assert built.status == ReportStatus.DONE and built.error == ""


def test_the_resume_reports_command_queues_stopped_reports_again(study, capsys, django_capture_on_commit_callbacks):
    other = rated_study({"cy": [{"safety": ("compliant", "high")}]}, name="Other study")[0]
    mine, theirs = abandoned(study), abandoned(other)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_reports", "--study", str(study.pk))
    assert "1 stopped report(s) queued again." in capsys.readouterr().out
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.status == ReportStatus.DONE and theirs.status == ReportStatus.RUNNING

    call_command("resume_reports", "--fail")
    assert "1 stopped report(s) marked failed." in capsys.readouterr().out
    theirs.refresh_from_db()
    assert theirs.status == ReportStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_long_step_alive(settings):
    study = rated_study({"ann": [{"safety": ("compliant", "high")}]})[0]
    report = abandoned(study, silent_for=timedelta(hours=1))
    settings.REPORT_STALE_SECONDS = 60
    with services._Heartbeat(report.pk, 0.05):
        time.sleep(0.5)
    report.refresh_from_db()
    assert timezone.now() - report.heartbeat_at < timedelta(seconds=5)
    assert services.reports_fail_stale() == 0


def test_the_report_page_shows_a_stopped_build_as_failed_and_resumes_it(study, client,
                                                                         django_capture_on_commit_callbacks):
    from django.urls import reverse

    from tests import factories

    report = abandoned(study)
    client.force_login(factories.study_member(study, factories.researcher(), role="researcher"))
    page = client.get(reverse("agreement:study_report", args=[study.pk])).content.decode()
    assert "The process building this report stopped" in page and "Resume" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("agreement:report_resume", args=[report.pk]))
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.error == ""


def test_the_api_resumes_a_stopped_report_and_refuses_a_done_one(study, api_as, django_capture_on_commit_callbacks):
    from tests import factories

    api = api_as(factories.study_member(study, factories.researcher(), role="researcher"))
    report = abandoned(study)
    services.reports_fail_stale(study=study)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/reports/{report.pk}/resume/")
    assert response.status_code == 202
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    again = api.post(f"/api/reports/{report.pk}/resume/")
    assert again.status_code == 409 and "only a failed" in again.json()["message"]
    other = api_as(factories.researcher()).post(f"/api/reports/{report.pk}/resume/")
    assert other.status_code == 404
