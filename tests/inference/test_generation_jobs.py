"""Generation jobs through the real services, tasks and database, served by the dry-run backend."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from config.exceptions import ApplicationError
from inference import selectors, services, tasks
from inference.backends import ChatResult, TransientBackendError
from inference.backends.dryrun import DryRunBackend
from inference.models import ItemStatus, Job, JobItem, JobStatus
from inference.planning import chunk_of, row_seed
from inference.services import generation
from studies.models import Response
from studies.prompts import build_messages
from tests import factories
from tests.inference.grid import dry_run_spec, grid_size, grid_study

pytestmark = pytest.mark.django_db


class RecordingBackend(DryRunBackend):
    """The dry-run backend, remembering which rows it was asked for and failing the ones told to."""

    def __init__(self, *, fail_keys=(), raise_exc=None):
        super().__init__(model_path="recording")
        self.seen, self.fail_keys, self.raise_exc = [], set(fail_keys), raise_exc

    def chat(self, requests, sampling):
        self.seen.extend(r.key for r in requests)
        if self.raise_exc is not None:
            exc, self.raise_exc = self.raise_exc, None
            raise exc
        return [r if r.key not in self.fail_keys else ChatResult(key=r.key, sample_index=0, error="model said no")
                for r in super().chat(requests, sampling)]


@pytest.fixture
def use_backend(monkeypatch):
    def install(backend):
        monkeypatch.setattr(generation, "backend_for", lambda spec: backend)
        return backend

    return install


def run_all(job):
    return services.job_run_in_process(job=job)


def cells(study):
    return list(Response.objects.filter(study=study).values_list("case_id", "persona_id", "model_id", "sample_index"))


# --- planning -------------------------------------------------------------------------------------

def test_row_seed_is_deterministic_31_bit_and_differs_per_cell():
    a = row_seed(base_seed=7, case_key="set|v1|C1", persona_key="nurse|v1", sample_index=0)
    assert a == row_seed(base_seed=7, case_key="set|v1|C1", persona_key="nurse|v1", sample_index=0)
    others = {row_seed(base_seed=7, case_key="set|v1|C1", persona_key="nurse|v1", sample_index=1),
              row_seed(base_seed=8, case_key="set|v1|C1", persona_key="nurse|v1", sample_index=0),
              row_seed(base_seed=7, case_key="set|v1|C2", persona_key="nurse|v1", sample_index=0)}
    assert a not in others and len(others) == 3
    assert 0 <= a < 2**31


def test_chunk_of_splits_positions_into_fixed_size_chunks():
    assert [chunk_of(i, 3) for i in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    with pytest.raises(ValueError):
        chunk_of(0, 0)


def test_start_plans_every_case_persona_model_sample_row_in_chunks(settings, admin_user):
    settings.GENERATION_CHUNK_SIZE = 5
    study = grid_study(cases=2, personas=3, samples=2)
    job = services.generation_job_start(study=study, user=admin_user, enqueue=False)
    items = list(job.items.all())
    assert len(items) == grid_size(study) == 12
    assert {(i.case_id, i.persona_id, i.model_id, i.sample_index) for i in items}.__len__() == 12
    assert sorted({i.chunk for i in items}) == [0, 1, 2] and job.chunk_size == 5
    assert all(i.status == ItemStatus.PENDING for i in items)
    assert len({i.seed for i in items}) == 12
    item = items[0]
    assert item.seed == row_seed(base_seed=item.model.seed, case_key=generation.case_key(item.case),
                                 persona_key=generation.persona_key(item.persona), sample_index=item.sample_index)
    assert job.status == JobStatus.QUEUED and job.created_by == admin_user


def test_a_second_study_with_the_same_cases_and_personas_gets_the_same_seeds():
    study = grid_study(cases=2, personas=2, samples=1)
    twin = factories.StudyFactory(case_sets=list(study.case_sets.all()), personas=list(study.personas.all()),
                                  model_specs=[dry_run_spec(samples_per_prompt=1)])
    seeds = [sorted(services.generation_job_start(study=s, enqueue=False).items.values_list("seed", flat=True))
             for s in (study, twin)]
    assert seeds[0] == seeds[1]


def test_start_skips_imported_models_and_cells_that_already_have_a_response():
    imported = factories.ModelSpecFactory(backend="imported")
    spec = dry_run_spec(samples_per_prompt=1)
    study = grid_study(cases=2, personas=2, specs=[spec, imported])
    case = study.case_sets.first().cases.first()
    persona = study.personas.first()
    factories.ResponseFactory(study=study, case=case, persona=persona, model=spec, sample_index=0)
    job = services.generation_job_start(study=study, enqueue=False)
    assert job.items.count() == 3
    assert not job.items.filter(model=imported).exists()
    assert not job.items.filter(case=case, persona=persona).exists()


def test_start_refuses_while_a_job_is_active_and_changes_nothing():
    study = grid_study()
    first = services.generation_job_start(study=study, enqueue=False)
    with pytest.raises(ApplicationError, match="already running"):
        services.generation_job_start(study=study, enqueue=False)
    assert list(Job.objects.filter(study=study)) == [first]
    assert JobItem.objects.count() == first.items.count()


@pytest.mark.parametrize("what", ["cases", "personas", "models"])
def test_start_refuses_an_incomplete_study_and_creates_no_job(what):
    study = grid_study(cases=0 if what == "cases" else 1,
                       specs=[factories.ModelSpecFactory(backend="imported")] if what == "models" else None)
    if what == "personas":
        study.personas.clear()
    with pytest.raises(ApplicationError, match="Cannot start generation"):
        services.generation_job_start(study=study, enqueue=False)
    assert not Job.objects.exists() and not JobItem.objects.exists()


def test_start_refuses_a_persona_with_an_unknown_placeholder():
    study = grid_study()
    study.personas.add(factories.PersonaFactory(system_prompt_template="You are {specialty}."))
    with pytest.raises(ApplicationError, match="unknown placeholder") as info:
        services.generation_job_start(study=study, enqueue=False)
    assert len(info.value.extra["problems"]) == 1
    assert not Job.objects.exists()


def test_nothing_left_to_generate_is_an_error():
    study = grid_study(samples=1)
    run_all(services.generation_job_start(study=study, enqueue=False))
    with pytest.raises(ApplicationError, match="already exist"):
        services.generation_job_start(study=study, enqueue=False)
    assert Job.objects.count() == 1


# --- running --------------------------------------------------------------------------------------

def test_enqueued_chunks_store_one_response_per_cell_with_everything_needed_to_reproduce_it(
        settings, django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE = 3
    study = grid_study(cases=2, personas=2, samples=2, task_instructions={"triage": "Answer with the level."})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # no broker: the tasks run eagerly
        job = services.generation_job_start(study=study)
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.started_at and job.finished_at
    responses = list(Response.objects.filter(study=study).select_related("case", "persona", "model"))
    assert len(responses) == len(set(cells(study))) == grid_size(study) == 8
    for response in responses:
        item = job.items.get(case=response.case, persona=response.persona, sample_index=response.sample_index)
        assert response.prompt_messages == build_messages(persona=response.persona, case=response.case,
                                                          task_instructions=study.task_instructions)
        assert response.seed == item.seed and item.status == ItemStatus.DONE and item.attempts == 1
        assert response.sampling == {"temperature": 0.7, "top_p": 1.0, "max_tokens": 64, "n": 1}
        assert response.backend == "dry-run" and response.text.startswith("[dry run ")
        assert response.provenance["job"] == job.pk and response.provenance["engine"] == "dry-run"
        assert response.rendered_prompt and len(response.prompt_hash) == 64
        assert response.completion_tokens and response.prompt_tokens
    baseline = next(r for r in responses if r.persona.is_baseline)
    assert baseline.prompt_messages[0] == {"role": "system", "content": ""}
    triage = next(r for r in responses if r.case.task_type == "triage")
    assert "Answer with the level." in triage.prompt_messages[1]["content"]
    assert triage.parse_status == "unparseable"  # dry-run text states no level
    assert next(r for r in responses if r.case.task_type != "triage").parse_status == "n/a"


def test_running_a_chunk_twice_creates_no_second_response(use_backend):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    backend = use_backend(RecordingBackend())
    services.job_chunk_run(job_id=job.pk, chunk=0)
    before = cells(study)
    # A redelivered message after the job finished, and a worker that died after storing but before
    # marking its rows: neither generates again nor adds a row.
    services.job_chunk_run(job_id=job.pk, chunk=0)
    job.items.update(status=ItemStatus.PENDING)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.job_chunk_run(job_id=job.pk, chunk=0)
    assert cells(study) == before and len(before) == 4
    assert len(backend.seen) == 4
    assert not job.items.exclude(status=ItemStatus.DONE).exists()


def test_two_tasks_generating_the_same_rows_at_once_store_each_cell_once(use_backend, monkeypatch):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    use_backend(RecordingBackend())
    services.job_chunk_run(job_id=job.pk, chunk=0)
    first = {r.pk: r.text for r in Response.objects.filter(study=study)}
    # The twin task read its rows before the first one stored them, so it generates them all again.
    monkeypatch.setattr(generation, "_settle_existing", lambda job, items: items)
    job.items.update(status=ItemStatus.PENDING)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.job_chunk_run(job_id=job.pk, chunk=0)
    assert {r.pk: r.text for r in Response.objects.filter(study=study)} == first
    assert job.items.filter(status=ItemStatus.DONE).count() == 4


def test_failed_rows_are_recorded_with_their_error_and_retried_alone(use_backend, django_capture_on_commit_callbacks):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    failing = set(job.items.filter(persona__is_baseline=True).values_list("pk", flat=True))
    use_backend(RecordingBackend(fail_keys={str(pk) for pk in failing}))
    run_all(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "retry" in job.error
    failed = job.items.filter(status=ItemStatus.FAILED)
    assert set(failed.values_list("pk", flat=True)) == failing
    assert set(failed.values_list("error", flat=True)) == {"model said no"}
    assert Response.objects.filter(study=study).count() == 2
    stored = {r.pk: r.text for r in Response.objects.filter(study=study)}

    retry_backend = use_backend(RecordingBackend())
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry_failed(job=job)
    assert {int(k) for k in retry_backend.seen} == failing
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.error == ""
    assert Response.objects.filter(study=study).count() == 4
    assert {pk: t for pk, t in Response.objects.filter(pk__in=stored).values_list("pk", "text")} == stored
    assert set(job.items.filter(pk__in=failing).values_list("attempts", flat=True)) == {2}


def test_a_backend_crash_fails_its_batch_and_stores_nothing_half_done(use_backend):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    use_backend(RecordingBackend(raise_exc=RuntimeError("CUDA out of memory")))
    run_all(job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert not Response.objects.filter(study=study).exists()
    assert set(job.items.values_list("status", "error")) == {(ItemStatus.FAILED, "RuntimeError: CUDA out of memory")}


class StreamingBackend(RecordingBackend):
    """Yields results request by request, like vLLM's `chat_iter`, and can die after some of them."""

    def __init__(self, *, die_after=None, on_yield=None):
        super().__init__()
        self.die_after, self.on_yield = die_after, on_yield

    def chat_iter(self, requests, sampling):
        for i, result in enumerate(super().chat(requests, sampling)):
            if i == self.die_after:
                raise RuntimeError("engine core died")
            if self.on_yield:
                self.on_yield(i)
            yield [result]


