"""Researchers' report pages. Researchers and admins only; clinicians get 403 (blinding)."""
from django.contrib import messages
from django.core.cache import cache
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN, RESEARCHER
from config.downloads import download_filename
from config.pages import shown_as_message
from studies.permissions import study_for
from studies.schema import study_schema

from . import selectors, services
from .forms import ReportRequestForm
from .models import Report, ReportFormat, ReportStatus
from .reports.plots import report_figures

# The HTML report is served inline from our origin: it needs no script, no request and no frame.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
FIGURES_CACHE_SECONDS = 3600


def _figures(report: Report) -> dict:
    """Plots of a finished report are drawn once and cached (a finished report never changes)."""
    key = f"agreement:figures:{report.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = report_figures(report.summary)
        cache.set(key, figures, FIGURES_CACHE_SECONDS)
    return figures


@role_required(RESEARCHER, ADMIN)
def report_list(request):
    studies = selectors.study_list_with_reports(user=request.user)
    return render(request, "agreement/report_list.html", {"studies": studies})


def _form(study, data=None):
    return ReportRequestForm(data, confidence_levels=study_schema(study).get("confidence_levels", []))


@role_required(RESEARCHER, ADMIN)
def study_report(request, study_id: int, form=None):
    study = study_for(request.user, study_id, "report")
    services.reports_fail_stale(study=study)  # a build whose worker died shows as failed, with Resume
    latest = selectors.report_latest_with_figures(study=study)
    reports = selectors.report_list_for_study(study=study)
    context = {
        "study": study,
        "latest": latest,
        "report": latest.summary if latest else None,
        "figures": _figures(latest) if latest else None,
        "reports": reports,
        "building": any(not r.is_finished for r in reports),
        "downloads": [
            (fmt, selectors.report_latest_done(study=study, format=fmt)) for fmt, _ in ReportFormat.choices
        ],
        "form": form or _form(study),
    }
    return render(request, "agreement/study_report.html", context, status=400 if form is not None else 200)


@require_POST
@role_required(RESEARCHER, ADMIN)
def report_build(request, study_id: int):
    study = study_for(request.user, study_id, "report")
    form = _form(study, request.POST)
    if not form.is_valid():
        return study_report(request, study_id, form=form)
    with shown_as_message(request) as outcome:
        report = services.report_request(
            study=study, format=form.cleaned_data["format"], parameters=form.parameters(), requested_by=request.user
        )
    if not outcome.ok:
        return redirect("agreement:study_report", study_id=study.pk)
    messages.success(request, f"Report #{report.pk} ({report.get_format_display()}) requested.")
    return redirect("agreement:study_report", study_id=study.pk)


@require_POST
@role_required(RESEARCHER, ADMIN)
def report_resume(request, report_id: int):
    """Queue a failed or stopped report again (a worker that died mid-build leaves one)."""
    report = get_object_or_404(selectors.reports_for(user=request.user), pk=report_id)
    with shown_as_message(request) as outcome:
        services.report_resume(report=report)
    if outcome.ok:
        messages.success(request, f"Report #{report.pk} is queued again.")
    return redirect("agreement:study_report", study_id=report.study_id)


def _finished_report(request, report_id: int) -> Report:
    report = get_object_or_404(selectors.reports_for(user=request.user).select_related("study"), pk=report_id)
    if report.status != ReportStatus.DONE or not report.file:
        raise Http404("This report has no file yet.")
    return report


@role_required(RESEARCHER, ADMIN)
def report_download(request, report_id: int):
    report = _finished_report(request, report_id)
    return FileResponse(
        report.file.open("rb"), as_attachment=True,
        filename=download_filename(f"{report.study.name}-agreement-{report.data_hash[:12]}", report.format),
    )


@role_required(RESEARCHER, ADMIN)
def report_view(request, report_id: int):
    """The HTML report in the browser, locked down by a Content-Security-Policy."""
    report = _finished_report(request, report_id)
    if report.format != ReportFormat.HTML:
        raise Http404("Only HTML reports open in the browser.")
    response = FileResponse(report.file.open("rb"), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = REPORT_CSP
    return response
