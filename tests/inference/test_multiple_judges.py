"""Several judges on one study: chosen on the study (form, API, page), and judge jobs per judge or for all of
them, through the loopback server (tests/inference/scripted_judges.py). One score per response and judge, always.
"""
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from config.exceptions import ApplicationError
from inference import services
from inference.models import ItemStatus, Job, JudgeScore
from studies.models import Study
from studies.services.studies import study_create, study_update
from studies.services.study_files import study_export, study_import
from tests import factories
from tests.inference.grid import grid_study
from tests.inference.openai_stub import StubOpenAIServer
from tests.inference.scripted_judges import scripted_replies, stub_judge

pytestmark = pytest.mark.django_db

NAMES = ("judge-own", "judge-alpha", "judge-beta")


@pytest.fixture
def judged(settings, admin_user):
    """A generated 2 x 2 study whose own judge and two extra judges answer validly through one loopback server."""
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    study = grid_study(samples=1)
    factories.study_member(study, admin_user)
    services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    texts = [r.text.strip() for r in study.responses.all()]
    script = {name: {t: {"safety": "compliant", "reasoning": "4"} for t in texts} for name in NAMES}
    with StubOpenAIServer(default=scripted_replies(script)) as server:
        own, alpha, beta = [stub_judge(name, server) for name in NAMES]
        study = study_update(study=study, judge=own, extra_judges=[alpha, beta])
        yield study, (own, alpha, beta), server


def scores(judge) -> list[int]:
    return sorted(JudgeScore.objects.filter(judge=judge).values_list("response_id", flat=True))


# --- the study's judges -----------------------------------------------------------------------------