def test_streamed_results_are_stored_while_the_rest_of_the_chunk_generates(use_backend, monkeypatch):
    monkeypatch.setattr(generation, "FLUSH_ROWS", 2)
    study = grid_study(samples=2)
    job = services.generation_job_start(study=study, enqueue=False)
    stored_when = {}
    use_backend(StreamingBackend(on_yield=lambda i: stored_when.setdefault(
        i, Response.objects.filter(study=study).count())))
    run_all(job)
    assert stored_when == {0: 0, 1: 0, 2: 2, 3: 2, 4: 4, 5: 4, 6: 6, 7: 6}
    assert Response.objects.filter(study=study).count() == 8


def test_a_crash_mid_stream_keeps_the_finished_rows_and_fails_only_the_rest(use_backend, monkeypatch):
    monkeypatch.setattr(generation, "FLUSH_ROWS", 100)
    study = grid_study(samples=2)
    job = services.generation_job_start(study=study, enqueue=False)
    use_backend(StreamingBackend(die_after=3))
    job = run_all(job)
    assert job.status == JobStatus.FAILED
    assert Response.objects.filter(study=study).count() == 3
    assert job.items.filter(status=ItemStatus.DONE).count() == 3
    assert set(job.items.filter(status=ItemStatus.FAILED).values_list("error", flat=True)) == {
        "RuntimeError: engine core died"}
    assert job.items.filter(status=ItemStatus.FAILED).count() == 5


