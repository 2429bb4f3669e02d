"""Writes: request, build and fail reports. Views, the API, the command and the task all call these."""
from __future__ import annotations

import io
import logging
import tempfile

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Study
from studies.schema import study_schema

from .data import rating_notes, study_data_load
from .models import Report, ReportFormat, ReportStatus
from .reports import build_report, meta, render_html, write_csv, write_json
from .reports.parameters import parameters_clean, parameters_key

logger = logging.getLogger(__name__)


def _progress(report_id: int, fraction: float, message: str) -> None:
    # A plain UPDATE outside any transaction, so pollers see it while the build runs.
    Report.objects.filter(pk=report_id).update(
        progress=max(0.0, min(fraction, 1.0)), progress_message=message[:200]
    )


def report_parameters_for_study(*, study: Study, parameters: dict | None) -> dict:
    params = parameters_clean(parameters)
    levels = study_schema(study).get("confidence_levels", [])
    if levels and params["min_confidence"] not in levels:
        raise ApplicationError(
            "Invalid report parameters",
            extra={"fields": {"min_confidence": f"must be one of {', '.join(levels)}"}},
        )
    return params


def report_create(*, study: Study, format: str, parameters: dict | None = None, requested_by=None) -> Report:
    if format not in ReportFormat.values:
        raise ApplicationError(f"Unknown report format {format!r}", extra={"fields": {"format": ReportFormat.values}})
    params = report_parameters_for_study(study=study, parameters=parameters)
    return Report.objects.create(
        study=study, format=format, parameters=params, parameters_key=parameters_key(params),
        requested_by=requested_by,
    )


def report_request(*, study: Study, format: str, parameters: dict | None = None, requested_by=None) -> Report:
    """Queue a report; the Celery task builds it (or reuses an identical one) after the commit."""
    from .tasks import report_build_task

    with transaction.atomic():
        report = report_create(study=study, format=format, parameters=parameters, requested_by=requested_by)
        transaction.on_commit(lambda: report_build_task.delay(report.pk))
    return report


def _cached(report: Report, data_hash: str) -> Report | None:
    return (
        Report.objects.filter(
            study_id=report.study_id, format=report.format, parameters_key=report.parameters_key,
            data_hash=data_hash, status=ReportStatus.DONE,
        ).exclude(pk=report.pk).exclude(file="").order_by("-finished_at").first()
    )


def _write(report: Report, data, params: dict, progress) -> tuple[File, dict]:
    name = f"study-{report.study_id}-{report.format}-{data.snapshot_hash[:12]}.{report.format}"
    if report.format == ReportFormat.CSV:
        progress(0.3, "writing the tidy CSV")
        handle = tempfile.TemporaryFile()
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        rows = write_csv(data, rating_notes(report.study), text)
        text.flush()
        text.detach()
        handle.seek(0)
        return File(handle, name=name), {"meta": {**meta(data, params), "csv_rows": rows}}
    report_dict = build_report(data, params, progress)
    progress(0.99, "writing the file")
    if report.format == ReportFormat.JSON:
        out = io.StringIO()
        write_json(report_dict, out)
        return ContentFile(out.getvalue().encode(), name=name), report_dict
    return ContentFile(render_html(report_dict).encode(), name=name), report_dict


def report_build(*, report_id: int) -> Report:
    """Build one report, or point it at an earlier identical one when the data have not changed.

    Idempotent: a finished report is returned as it is, a redelivered one is rebuilt from the
    database. A failure is recorded on the report (status failed, error) and not raised, so an
    in-process (eager) build never turns a bad study into a server error.
    """
    report = Report.objects.select_related("study").get(pk=report_id)
    if report.status == ReportStatus.DONE:
        return report
    Report.objects.filter(pk=report_id).update(
        status=ReportStatus.RUNNING, started_at=timezone.now(), progress=0.0, progress_message="loading ratings",
        error="",
    )

    def progress(fraction, message):
        _progress(report_id, 0.1 + 0.9 * fraction, message)

    try:
        data = study_data_load(report.study, cannot_assess=report.parameters["cannot_assess"])
        cached = _cached(report, data.snapshot_hash)
        if cached is not None:
            with transaction.atomic():
                report.refresh_from_db()
                report.file.name = cached.file.name
                report.summary = cached.summary
                report.reused_from = cached.reused_from or cached
                _finish(report, data.snapshot_hash, f"reused: ratings unchanged since report #{cached.pk}")
            return report
        progress(0.0, "computing")
        content, summary = _write(report, data, report.parameters, progress)
        with transaction.atomic():
            report.refresh_from_db()
            report.file.save(content.name, content, save=False)
            report.summary = summary
            _finish(report, data.snapshot_hash, "done")
        return report
    except Exception as exc:  # every failure is recorded on the report, never lost
        logger.exception("report %s failed", report_id)
        return report_fail(report_id=report_id, error=f"{type(exc).__name__}: {exc}")


def _finish(report: Report, data_hash: str, message: str) -> None:
    report.data_hash = data_hash
    report.status = ReportStatus.DONE
    report.progress = 1.0
    report.progress_message = message
    report.finished_at = timezone.now()
    report.save()


def report_fail(*, report_id: int, error: str) -> Report:
    Report.objects.filter(pk=report_id).update(
        status=ReportStatus.FAILED, error=error[:5000], finished_at=timezone.now(), progress_message="failed"
    )
    return Report.objects.get(pk=report_id)


def report_generate(*, study: Study, format: str, parameters: dict | None = None, requested_by=None) -> Report:
    """Create and build a report in this process (the management command; no broker needed)."""
    report = report_create(study=study, format=format, parameters=parameters, requested_by=requested_by)
    return report_build(report_id=report.pk)
