"""Pairwise judge jobs: a judge compares responses to the same case two by two, in both orders.

A pair is two responses of one grid cell (same case, model and sample) under two personas: by default
each persona's response against the no-persona baseline's ("baseline"), or every two personas ("all",
capped by PAIRWISE_JUDGE_MAX_PAIRS per job). One JobItem per pair; inference.pairwise asks both orders.
"""
from __future__ import annotations

import logging
from itertools import combinations, groupby

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import ModelSpec, Study

from ..backends import TransientBackendError, backend_for
from ..models import ItemStatus, Job, JobItem, JobKind, PairwiseOrder, PairwiseVerdict
from ..planning import chunk_of
from .jobs import ACTIVE, items_fail, job_chunks_enqueue
from .judging import _judges_to_run

PAIRS_BASELINE = "baseline"
PAIRS_ALL = "all"
PAIRS_MODES = (PAIRS_BASELINE, PAIRS_ALL)


def study_response_pairs(*, study: Study, pairs: str = PAIRS_BASELINE) -> list[tuple[int, int]]:
    """(a id, b id), a < b, for the responses of each grid cell (case, model, sample): every persona
    against the baseline, or every two personas. A cell's responses have distinct personas (unique key)."""
    if pairs not in PAIRS_MODES:
        raise ApplicationError(f"Unknown pairs {pairs!r}: choose one of {', '.join(PAIRS_MODES)}.",
                               extra={"fields": {"pairs": f"one of {', '.join(PAIRS_MODES)}"}})
    rows = study.responses.order_by("case_id", "model_id", "sample_index", "id").values_list(
        "case_id", "model_id", "sample_index", "pk", "persona__is_baseline")
    out = []
    for _, cell in groupby(rows, key=lambda row: row[:3]):
        cell = list(cell)
        if pairs == PAIRS_ALL:
            out += list(combinations([row[3] for row in cell], 2))
        else:
            baselines = [row[3] for row in cell if row[4]]
            out += [tuple(sorted((base, row[3]))) for base in baselines for row in cell if not row[4]]
    return sorted(out)


def _judged_pairs(*, judge: ModelSpec, study: Study) -> set[tuple[int, int]]:
    """Pairs with a valid verdict in both orders."""
    return set(PairwiseVerdict.objects.filter(judge=judge, response_a__study=study, parse_ok=True)
               .values("response_a_id", "response_b_id").annotate(n=Count("id"))
               .filter(n=len(PairwiseOrder.values)).values_list("response_a_id", "response_b_id"))


def pairwise_judge_job_start(*, study: Study, judge: ModelSpec | None = None, pairs: str = PAIRS_BASELINE,
                             user=None, enqueue: bool = True, chunk_size: int | None = None) -> Job:
    """Plan every pair (`pairs`: "baseline" or "all") without a valid verdict in both orders from `judge`
    (one of the study's judges; default: its own); an unparseable verdict is asked again while attempts are
    left."""
    chunk_size = chunk_size or max(1, settings.GENERATION_CHUNK_SIZE // len(PairwiseOrder.values))
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        judge = _judges_to_run(study, judge, False)[0]
        if Job.objects.filter(study=study, kind=JobKind.JUDGE_PAIRWISE, status__in=ACTIVE).exists():
            raise ApplicationError("A pairwise judge job is already running for this study; cancel it or wait.")
        candidates = study_response_pairs(study=study, pairs=pairs)
        if not candidates:
            raise ApplicationError(
                "No pairs to compare: no case has a baseline response and a persona's response from the same "
                "model and sample." if pairs == PAIRS_BASELINE else
                "No pairs to compare: no case has responses from two personas with the same model and sample.")
        judged = _judged_pairs(judge=judge, study=study)
        planned = [pair for pair in candidates if pair not in judged]
        if not planned:
            raise ApplicationError(f"Nothing to judge: every pair already has valid verdicts from '{judge.name}' "
                                   "in both orders.")
        cap = settings.PAIRWISE_JUDGE_MAX_PAIRS
        if len(planned) > cap:
            raise ApplicationError(
                f"{len(planned)} pairs to judge (two judge calls each) exceed the cap of {cap} pairs per job "
                "(PAIRWISE_JUDGE_MAX_PAIRS); compare with the baseline only, or raise the cap.",
                extra={"pairs": len(planned), "cap": cap})
        job = Job.objects.create(study=study, kind=JobKind.JUDGE_PAIRWISE, created_by=user, chunk_size=chunk_size)
        JobItem.objects.bulk_create(
            [JobItem(job=job, chunk=chunk_of(i, chunk_size), response_id=a, response_b_id=b, model=judge)
             for i, (a, b) in enumerate(planned)],
            batch_size=5000,
        )
        if enqueue:
            job_chunks_enqueue(job=job, chunks={chunk_of(i, chunk_size) for i in range(len(planned))})
    return job


def pairwise_chunk_run(*, job: Job, chunk: int) -> int:
    """Judge the chunk's pending pairs in both orders; inference.pairwise is idempotent (one verdict per
    judge, pair and order)."""
    from ..pairwise import judge_pairs

    items = list(job.items.filter(chunk=chunk, status=ItemStatus.PENDING)
                 .select_related("response__case", "response_b", "model"))
    if not items:
        return 0
    judge_spec = items[0].model  # one judge per job
    try:
        verdicts = judge_pairs(judge_spec=judge_spec, pairs=[(i.response, i.response_b) for i in items],
                               backend=backend_for(judge_spec), study=job.study)
    except TransientBackendError:
        raise
    except Exception as exc:  # recorded on the rows, retried alone later
        logging.getLogger(__name__).exception("pairwise judge batch failed (job %s, chunk %s)", job.pk, chunk)
        items_fail(item_ids=[i.pk for i in items], error=f"{type(exc).__name__}: {exc}")
        return 0
    orders = {}
    for verdict in verdicts:
        orders.setdefault((verdict.response_a_id, verdict.response_b_id), set()).add(verdict.order)
    done = {i.pk for i in items if len(orders.get((i.response_id, i.response_b_id), ())) == len(PairwiseOrder.values)}
    JobItem.objects.filter(pk__in=done).update(status=ItemStatus.DONE, error="", attempts=F("attempts") + 1,
                                               updated_at=timezone.now())
    items_fail(item_ids=[i.pk for i in items if i.pk not in done],
               error="the judge returned no verdict in one of the two orders")
    return len(done)
