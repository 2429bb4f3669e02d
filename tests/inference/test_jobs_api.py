"""The jobs API, the progress panel and its actions, and the job commands: admins only."""
import json

import pytest
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from inference import services
from inference.models import ItemStatus, Job, JobStatus, JudgeScore
from studies.models import Response
from tests import factories
from tests.inference.grid import dry_run_spec, grid_study

pytestmark = pytest.mark.django_db

ROLES = {"clinician": factories.clinician, "researcher": factories.researcher}


def api_endpoints(study, job):
    return [
        ("get", reverse("inference-api:study-jobs", args=[study.pk])),
        ("post", reverse("inference-api:generation-start", args=[study.pk])),
        ("post", reverse("inference-api:judge-start", args=[study.pk])),
        ("get", reverse("inference-api:job-detail", args=[job.pk])),
        ("post", reverse("inference-api:job-cancel", args=[job.pk])),
        ("post", reverse("inference-api:job-retry-failed", args=[job.pk])),
        ("post", reverse("inference-api:job-resume", args=[job.pk])),
    ]


@pytest.mark.parametrize("role", ["anonymous", "clinician", "researcher"])
def test_every_job_endpoint_refuses_non_admins_and_changes_nothing(role, api_as, client):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    if role == "anonymous":
        from rest_framework.test import APIClient

        api = APIClient()
    else:
        api = api_as(ROLES[role]())
    for method, url in api_endpoints(study, job):
        response = getattr(api, method)(url)
        assert response.status_code in ((401, 403) if role == "anonymous" else (403,)), url
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and Job.objects.count() == 1
    assert not job.items.exclude(status=ItemStatus.PENDING).exists()


