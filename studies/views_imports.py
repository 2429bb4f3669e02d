"""The case-set upload pages: the file is stored, checked (a dry run) and imported by a Celery task.

Step 1 stores the upload and queues its check; step 2 (confirm) queues the import of the same stored file.
Without a broker the task runs in-process and the page shows its result at once; with one, the page of the
run shows its status and polls it (studies/static/studies/import_progress.js) until the result is there.
"""
from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message

from .forms import CaseSetUploadForm
from .models import CaseSet, ImportKind, ImportRun
from .permissions import study_for
from .services import imports
from .tasks import case_set_import_task

SHOWN_ERRORS = 500  # on the page; the API and the command give them all
PENDING_UPLOADS = "case_set_uploads"  # session key: checked files waiting for "Import" (token -> run id)


def run_context(run: ImportRun | None) -> dict:
    """What templates/studies/_import_run.html and the preview sections need for a run."""
    if run is None:
        return {}
    result = run.result if not run.is_active and run.result else None
    errors = [e.get("text", "") for e in (result or {}).get("errors", [])]
    count = (result or {}).get("error_count", len(errors))
    return {"run": run, "result": result, "shown_errors": errors[:SHOWN_ERRORS],
            "hidden_errors": max(0, count - SHOWN_ERRORS), "progress": imports.import_run_progress(run)}


def pending_token(request, key: str, run: ImportRun) -> str | None:
    """The session's confirmation token for a finished check that found something to import."""
    if not (run.dry_run and run.ok and run.result.get("outcome") != "unchanged"):
        return None
    return next((t for t, pk in request.session.get(key, {}).items() if pk == run.pk), None)


def remember_pending(request, key: str, run: ImportRun) -> str:
    """Keep one checked upload per user and kind: a new check forgets (and removes) the one before."""
    for old_pk in request.session.get(key, {}).values():
        old = ImportRun.objects.filter(pk=old_pk, dry_run=True).first()
        if old is not None and not old.options.get("confirmed_by_run") and old.path != run.path:
            imports.upload_discard(old.path)
    token = secrets.token_urlsafe(16)
    request.session[key] = {token: run.pk}
    return token


def take_pending(request, key: str) -> ImportRun | None:
    pending = request.session.get(key, {})
    run_pk = pending.pop(request.POST.get("token", ""), None)
    request.session[key] = pending
    return ImportRun.objects.filter(pk=run_pk).first() if run_pk else None


def run_for(user, pk: int, kind: str) -> ImportRun:
    """A run its user may see: a study's runs need "manage" on the study; case-set runs are the site admins'."""
    run = get_object_or_404(ImportRun.objects.select_related("study"), pk=pk, kind=kind)
    if run.study_id is not None:
        study_for(user, run.study_id, "manage")
    elif kind != ImportKind.CASE_SET:
        raise PermissionDenied
    return run


def _names():
    return CaseSet.objects.order_by("name").values_list("name", flat=True).distinct()


@role_required(ADMIN)
def case_set_upload(request):
    """Step 1: store the upload and check it (counts, first rows, every error). Step 2: import."""
    form = CaseSetUploadForm(request.POST or None, request.FILES or None, initial={"name": request.GET.get("name")})
    context = {"form": form, "names": _names()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {key: value for key, value in data.items() if key != "file"}  # name, description, ...
        path = imports.upload_store(data["file"])
        run = imports.import_run_create(kind=ImportKind.CASE_SET, path=path, filename=data["file"].name,
                                        options=options, dry_run=True, user=request.user)
        token = remember_pending(request, PENDING_UPLOADS, run)
        run = imports.import_run_start(run, case_set_import_task)
        if run.is_active:
            return redirect("studies:case_set_import_run", run.pk)
        context.update(run_context(run))
        if pending_token(request, PENDING_UPLOADS, run):
            context["token"] = token
    return render(request, "studies/case_set_upload.html", context)


@role_required(ADMIN)
def case_set_import_run(request, pk: int):
    """A check or an import of a case-set file: its status while it runs (`?format=json` for the poller), then
    its result."""
    run = run_for(request.user, pk, ImportKind.CASE_SET)
    if request.GET.get("format") == "json":
        return JsonResponse(imports.import_run_progress(run))
    form = CaseSetUploadForm(initial={"name": run.options.get("name")})
    context = {"form": form, "names": _names(), **run_context(run)}
    context["token"] = pending_token(request, PENDING_UPLOADS, run)
    return render(request, "studies/case_set_upload.html", context)


@role_required(ADMIN)
@require_POST
def case_set_upload_confirm(request):
    run = take_pending(request, PENDING_UPLOADS)
    if run is None or run.kind != ImportKind.CASE_SET:
        messages.error(request, "That preview has expired or was replaced by another; upload the file again.")
        return redirect("studies:case_set_upload")
    with shown_as_message(request) as outcome:
        real = imports.import_run_confirm(run=run, user=request.user, task=case_set_import_task)
    if not outcome.ok:
        return redirect("studies:case_set_upload")
    if real.is_active:
        return redirect("studies:case_set_import_run", real.pk)
    if not real.ok:
        messages.error(request, real.result.get("message") or real.error)
        return redirect("studies:case_set_import_run", real.pk)
    messages.success(request, real.result["message"])
    return redirect("studies:case_set_detail", real.result["case_set_id"])
