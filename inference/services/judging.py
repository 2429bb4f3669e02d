"""Judge jobs: the study's judge model scores its responses, chunk by chunk, through inference.judge."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Study

from ..backends import TransientBackendError, backend_for
from ..models import ItemStatus, Job, JobItem, JobKind, JudgeScore
from ..planning import chunk_of
from .jobs import ACTIVE, items_fail, job_chunks_enqueue


def judge_job_start(*, study: Study, user=None, enqueue: bool = True, chunk_size: int | None = None) -> Job:
    """Plan a judge score for every response of the study without a valid score from its judge (an
    unparseable one is asked again while inference.judge allows more attempts)."""
    chunk_size = chunk_size or settings.GENERATION_CHUNK_SIZE
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if study.judge_id is None:
            raise ApplicationError("The study has no judge model; choose one first.")
        if Job.objects.filter(study=study, kind=JobKind.JUDGE, status__in=ACTIVE).exists():
            raise ApplicationError("A judge job is already running for this study; cancel it or wait.")
        scored = JudgeScore.objects.filter(judge_id=study.judge_id, response__study=study, parse_ok=True).values(
            "response_id")
        response_ids = list(study.responses.exclude(pk__in=scored).order_by("persona_id", "case_id", "id")
                            .values_list("pk", flat=True))
        if not response_ids:
            raise ApplicationError("Nothing to judge: every response of the study already has a valid judge score.")
        job = Job.objects.create(study=study, kind=JobKind.JUDGE, created_by=user, chunk_size=chunk_size)
        JobItem.objects.bulk_create(
            [JobItem(job=job, chunk=chunk_of(i, chunk_size), response_id=pk) for i, pk in enumerate(response_ids)],
            batch_size=5000,
        )
        if enqueue:
            job_chunks_enqueue(job=job, chunks={chunk_of(i, chunk_size) for i in range(len(response_ids))})
    return job


def judge_chunk_run(*, job: Job, chunk: int) -> int:
    """Score the chunk's pending responses; inference.judge is idempotent (one score per response and judge)."""
    from ..judge import judge_responses

    items = list(job.items.filter(chunk=chunk, status=ItemStatus.PENDING).select_related("response__case",
                                                                                        "response__persona"))
    if not items:
        return 0
    judge_spec = job.study.judge
    try:
        scores = judge_responses(judge_spec=judge_spec, responses=[i.response for i in items],
                                 backend=backend_for(judge_spec), study=job.study)
    except TransientBackendError:
        raise
    except Exception as exc:  # recorded on the rows, retried alone later
        logging.getLogger(__name__).exception("judge batch failed (job %s, chunk %s)", job.pk, chunk)
        items_fail(item_ids=[i.pk for i in items], error=f"{type(exc).__name__}: {exc}")
        return 0
    scored = {score.response_id for score in scores}
    done = [i.pk for i in items if i.response_id in scored]
    JobItem.objects.filter(pk__in=done).update(status=ItemStatus.DONE, error="", attempts=F("attempts") + 1,
                                               updated_at=timezone.now())
    items_fail(item_ids=[i.pk for i in items if i.response_id not in scored], error="the judge returned no score")
    return len(done)