def test_admin_starts_follows_cancels_and_resumes_a_job_through_the_api(
        admin_user, api_as, django_capture_on_commit_callbacks):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    api = api_as(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = api.post(reverse("inference-api:generation-start", args=[study.pk]))
    assert started.status_code == 201, started.content
    body = started.json()
    assert (body["total"], body["done"], body["status"], body["failed_rows"]) == (4, 0, "queued", [])
    assert len(callbacks) == 1  # the chunks are sent only once the plan is committed
    job_id = body["job_id"]

    again = api.post(reverse("inference-api:generation-start", args=[study.pk]))
    assert again.status_code == 400 and "already running" in again.json()["message"]
    assert Job.objects.count() == 1

    cancelled = api.post(reverse("inference-api:job-cancel", args=[job_id]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled"] == 4

    with django_capture_on_commit_callbacks(execute=True):
        resumed = api.post(reverse("inference-api:job-resume", args=[job_id]))
    assert resumed.status_code == 200
    detail = api.get(reverse("inference-api:job-detail", args=[job_id])).json()
    assert (detail["status"], detail["done"], detail["total"], detail["percent"]) == ("done", 4, 4, 100.0)
    listed = api.get(reverse("inference-api:study-jobs", args=[study.pk])).json()
    assert [j["job_id"] for j in listed] == [job_id]
    assert Response.objects.filter(study=study).count() == 4

    nothing = api.post(reverse("inference-api:job-retry-failed", args=[job_id]))
    assert nothing.status_code == 400 and nothing.json() == {"message": f"Job {job_id} has no failed rows to retry.",
                                                             "extra": {}}


def test_unknown_study_or_job_is_a_404(admin_user, api_as):
    api = api_as(admin_user)
    assert api.post(reverse("inference-api:generation-start", args=[999999])).status_code == 404
    assert api.get(reverse("inference-api:job-detail", args=[999999])).status_code == 404


def test_judge_job_scores_every_response_once(admin_user, api_as, django_capture_on_commit_callbacks):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    study.judge = dry_run_spec(is_judge=True, rubric_prompt="Rate the response.")
    study.save()
    services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    with django_capture_on_commit_callbacks(execute=True):
        started = api_as(admin_user).post(reverse("inference-api:judge-start", args=[study.pk]))
    assert started.status_code == 201, started.content
    job = Job.objects.get(pk=started.json()["job_id"])
    assert job.kind == "judge" and job.status == JobStatus.DONE
    scores = JudgeScore.objects.filter(judge=study.judge)
    assert scores.count() == Response.objects.filter(study=study).count() == 4
    assert set(job.items.values_list("response_id", flat=True)) == set(scores.values_list("response_id", flat=True))


def test_judge_job_needs_a_judge_and_creates_nothing_without_one(admin_user, api_as):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    response = api_as(admin_user).post(reverse("inference-api:judge-start", args=[study.pk]))
    assert response.status_code == 400 and "no judge" in response.json()["message"]
    assert not Job.objects.exists()


# --- pages ---------------------------------------------------------------------------------------

def test_progress_panel_renders_html_and_json_for_admins(client, admin_user):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    job = services.generation_job_start(study=study, enqueue=False)
    services.job_chunk_run(job_id=job.pk, chunk=0)
    client.force_login(admin_user)
    url = reverse("inference:study_jobs", args=[study.pk])
    page = client.get(url, {"next": "/studies/"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<progress" in html and 'data-active="0"' in html and "4 / 4 done" in html
    assert 'name="next" value="/studies/"' in html
    data = json.loads(client.get(url, {"format": "json"}).content)
    assert data["active"] is False and data["jobs"][0]["done"] == 4


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_progress_panel_and_actions_are_refused_to_non_admins(client, role):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    client.force_login(ROLES[role]())
    assert client.get(reverse("inference:study_jobs", args=[study.pk])).status_code == 403
    assert client.post(reverse("inference:study_generate", args=[study.pk])).status_code == 403
    assert client.post(reverse("inference:job_action", args=[job.pk, "cancel"])).status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and Job.objects.count() == 1


def test_panel_buttons_start_and_cancel_and_go_back_to_a_safe_page(client, admin_user):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    client.force_login(admin_user)
    started = client.post(reverse("inference:study_generate", args=[study.pk]), {"next": "/studies/"})
    assert started.status_code == 302 and started.url == "/studies/"
    job = Job.objects.get(study=study)
    cancel = client.post(reverse("inference:job_action", args=[job.pk, "cancel"]),
                         {"next": "https://evil.example/"})
    assert cancel.status_code == 302 and cancel.url == reverse("studies:study_list")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    again = client.post(reverse("inference:job_action", args=[job.pk, "cancel"]), follow=True)
    assert "only a queued or running job can be cancelled" in again.content.decode()


def test_panel_template_tag_renders_the_study_jobs_with_live_polling(admin_user):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    services.generation_job_start(study=study, enqueue=False)
    request = RequestFactory().get("/studies/1/")
    request.user = admin_user
    html = Template("{% load inference_jobs %}{% study_jobs_panel study %}").render(
        Context({"request": request, "study": study, "csrf_token": "t"}))
    assert 'data-active="1"' in html and "0 / 4 done" in html and "job_progress.js" in html
    assert 'value="/studies/1/"' in html  # the buttons come back to the page that shows the panel


def test_the_study_page_shows_the_jobs_panel_whose_buttons_come_back_to_it(client, admin_user):
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    client.force_login(admin_user)
    page_url = reverse("studies:study_detail", args=[study.pk])
    html = client.get(page_url).content.decode()
    assert "Generation and judging" in html and "4 / 4 done" in html
    assert f'data-poll-url="{reverse("inference:study_jobs", args=[study.pk])}"' in html
    assert f'name="next" value="{page_url}"' in html


# --- commands ------------------------------------------------------------------------------------

def test_generate_command_runs_in_process_with_a_progress_bar(capsys):
    study = grid_study(samples=2)
    call_command("generate", study.name, "--wait")
    out = capsys.readouterr().out
    job = Job.objects.get(study=study)
    assert job.status == JobStatus.DONE and Response.objects.filter(study=study).count() == 8
    assert f"job {job.pk}: Done; 8/8 done, 0 failed" in out


def test_retry_and_resume_commands_explain_when_there_is_nothing_to_do():
    study = grid_study(samples=1)
    call_command("generate", str(study.pk))
    job = Job.objects.get(study=study)
    with pytest.raises(CommandError, match="no failed rows"):
        call_command("retry_failed", str(job.pk))
    with pytest.raises(CommandError, match="no unfinished rows"):
        call_command("resume_job", str(job.pk))
    with pytest.raises(CommandError, match="No study"):
        call_command("generate", "no such study")
