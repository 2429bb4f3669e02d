"""Uploads parsed and imported off the request: the file is stored, a Celery task checks or imports it and
records its status and result (every row error) on an ImportRun; the page polls it while it runs."""
import re

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from studies.models import Case, CaseSet, ImportRun, ImportStatus
from studies.services import imports
from studies.tasks import case_set_import_task
from tests.studies.test_case_import_entry_points import example_upload, sample


@pytest.fixture
def with_broker(settings, monkeypatch):
    """As with a broker: tasks are sent after the commit, and run only when the test runs them."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(case_set_import_task, "delay", lambda run_id: sent.append(run_id))
    return sent


def no_inline_script(html: str) -> bool:
    return all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


@pytest.mark.django_db
def test_with_a_broker_the_page_shows_the_runs_status_then_its_result(client, admin_user, with_broker,
                                                                      django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("studies:case_set_upload"), {"file": example_upload(), "name": "Ward"})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("studies:case_set_import_run", args=[run.pk])
    assert with_broker == [run.pk] and run.status == ImportStatus.QUEUED and run.dry_run
    assert default_storage.exists(run.path)

    waiting = client.get(response.url)
    html = waiting.content.decode()
    assert 'data-import-poll="' in html and 'data-active="1"' in html and "<progress" in html
    assert "studies/import_progress.js" in html and no_inline_script(html)
    assert client.get(response.url, {"format": "json"}).json() == {
        "id": run.pk, "status": "queued", "status_display": "Queued", "stage": "waiting for a worker",
        "active": True, "ok": False, "message": ""}

    case_set_import_task(run.pk)  # the worker
    run.refresh_from_db()
    assert run.status == ImportStatus.DONE and run.started_at and run.finished_at and run.stage == "finished"
    assert run.result["message"] == "Would create case set Ward v1 with 8 cases." and run.result["preview"]
    progress = client.get(response.url, {"format": "json"}).json()
    assert progress["active"] is False and progress["ok"] is True
    done = client.get(response.url)
    assert "Would create case set Ward v1 with 8 cases." in done.content.decode() and done.context["token"]
    assert not CaseSet.objects.exists() and default_storage.exists(run.path)  # kept for the import

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("studies:case_set_upload_confirm"), {"token": done.context["token"]})
    real = ImportRun.objects.get(dry_run=False)
    assert confirmed.url == reverse("studies:case_set_import_run", args=[real.pk]) and with_broker[-1] == real.pk
    case_set_import_task(real.pk)
    real.refresh_from_db()
    case_set = CaseSet.objects.get(name="Ward")
    assert real.ok and real.result["case_set_id"] == case_set.pk and case_set.owner == admin_user
    assert not default_storage.exists(real.path)  # imported: the stored upload is removed
    page = client.get(confirmed.url).content.decode()
    assert reverse("studies:case_set_detail", args=[case_set.pk]) in page and "Open the case set" in page


@pytest.mark.django_db
def test_without_a_broker_the_task_runs_in_process_and_the_page_shows_the_result(client, admin_user):
    client.force_login(admin_user)
    page = client.post(reverse("studies:case_set_upload"), {"file": sample("many_errors.csv"), "name": "Ward"})
    run = ImportRun.objects.get()
    assert page.status_code == 200 and run.status == ImportStatus.DONE and run.result["ok"] is False
    assert run.result["error_count"] == 6 and len(run.result["errors"]) == 6
    assert len(page.context["shown_errors"]) == 6 and "token" not in page.context or not page.context["token"]
    assert not default_storage.exists(run.path)  # nothing to import: not kept


@pytest.mark.django_db
def test_a_failing_run_is_recorded_never_raised(admin_user, monkeypatch):
    path = imports.upload_store(example_upload())
    run = imports.import_run_create(kind="case_set", path=path, filename="cases.csv", options={"name": "W"},
                                    dry_run=True, user=admin_user)

    def broken(run, fh):
        raise RuntimeError("disk on fire")

    imports.import_run_execute(run_id=run.pk, runner=broken)
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED and run.error == "RuntimeError: disk on fire"
    assert not run.is_active and not default_storage.exists(path)
    # Delivered again: a finished run is left as it is.
    assert imports.import_run_execute(run_id=run.pk, runner=imports.case_set_runner) is None


@pytest.mark.django_db
def test_a_missing_upload_and_a_refused_import_are_shown_on_the_run(client, admin_user):
    gone = imports.import_run_create(kind="case_set", path="import-uploads/gone.csv", filename="gone.csv",
                                     options={"name": "W"}, dry_run=False, user=admin_user)
    case_set_import_task(gone.pk)
    gone.refresh_from_db()
    assert gone.status == ImportStatus.FAILED and "upload it again" in gone.error
    client.force_login(admin_user)
    html = client.get(reverse("studies:case_set_import_run", args=[gone.pk])).content.decode()
    assert "The import failed" in html and "upload it again" in html

    bad = imports.import_run_create(kind="case_set", path=imports.upload_store(sample("many_errors.csv")),
                                    filename="many_errors.csv", options={"name": "W"}, dry_run=False,
                                    user=admin_user)
    case_set_import_task(bad.pk)  # a real import refuses: its result (every error) is kept, not raised
    bad.refresh_from_db()
    assert bad.status == ImportStatus.DONE and not bad.ok and bad.result["error_count"] == 6
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_check_can_be_confirmed_once_and_only_when_it_found_something(admin_user):
    run = imports.import_run_create(kind="case_set", path=imports.upload_store(example_upload()),
                                    filename="cases.csv", options={"name": "Once"}, dry_run=True, user=admin_user)
    imports.import_run_start(run, case_set_import_task)
    real = imports.import_run_confirm(run=run, user=admin_user, task=case_set_import_task)
    assert real.ok and CaseSet.objects.filter(name="Once").count() == 1
    with pytest.raises(Exception, match="imported already"):
        imports.import_run_confirm(run=run, user=admin_user, task=case_set_import_task)
    with pytest.raises(Exception, match="Only a finished check"):
        imports.import_run_confirm(run=real, user=admin_user, task=case_set_import_task)


@pytest.mark.django_db
def test_runs_are_for_site_admins(client, admin_user, researcher, clinician):
    run = imports.import_run_create(kind="case_set", path="x", filename="x.csv", options={}, dry_run=True)
    url = reverse("studies:case_set_import_run", args=[run.pk])
    for user in (researcher, clinician):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.get(url, {"format": "json"}).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def test_the_import_tasks_run_on_the_default_queue_not_the_gpu_one():
    from config.celery import app
    from inference.tasks import job_chunk_run, responses_import_task

    def queue(task):
        return app.amqp.router.route(dict(task._get_exec_options()), task.name, task_type=task)["queue"].name

    assert queue(case_set_import_task) == queue(responses_import_task) == "default"
    assert queue(job_chunk_run) == "gpu"


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_taken_up_again(admin_user):
    from datetime import timedelta

    from django.utils import timezone

    run = imports.import_run_create(kind="case_set", path=imports.upload_store(example_upload()),
                                    filename="cases.csv", options={"name": "Again"}, dry_run=True, user=admin_user)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now())
    assert imports.import_run_execute(run_id=run.pk, runner=imports.case_set_runner) is None  # still running
    ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=2))
    assert imports.import_run_execute(run_id=run.pk, runner=imports.case_set_runner).ok