def test_retry_failed_without_failed_rows_is_an_error_and_changes_nothing():
    study = grid_study(samples=1)
    job = run_all(services.generation_job_start(study=study, enqueue=False))
    with pytest.raises(ApplicationError, match="no failed rows"):
        services.job_retry_failed(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE


def test_the_task_retries_a_transient_backend_error(use_backend):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    backend = use_backend(RecordingBackend(raise_exc=TransientBackendError("503 from server")))
    tasks.job_chunk_run.apply(args=(job.pk, 0), throw=False)
    assert len(backend.seen) == 8  # the first attempt's 4 rows, then all 4 again
    assert Response.objects.filter(study=study).count() == 4
    assert not job.items.exclude(status=ItemStatus.DONE).exists()


def test_a_task_out_of_retries_records_its_rows_as_failed(use_backend, monkeypatch):
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)

    class AlwaysBusy(RecordingBackend):
        def chat(self, requests, sampling):
            raise TransientBackendError("429 Too Many Requests")

    use_backend(AlwaysBusy())
    monkeypatch.setattr(tasks.job_chunk_run, "max_retries", 1)
    monkeypatch.setitem(tasks.job_chunk_run.app.conf, "task_eager_propagates", False)  # as on a worker
    result = tasks.job_chunk_run.apply(args=(job.pk, 0))
    assert result.failed() and isinstance(result.result, TransientBackendError)
    assert set(job.items.values_list("status", "error")) == {
        (ItemStatus.FAILED, "TransientBackendError: 429 Too Many Requests")}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert not Response.objects.filter(study=study).exists()


