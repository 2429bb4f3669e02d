"""The life of a job, whatever its kind: enqueue chunks, run one, finish, cancel, resume, retry failed rows.

A job's planned rows (JobItem) are the single source of its progress. A chunk task only ever works on
its chunk's PENDING rows and stores results under unique keys, so running a chunk twice (a redelivered
message after a worker died, a resumed job, a duplicate enqueue) finishes rows, never duplicates them.
"""
from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import StudyStatus

from ..models import ItemStatus, Job, JobItem, JobKind, JobStatus

logger = logging.getLogger(__name__)

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
MAX_ERROR_CHARS = 2000


def job_chunks_enqueue(*, job: Job, chunks) -> list[int]:
    """Send one Celery task per chunk once the current transaction commits (so workers see the rows)."""
    from .. import tasks

    chunks = sorted(set(chunks))

    def send():
        for chunk in chunks:
            tasks.job_chunk_run.delay(job.pk, chunk)

    transaction.on_commit(send)
    return chunks


def job_chunk_run(*, job_id: int, chunk: int) -> int:
    """Run one chunk of a job: the rows still pending in it. Returns how many rows it finished."""
    from .generation import generation_chunk_run
    from .judging import judge_chunk_run
    from .pairwise import pairwise_chunk_run

    job = Job.objects.select_related("study").get(pk=job_id)
    if job.status not in ACTIVE:
        return 0  # cancelled or finished: a stale message
    Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=Coalesce(F("started_at"), Now())
    )
    run = {JobKind.GENERATE: generation_chunk_run, JobKind.JUDGE: judge_chunk_run,
           JobKind.JUDGE_PAIRWISE: pairwise_chunk_run}[job.kind]
    finished = run(job=job, chunk=chunk)
    job_finish_if_complete(job_id=job.pk)
    return finished


def job_run_in_process(*, job: Job, on_chunk=None) -> Job:
    """Run the job's pending chunks here, one after another, without a broker (commands, scripts,
    benchmarks). `on_chunk(job)` is called after each chunk, e.g. to advance a progress bar."""
    chunks = sorted(set(job.items.filter(status=ItemStatus.PENDING).values_list("chunk", flat=True)))
    for chunk in chunks:
        job_chunk_run(job_id=job.pk, chunk=chunk)
        if on_chunk:
            on_chunk(job)
    job.refresh_from_db()
    return job


def items_fail(*, item_ids, error: str) -> int:
    """Record rows as failed with their error; they keep it until retried."""
    return JobItem.objects.filter(pk__in=list(item_ids), status=ItemStatus.PENDING).update(
        status=ItemStatus.FAILED, error=error[:MAX_ERROR_CHARS], attempts=F("attempts") + 1, updated_at=timezone.now()
    )


def job_chunk_fail(*, job_id: int, chunk: int, error: str) -> int:
    """A chunk task gave up (retries exhausted, time limit, crash): its pending rows become failed rows."""
    failed = items_fail(item_ids=JobItem.objects.filter(job_id=job_id, chunk=chunk, status=ItemStatus.PENDING)
                        .values_list("pk", flat=True), error=error)
    job_finish_if_complete(job_id=job_id)
    return failed


def job_finish_if_complete(*, job_id: int) -> Job | None:
    """Close an active job whose rows are all settled: done, or "finished with failures"."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status not in ACTIVE or job.items.filter(status=ItemStatus.PENDING).exists():
            return None
        has_failures = job.items.filter(status=ItemStatus.FAILED).exists()
        job.status = JobStatus.FAILED if has_failures else JobStatus.DONE
        job.finished_at = timezone.now()
        job.error = "Some rows failed; retry them with retry_failed." if has_failures else ""
        job.save(update_fields=["status", "finished_at", "error", "updated_at"])
    return job


def job_cancel(*, job: Job) -> Job:
    """Stop a job: its pending rows are cancelled. A chunk already running on a GPU finishes and keeps
    what it generated (its rows are real results); no new chunk starts."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in ACTIVE:
            raise ApplicationError(f"Job {job.pk} is {job.get_status_display().lower()}; only a queued or running "
                                   "job can be cancelled.")
        job.items.filter(status=ItemStatus.PENDING).update(status=ItemStatus.CANCELLED, updated_at=timezone.now())
        job.status = JobStatus.CANCELLED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at", "updated_at"])
    return job


def _reopen(job: Job, *, from_statuses, nothing_message: str, enqueue: bool) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        reopened = job.items.filter(status__in=from_statuses)
        chunks = set(reopened.values_list("chunk", flat=True))
        reopened.update(status=ItemStatus.PENDING, updated_at=timezone.now())
        chunks |= set(job.items.filter(status=ItemStatus.PENDING).values_list("chunk", flat=True))
        if not chunks:
            raise ApplicationError(nothing_message)
        job.status = JobStatus.RUNNING if job.started_at else JobStatus.QUEUED
        job.finished_at = None
        job.error = ""
        job.save(update_fields=["status", "finished_at", "error", "updated_at"])
        if enqueue:
            job_chunks_enqueue(job=job, chunks=chunks)
    return job


def job_resume(*, job: Job, enqueue: bool = True) -> Job:
    """Re-enqueue every chunk with unfinished rows (after a crashed worker, or a cancel).

    Safe while the original messages may still be redelivered: a chunk with nothing pending is a no-op."""
    return _reopen(job, from_statuses=[ItemStatus.CANCELLED], enqueue=enqueue,
                   nothing_message=f"Job {job.pk} has no unfinished rows to resume.")


def job_retry_failed(*, job: Job, enqueue: bool = True) -> Job:
    """Run the failed rows again, and only them (their chunks' other rows are already settled)."""
    if not job.items.filter(status=ItemStatus.FAILED).exists():
        raise ApplicationError(f"Job {job.pk} has no failed rows to retry.")
    return _reopen(job, from_statuses=[ItemStatus.FAILED], enqueue=enqueue,
                   nothing_message=f"Job {job.pk} has no failed rows.")


def study_transition_if_available(*, study, to_status: str, user) -> None:
    """Move the study's status through annotation's own service (generation never writes Study.status).

    Only a person moves a study: jobs started by a command or finished by a worker leave it alone, and
    entering "rating" (which plans the clinicians' assignments) stays the admin's decision."""
    if user is None:
        return
    try:
        from studies.services.studies import study_transition
    except ImportError:
        return
    try:
        study_transition(study=study, to_status=to_status, user=user)
    except ApplicationError as exc:
        logger.info("study %s stays %s: %s", study.pk, study.status, exc.message)


def jobs_block_transition(*, study, to_status, **_) -> str | None:
    """`study_transition_check` receiver: a study cannot start rating, or go back to draft, mid-generation."""
    if to_status in (StudyStatus.RATING, StudyStatus.DRAFT) and study.jobs.filter(status__in=ACTIVE).exists():
        return "generation jobs are still queued or running; wait for them or cancel them"
    return None
