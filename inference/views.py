"""Admin pages for jobs (the progress panel the study page shows and polls, and its action buttons), the responses
upload of a study (checked, then imported, by a Celery task), and "Try one prompt" on a model's page."""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message
from studies.models import ImportKind, ModelSpec
from studies.permissions import study_for
from studies.prompts import PromptTemplateError, build_messages, build_user_prompt
from studies.services import imports
from studies.views_imports import pending_token, remember_pending, run_context, run_for, take_pending

from . import selectors, services
from .forms import JudgeJobForm, PairwiseJudgeForm, ResponsesUploadForm, TryPromptDefaultsForm, TryPromptForm
from .models import JobKind
from .services.try_prompt import try_prompt
from .tasks import responses_import_task

PENDING_RESPONSES = "responses_uploads"  # session key: checked responses files waiting for "Import"

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
        "study": study, "jobs": jobs, "any_active": any(job.is_active for job in jobs), "judges": study.judges(),
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
    start, options = services.generation_job_start, {}
    if kind == JobKind.JUDGE:
        form = JudgeJobForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose one of the study's judges.")
            return _back(request)
        start, options = services.judge_job_start, form.cleaned_data
    with shown_as_message(request) as outcome:
        job = start(study=study, user=request.user, **options)
    if outcome.ok:
        messages.success(request, f"Job {job.pk} started: {job.items.count()} rows.")
    return _back(request)


@require_POST
@role_required(ADMIN)
def study_pairwise_judge(request, study_id: int):
    """A judge of the study compares its responses two by two in both orders (`pairs`: "baseline" or "all")."""
    study = study_for(request.user, study_id, "manage")
    form = PairwiseJudgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose which pairs to compare and one of the study's judges.")
        return _back(request)
    with shown_as_message(request) as outcome:
        job = services.pairwise_judge_job_start(study=study, user=request.user, **form.cleaned_data)
    if outcome.ok:
        messages.success(request, f"Job {job.pk} started: {job.items.count()} pairs, each judged in both orders.")
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


# ------------------------------------------------------------------------------------------------ responses upload

def _upload_page(request, study, form, run=None, token=None):
    return render(request, "inference/responses_upload.html", {
        "study": study, "form": form, "token": token, "model_names": study.model_specs.order_by("name"),
        **run_context(run),
    })


@role_required(ADMIN)
def responses_upload(request, study_id: int):
    """Step 1: store a JSONL(.gz) of responses and check it (counts, first rows, every error). Step 2: import."""
    study = study_for(request.user, study_id, "manage")
    form = ResponsesUploadForm(request.POST or None, request.FILES or None, study=study)
    if request.method != "POST" or not form.is_valid():
        return _upload_page(request, study, form)
    upload = form.cleaned_data["file"]
    run = imports.import_run_create(
        kind=ImportKind.RESPONSES, path=imports.upload_store(upload), filename=upload.name, dry_run=True,
        options={"model_name": form.cleaned_data["model_name"] or ""}, user=request.user, study=study)
    token = remember_pending(request, PENDING_RESPONSES, run)
    run = imports.import_run_start(run, responses_import_task)
    if run.is_active:
        return redirect("inference:responses_import_run", study.pk, run.pk)
    return _upload_page(request, study, form, run, token if pending_token(request, PENDING_RESPONSES, run) else None)


@role_required(ADMIN)
def responses_import_run(request, study_id: int, pk: int):
    """A check or an import of a responses file: its status while it runs (`?format=json`), then its result."""
    study = study_for(request.user, study_id, "manage")
    run = run_for(request.user, pk, ImportKind.RESPONSES)
    if run.study_id != study.pk:
        return redirect("inference:responses_import_run", run.study_id, run.pk)
    if request.GET.get("format") == "json":
        return JsonResponse(imports.import_run_progress(run))
    form = ResponsesUploadForm(study=study, initial={"model_name": run.options.get("model_name")})
    return _upload_page(request, study, form, run, pending_token(request, PENDING_RESPONSES, run))


@role_required(ADMIN)
@require_POST
def responses_upload_confirm(request, study_id: int):
    study = study_for(request.user, study_id, "manage")
    run = take_pending(request, PENDING_RESPONSES)
    if run is None or run.kind != ImportKind.RESPONSES or run.study_id != study.pk:
        messages.error(request, "That preview has expired or was replaced by another; upload the file again.")
        return redirect("inference:responses_upload", study.pk)
    with shown_as_message(request) as outcome:
        real = imports.import_run_confirm(run=run, user=request.user, task=responses_import_task)
    if not outcome.ok:
        return redirect("inference:responses_upload", study.pk)
    if real.ok:
        messages.success(request, real.result["message"])
    return redirect("inference:responses_import_run", study.pk, real.pk)


# ------------------------------------------------------------------------------------------------ try one prompt

def _try_initial(defaults: TryPromptDefaultsForm) -> dict:
    """The messages a study would send for the chosen case and persona (no persona: an empty system prompt)."""
    if not (defaults.is_bound and defaults.is_valid() and defaults.cleaned_data.get("case")):
        return {}
    case, persona = defaults.cleaned_data["case"], defaults.cleaned_data.get("persona")
    if persona is None:
        return {"system_prompt": "", "user_message": build_user_prompt(case)}
    try:
        system, user = build_messages(persona=persona, case=case)
    except PromptTemplateError as exc:
        defaults.add_error("persona", f"its template cannot be used: {exc}")
        return {}
    return {"system_prompt": system["content"], "user_message": user["content"]}


@role_required(ADMIN)
def model_spec_try(request, spec_id: int):
    """Send one prompt to the model and show the answer, its token counts, finish reason and latency."""
    spec = get_object_or_404(ModelSpec, pk=spec_id)
    defaults = TryPromptDefaultsForm(request.GET or None)
    form = TryPromptForm(request.POST or None, initial=_try_initial(defaults))
    result = None
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request):
            result = try_prompt(spec=spec, system=form.cleaned_data["system_prompt"],
                                user=form.cleaned_data["user_message"], user_id=request.user.pk)
    return render(request, "inference/model_spec_try.html", {
        "spec": spec, "defaults": defaults, "form": form, "result": result,
    })