# --- cancel, resume -------------------------------------------------------------------------------

def test_cancel_stops_pending_rows_and_resume_finishes_them(settings, django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE = 2
    study = grid_study(samples=1)
    job = services.generation_job_start(study=study, enqueue=False)
    services.job_chunk_run(job_id=job.pk, chunk=0)
    services.job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at
    assert job.items.filter(status=ItemStatus.CANCELLED).count() == 2
    assert services.job_chunk_run(job_id=job.pk, chunk=1) == 0  # a stale message after the cancel
    assert Response.objects.filter(study=study).count() == 2
    with pytest.raises(ApplicationError, match="only a queued or running job"):
        services.job_cancel(job=job)

    with django_capture_on_commit_callbacks(execute=True):
        services.job_resume(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert len(set(cells(study))) == Response.objects.filter(study=study).count() == 4


def test_resume_reenqueues_the_unfinished_chunks_of_a_crashed_worker(settings, django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE = 3
    study = grid_study(samples=2)
    job = services.generation_job_start(study=study, enqueue=False)
    services.job_chunk_run(job_id=job.pk, chunk=0)  # then the worker died; its other chunks were lost
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.job_resume(job=job)
    assert len(callbacks) == 1
    with mock.patch.object(tasks.job_chunk_run, "delay") as delay:
        callbacks[0]()
    assert sorted(c.args for c in delay.call_args_list) == [(job.pk, 1), (job.pk, 2)]
    run_all(job)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and Response.objects.filter(study=study).count() == 8


def test_resume_of_a_finished_job_is_an_error():
    job = run_all(services.generation_job_start(study=grid_study(samples=1), enqueue=False))
    with pytest.raises(ApplicationError, match="no unfinished rows"):
        services.job_resume(job=job)


# --- progress -------------------------------------------------------------------------------------

def test_progress_reports_done_failed_total_rate_and_eta(settings, use_backend):
    settings.GENERATION_CHUNK_SIZE = 2
    study = grid_study(samples=2)
    job = services.generation_job_start(study=study, enqueue=False)
    queued = selectors.job_progress(job=job)
    assert (queued.total, queued.done, queued.pending, queued.percent) == (8, 0, 8, 0.0)
    assert queued.rate_per_second is None and queued.eta_seconds is None
    first = job.items.filter(chunk=0).values_list("pk", flat=True)
    use_backend(RecordingBackend(fail_keys={str(min(first))}))
    services.job_chunk_run(job_id=job.pk, chunk=0)
    services.job_chunk_run(job_id=job.pk, chunk=1)
    job.refresh_from_db()
    now = job.started_at + timedelta(seconds=10)
    progress = selectors.job_progress(job=job, now=now)
    assert (progress.done, progress.failed, progress.pending, progress.total) == (3, 1, 4, 8)
    assert progress.percent == 50.0 and progress.is_active
    assert progress.rate_per_second == pytest.approx(0.3)
    assert progress.eta_seconds == pytest.approx(4 / 0.3)


def test_study_jobs_lists_newest_first_with_progress():
    study = grid_study(samples=1)
    first = run_all(services.generation_job_start(study=study, enqueue=False))
    study.personas.add(factories.PersonaFactory())
    second = services.generation_job_start(study=study, enqueue=False)
    jobs = selectors.study_jobs(study=study)
    assert [j.pk for j in jobs] == [second.pk, first.pk]
    assert jobs[0].progress.total == 2 and jobs[1].progress.done == 4
    assert jobs[1].progress.status == JobStatus.DONE and jobs[0].progress.status == JobStatus.QUEUED


def test_finished_job_has_no_eta_and_full_percent():
    job = run_all(services.generation_job_start(study=grid_study(samples=1), enqueue=False))
    progress = selectors.job_progress(job=job, now=timezone.now() + timedelta(hours=1))
    assert progress.percent == 100.0 and progress.eta_seconds is None and not progress.is_active