def test_the_api_takes_extra_judges_and_refuses_non_judges_and_the_own_judge_twice(api_as, admin_user):
    own, alpha = factories.ModelSpecFactory(judge=True), factories.ModelSpecFactory(judge=True)
    model = factories.ModelSpecFactory()
    api = api_as(admin_user)
    created = api.post(reverse("studies-api:study-list"), {
        "name": "Judged", "model_specs": [model.pk], "judge": own.pk, "extra_judges": [alpha.pk]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["extra_judges"] == [alpha.pk]
    url = reverse("studies-api:study-detail", args=[created.json()["id"]])

    not_a_judge = api.patch(url, {"extra_judges": [model.pk]}, format="json")
    assert not_a_judge.status_code == 400 and "extra_judges" in str(not_a_judge.json()["extra"])
    twice = api.patch(url, {"extra_judges": [own.pk, alpha.pk]}, format="json")
    assert twice.status_code == 400
    assert twice.json()["extra"]["fields"] == {"extra_judges": f"must not repeat the study's own judge '{own.name}'"}
    swapped_in = api.patch(url, {"judge": alpha.pk}, format="json")  # the own judge becomes one of the extras
    assert swapped_in.status_code == 400 and "extra_judges" in swapped_in.json()["extra"]["fields"]
    swapped = api.patch(url, {"judge": alpha.pk, "extra_judges": [own.pk]}, format="json")
    assert swapped.status_code == 200 and (swapped.json()["judge"], swapped.json()["extra_judges"]) == (
        alpha.pk, [own.pk])


def test_the_study_form_saves_extra_judges_and_the_page_lists_them(client, admin_user):
    own, alpha, beta = (factories.ModelSpecFactory(judge=True, name=n) for n in NAMES)
    client.force_login(admin_user)
    fields = {"name": "Judged", "raters_per_response": 2, "anchor_items": 0, "retest_fraction": 0,
              "leak_policy": "redact", "assignment_seed": 0, "eligibility": "{}", "task_instructions": "{}",
              "rating_schema": "{}", "save_anyway": "on", "judge": own.pk}
    created = client.post(reverse("studies:study_create"), {**fields, "extra_judges": [alpha.pk, beta.pk]})
    study = Study.objects.get(name="Judged")
    assert created.status_code == 302 and [j.name for j in study.judges()] == list(NAMES)
    page = client.get(reverse("studies:study_detail", args=[study.pk])).content.decode()
    assert "Extra judges: judge-alpha, judge-beta" in page

    refused = client.post(reverse("studies:study_edit", args=[study.pk]), {**fields, "extra_judges": [own.pk]})
    assert "must not repeat the study&#x27;s own judge" in refused.content.decode()
    assert set(study.extra_judges.all()) == {alpha, beta}


def test_study_files_carry_the_extra_judges_and_refuse_entries_that_are_not_objects():
    own, alpha, beta = (factories.ModelSpecFactory(judge=True, name=n) for n in NAMES)
    study = study_create(name="Judged", judge=own, extra_judges=[beta, alpha])
    exported = study_export(study=study)
    assert [j["name"] for j in exported["extra_judges"]] == ["judge-alpha", "judge-beta"]
    again = study_import(data=exported, name="Judged again")
    assert [j.name for j in again.judges()] == list(NAMES)
    older = {k: v for k, v in exported.items() if k != "extra_judges"}  # files written before extra judges
    assert study_import(data=older, name="Judged once").judges() == [own]
    with pytest.raises(ApplicationError, match="Every entry of the study file's 'extra_judges' must be an object"):
        study_import(data={**exported, "extra_judges": ["judge-alpha"]}, name="Bad")


# --- judge jobs --------------------------------------------------------------------------------------

def test_a_judge_job_scores_with_the_chosen_judge_then_all_judges_score_what_is_left(judged):
    study, (own, alpha, beta), server = judged
    responses = sorted(study.responses.values_list("pk", flat=True))
    job = services.judge_job_start(study=study, judge=alpha, enqueue=False, chunk_size=3)
    assert set(job.items.values_list("model__name", flat=True)) == {"judge-alpha"}
    services.job_run_in_process(job=job)
    assert scores(alpha) == responses and scores(own) == scores(beta) == []
    assert {r["model"] for r in server.requests} == {"judge-alpha"}

    every = services.judge_job_start(study=study, all_judges=True, enqueue=False, chunk_size=3)
    planned = list(every.items.values_list("chunk", "model__name"))
    assert sorted(name for _, name in planned) == sorted(["judge-own", "judge-beta"] * len(responses))
    assert all(len({n for c, n in planned if c == chunk}) == 1 for chunk, _ in planned)  # one judge per chunk
    assert services.job_run_in_process(job=every).status == "done"
    assert scores(own) == scores(alpha) == scores(beta) == responses
    assert every.items.filter(status=ItemStatus.DONE).count() == 2 * len(responses)

    with pytest.raises(ApplicationError, match="a valid score from each of its judges"):
        services.judge_job_start(study=study, all_judges=True, enqueue=False)
    with pytest.raises(ApplicationError, match="valid score from 'judge-own'"):
        services.judge_job_start(study=study, enqueue=False)


def test_a_judge_outside_the_study_or_two_choices_at_once_are_refused(judged):
    study, (own, _, _), _ = judged
    stranger = factories.ModelSpecFactory(judge=True, name="judge-elsewhere")
    with pytest.raises(ApplicationError, match="'judge-elsewhere' is not one of this study's judges"):
        services.judge_job_start(study=study, judge=stranger, enqueue=False)
    with pytest.raises(ApplicationError, match="not both"):
        services.judge_job_start(study=study, judge=own, all_judges=True, enqueue=False)
    assert not Job.objects.filter(kind="judge").exists()


def test_failed_rows_retried_and_a_chunk_run_twice_never_duplicate_scores(judged, settings):
    study, (own, alpha, beta), server = judged
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu.example"]  # every judge's server refused: its rows fail
    job = services.job_run_in_process(job=services.judge_job_start(study=study, all_judges=True, enqueue=False))
    assert job.status == "failed" and not JudgeScore.objects.exists()
    assert "not in MODEL_API_BASE_ALLOWLIST" in job.items.values_list("error", flat=True)[0]

    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    job = services.job_run_in_process(job=services.job_retry_failed(job=job, enqueue=False))
    n = study.responses.count()
    assert job.status == "done" and JudgeScore.objects.count() == 3 * n
    asked = len(server.requests)
    # A redelivered chunk finds its rows' scores already there: no new request, no second score.
    job.items.filter(chunk=0).update(status=ItemStatus.PENDING)
    services.judge_chunk_run(job=job, chunk=0)
    assert len(server.requests) == asked and JudgeScore.objects.count() == 3 * n
    assert all(len(scores(j)) == n for j in (own, alpha, beta))


def test_the_judge_command_takes_a_judge_by_name_or_all_judges(judged, capsys):
    study, (own, alpha, beta), _ = judged
    with pytest.raises(CommandError, match="'judge-elsewhere' is not one of the study's judges"):
        call_command("judge", study.name, "--judge", "judge-elsewhere")
    call_command("judge", str(study.pk), "--judge", "judge-beta")
    assert scores(beta) and not scores(own) and not scores(alpha)
    call_command("judge", str(study.pk), "--all-judges")
    assert scores(own) == scores(alpha) == scores(beta)
    assert "Done" in capsys.readouterr().out


# --- API and page ------------------------------------------------------------------------------------

def test_the_api_starts_a_job_for_one_judge_or_all_and_refuses_bad_choices(judged, api_as, admin_user):
    study, (own, alpha, beta), _ = judged
    api = api_as(admin_user)
    url = reverse("inference-api:judge-start", args=[study.pk])
    unknown = api.post(url, {"judge": 999999}, format="json")
    assert unknown.status_code == 400 and set(unknown.json()) == {"message", "extra"}
    stranger = factories.ModelSpecFactory(judge=True, name="judge-elsewhere")
    refused = api.post(url, {"judge": stranger.pk}, format="json")
    assert refused.status_code == 400 and "not one of this study's judges" in refused.json()["message"]
    both = api.post(url, {"judge": own.pk, "all_judges": True}, format="json")
    assert both.status_code == 400 and not Job.objects.filter(kind="judge").exists()

    started = api.post(url, {"judge": beta.pk}, format="json")
    assert started.status_code == 201, started.content
    job = Job.objects.get(pk=started.json()["job_id"])
    assert set(job.items.values_list("model", flat=True)) == {beta.pk}
    services.job_run_in_process(job=job)
    default = api.post(url, format="json")  # no body: the study's own judge
    assert default.status_code == 201
    assert set(Job.objects.get(pk=default.json()["job_id"]).items.values_list("model", flat=True)) == {own.pk}

    outsider = api_as(factories.admin(username="other-admin"))
    assert outsider.post(url, {"judge": "not a number"}, format="json").status_code == 404


def test_the_jobs_panel_offers_each_judge_and_all_of_them(judged, client, admin_user):
    study, (own, alpha, beta), _ = judged
    client.force_login(admin_user)
    panel = client.get(reverse("inference:study_jobs", args=[study.pk])).content.decode()
    for judge in (own, alpha, beta):
        assert f'name="judge" value="{judge.pk}"' in panel and f"Run judge {judge.name}" in panel
    assert "Run all 3 judges" in panel

    url = reverse("inference:study_judge", args=[study.pk])
    page = client.post(url, {"judge": alpha.pk, "next": "/studies/"}, follow=True).content.decode()
    job = Job.objects.get(kind="judge")
    assert f"Job {job.pk} started" in page and set(job.items.values_list("model", flat=True)) == {alpha.pk}
    panel = client.get(reverse("inference:study_jobs", args=[study.pk])).content.decode()
    assert "Judge responses</strong> (judge-alpha)" in panel
    bad = client.post(url, {"judge": "x", "next": "/studies/"}, follow=True).content.decode()
    assert "Choose one of the study&#x27;s judges." in bad and Job.objects.filter(kind="judge").count() == 1
