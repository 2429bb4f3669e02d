"""Admin pages for jobs: the progress panel the study page shows and polls, and its action buttons."""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message
from studies.permissions import study_for

from . import selectors, services
from .models import JobKind

JOB_ACTIONS = {
    "cancel": (services.job_cancel, "Job {job} cancelled."),
    "retry-failed": (services.job_retry_failed, "Failed rows of job {job} queued again."),
    "resume": (services.job_resume, "Job {job} resumed."),
}


def _safe_next(request, value: str | None) -> str | None:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return None


def panel_context(request, study, *, next_url: str | None = None) -> dict:
    """What templates/inference/_study_jobs.html needs."""
    jobs = selectors.study_jobs(study=study)
    return {
        "study": study, "jobs": jobs, "any_active": any(job.is_active for job in jobs),
        "next_url": _safe_next(request, next_url) or request.get_full_path(),
    }


@require_GET
@role_required(ADMIN)
def study_jobs(request, study_id: int):
    """The study's jobs: the progress panel as HTML, or `?format=json` for scripts."""
    study = study_for(request.user, study_id, "manage")
    context = panel_context(request, study, next_url=request.GET.get("next"))
    if request.GET.get("format") == "json":
        return JsonResponse({"active": context["any_active"],
                             "jobs": [job.progress.as_dict() for job in context["jobs"]]})
    return render(request, "inference/_study_jobs.html", context)


def _back(request):
    return redirect(_safe_next(request, request.POST.get("next")) or reverse("studies:study_list"))


@require_POST
@role_required(ADMIN)
def study_start(request, study_id: int, kind: str):
    study = study_for(request.user, study_id, "manage")
    start = services.generation_job_start if kind == JobKind.GENERATE else services.judge_job_start
    with shown_as_message(request) as outcome:
        job = start(study=study, user=request.user)
    if outcome.ok:
        messages.success(request, f"Job {job.pk} started: {job.items.count()} rows.")
    return _back(request)


@require_POST
@role_required(ADMIN)
def job_action(request, job_id: int, action: str):
    job = get_object_or_404(selectors.jobs_for(user=request.user), pk=job_id)
    service, done_message = JOB_ACTIONS[action]
    with shown_as_message(request) as outcome:
        service(job=job)
    if outcome.ok:
        messages.success(request, done_message.format(job=job.pk))
    return _back(request)
