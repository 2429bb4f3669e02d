"""Judge jobs: one or each of the study's judge models scores its responses, chunk by chunk, through
inference.judge."""
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


def _judges_to_run(study: Study, judge, all_judges: bool) -> list:
    """The judges a job scores with: the one named, every judge of the study, or by default its own judge."""
    if judge is not None and all_judges:
        raise ApplicationError("Name one judge or ask for all the study's judges, not both.")
    judges = study.judges()
    if all_judges:
        if not judges:
            raise ApplicationError("The study has no judge model; choose one first.")
        return judges
    if judge is None:
        if study.judge_id is None:
            raise ApplicationError("The study has no judge model; choose one first.")
        return [study.judge]
    if judge not in judges:
        raise ApplicationError(f"'{judge.name}' is not one of this study's judges; add it to the study first.")
    return [judge]


def judge_job_start(*, study: Study, judge=None, all_judges: bool = False, user=None, enqueue: bool = True,
                    chunk_size: int | None = None) -> Job:
    """Plan a score from `judge` (default: the study's own judge; `all_judges`: each of its judges) for
    every response without a valid score from that judge (an unparseable one is asked again while
    inference.judge allows more attempts).

    Each row carries its judge (JobItem.model) and a chunk holds one judge's rows only, so a worker
    loads one judge model per task. One judge job runs per study at a time."""
    chunk_size = chunk_size or settings.GENERATION_CHUNK_SIZE
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        judges = _judges_to_run(study, judge, all_judges)
        if Job.objects.filter(study=study, kind=JobKind.JUDGE, status__in=ACTIVE).exists():
            raise ApplicationError("A judge job is already running for this study; cancel it or wait.")
        rows, chunk = [], 0
        for spec in judges:
            scored = JudgeScore.objects.filter(judge=spec, response__study=study, parse_ok=True).values("response_id")
            pending = (study.responses.exclude(pk__in=scored).order_by("persona_id", "case_id", "id")
                       .values_list("pk", flat=True))
            planned = [(chunk + chunk_of(i, chunk_size), spec, pk) for i, pk in enumerate(pending)]
            rows += planned
            chunk = planned[-1][0] + 1 if planned else chunk
        if not rows:
            raise ApplicationError("Nothing to judge: every response of the study already has a valid score from "
                                   + ("each of its judges." if len(judges) > 1 else f"'{judges[0].name}'."))
        job = Job.objects.create(study=study, kind=JobKind.JUDGE, created_by=user, chunk_size=chunk_size)
        JobItem.objects.bulk_create(
            [JobItem(job=job, chunk=c, model=spec, response_id=pk) for c, spec, pk in rows], batch_size=5000)
        if enqueue:
            job_chunks_enqueue(job=job, chunks={c for c, _, _ in rows})
    return job


def judge_chunk_run(*, job: Job, chunk: int) -> int:
    """Score the chunk's pending responses with each row's judge; inference.judge is idempotent (one score
    per response and judge). Rows planned before rows carried their judge are the study's judge's."""
    from ..judge import judge_responses

    items = list(job.items.filter(chunk=chunk, status=ItemStatus.PENDING).select_related(
        "model", "response__case", "response__persona"))
    by_judge: dict = {}
    for item in items:
        by_judge.setdefault(item.model or job.study.judge, []).append(item)
    done = 0
    for judge_spec, rows in by_judge.items():
        try:
            scores = judge_responses(judge_spec=judge_spec, responses=[i.response for i in rows],
                                     backend=backend_for(judge_spec), study=job.study)
        except TransientBackendError:
            raise
        except Exception as exc:  # recorded on the rows, retried alone later
            logging.getLogger(__name__).exception("judge batch failed (job %s, chunk %s)", job.pk, chunk)
            items_fail(item_ids=[i.pk for i in rows], error=f"{type(exc).__name__}: {exc}")
            continue
        scored = {score.response_id for score in scores}
        finished = [i.pk for i in rows if i.response_id in scored]
        JobItem.objects.filter(pk__in=finished).update(status=ItemStatus.DONE, error="", attempts=F("attempts") + 1,
                                                       updated_at=timezone.now())
        items_fail(item_ids=[i.pk for i in rows if i.response_id not in scored], error="the judge returned no score")
        done += len(finished)
    return done
