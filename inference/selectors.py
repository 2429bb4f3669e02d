"""Reads: job progress (done / failed / total, rate, ETA) from the planned rows, and a study's jobs."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from studies.permissions import studies_for

from .models import ItemStatus, Job, JobKind, JobStatus, PairwiseVerdict


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    kind: str
    status: str
    status_display: str
    total: int
    done: int
    failed: int
    pending: int
    cancelled: int
    percent: float  # settled (done + failed) share of the total, 0-100
    elapsed_seconds: float | None
    rate_per_second: float | None  # rows done per second since the job started
    eta_seconds: float | None  # pending rows at that rate; None until a row is done
    is_active: bool
    created_at: str
    error: str

    def as_dict(self) -> dict:
        return asdict(self)


def job_progress(*, job: Job, now=None) -> JobProgress:
    counts = job.items.aggregate(
        total=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in ItemStatus.values},
    )
    now = now or timezone.now()
    elapsed = rate = eta = None
    if job.started_at:
        elapsed = max(((job.finished_at or now) - job.started_at).total_seconds(), 0.0)
        if elapsed and counts[ItemStatus.DONE]:
            rate = counts[ItemStatus.DONE] / elapsed
            if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                eta = counts[ItemStatus.PENDING] / rate
    total = counts["total"]
    settled = counts[ItemStatus.DONE] + counts[ItemStatus.FAILED]
    return JobProgress(
        job_id=job.pk, kind=job.kind, status=job.status, status_display=job.get_status_display(), total=total,
        done=counts[ItemStatus.DONE], failed=counts[ItemStatus.FAILED], pending=counts[ItemStatus.PENDING],
        cancelled=counts[ItemStatus.CANCELLED], percent=round(100.0 * settled / total, 1) if total else 0.0,
        elapsed_seconds=elapsed, rate_per_second=rate, eta_seconds=eta, is_active=job.is_active,
        created_at=job.created_at.isoformat(), error=job.error,
    )


def study_jobs(*, study, limit: int = 10) -> list[Job]:
    """The study's latest jobs, newest first, each with `.progress` and `.judge_names` (judge jobs: the judges
    its rows score with; rows planned before they named their judge name none)."""
    jobs = list(Job.objects.filter(study=study).order_by("-created_at", "-id")[:limit])
    for job in jobs:
        job.progress = job_progress(job=job)
        job.judge_names = sorted(set(job.items.filter(model__isnull=False).values_list("model__name", flat=True))
                                 if job.kind in (JobKind.JUDGE, JobKind.JUDGE_PAIRWISE) else ())
    return jobs


def job_failed_rows(*, job: Job, limit: int = 20) -> list[dict]:
    """The most common errors of the job's failed rows, for the admin."""
    return list(job.items.filter(status=ItemStatus.FAILED).values("error").annotate(rows=Count("id"))
                .order_by("-rows")[:limit])


def jobs_for(*, user) -> QuerySet[Job]:
    """The jobs of the studies `user` runs (studies.permissions)."""
    return Job.objects.filter(study__in=studies_for(user, "manage"))


def pairwise_verdicts(*, study, judge_id: int | None = None) -> QuerySet[PairwiseVerdict]:
    """The study's pairwise verdicts by judge, pair and order, each with `other_choice`: the same judge's
    choice on the same pair in the other order (inference.pairwise.pair_verdict reads the two)."""
    other = PairwiseVerdict.objects.filter(judge=OuterRef("judge"), response_a=OuterRef("response_a"),
                                           response_b=OuterRef("response_b")).exclude(order=OuterRef("order"))
    verdicts = (PairwiseVerdict.objects.filter(response_a__study=study)
                .select_related("judge", "response_a__persona", "response_b__persona")
                .annotate(other_choice=Subquery(other.values("choice")[:1]))
                .order_by("judge__name", "response_a_id", "response_b_id", "order"))
    return verdicts if judge_id is None else verdicts.filter(judge_id=judge_id)
