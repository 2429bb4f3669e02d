"""Writes: request, build, fail and resume reports. Views, the API, the commands and the task call these.

A report being built shows a sign of life (heartbeat_at) on every progress step and, from a thread,
every REPORT_HEARTBEAT_SECONDS; when the process building it dies, nothing touches it any more. A
running report silent for REPORT_STALE_SECONDS is stale: requesting a report of its study marks it
failed, and `manage.py resume_reports` (report_resume) queues it again.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import threading
import time
from datetime import timedelta

import orjson
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import connections, transaction
from django.db.models import JSONField, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Study
from studies.schema import study_schema

from .data import rating_notes, study_data_load
from .models import Report, ReportFormat, ReportStatus
from .reports import build_report, meta, render_html, report_json, write_csv
from .reports.parameters import parameters_clean, parameters_key
from .reports.preregistration import preregistration_snapshot_hash

logger = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.25  # seconds between two progress writes of a building report


def _progress(report_id: int, fraction: float, message: str) -> None:
    # A plain UPDATE outside any transaction, so pollers see it while the build runs.
    Report.objects.filter(pk=report_id).update(
        progress=max(0.0, min(fraction, 1.0)), progress_message=message[:200], heartbeat_at=timezone.now()
    )


class _Heartbeat:
    """Touches a running report's heartbeat_at from a thread, so that a long step without progress is not
    taken for a dead process. It dies with the process, which is the point."""

    def __init__(self, report_id: int, interval: float):
        self.report_id, self.interval = report_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"report-{report_id}-heartbeat", daemon=True)

    def __enter__(self):
        if self.interval > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                Report.objects.filter(pk=self.report_id, status=ReportStatus.RUNNING).update(
                    heartbeat_at=timezone.now())
        except Exception:  # a lost beat must never break the build
            logger.exception("report %s heartbeat failed", self.report_id)
        finally:
            connections.close_all()  # this thread's own connections


def _stale_running(study: Study | None = None):
    cutoff = timezone.now() - timedelta(seconds=settings.REPORT_STALE_SECONDS)
    reports = Report.objects.filter(status=ReportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True, updated_at__lt=cutoff)
    )
    return reports.filter(study=study) if study is not None else reports


def report_stale_message() -> str:
    minutes = max(1, round(settings.REPORT_STALE_SECONDS / 60))
    return (f"The process building this report stopped (no sign of life for {minutes} minute(s)); resume it or "
            "request the report again.")


def reports_fail_stale(*, study: Study | None = None) -> int:
    """Mark running reports whose builder has gone silent as failed; how many were."""
    return _stale_running(study).update(
        status=ReportStatus.FAILED, error=report_stale_message(), finished_at=timezone.now(),
        progress_message="failed: the build stopped",
    )


def report_resume(*, report: Report) -> Report:
    """Queue a failed, stale or still-queued report again; a report that is done or visibly building is refused."""
    from .tasks import report_build_task

    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        stale = _stale_running().filter(pk=report.pk).exists()
        if report.status == ReportStatus.DONE or (report.status == ReportStatus.RUNNING and not stale):
            raise ApplicationError(
                f"Report #{report.pk} is {report.get_status_display().lower()}; only a failed, queued or stopped "
                "report can be resumed.", status_code=409)
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.QUEUED, progress=0.0, progress_message="queued again", error="", started_at=None,
            heartbeat_at=None, finished_at=None,
        )
        transaction.on_commit(lambda: report_build_task.delay(report.pk))
    report.refresh_from_db()
    return report


def reports_resume_stale(*, study: Study | None = None) -> list[Report]:
    """Queue every stale running report again (the resume_reports command)."""
    return [report_resume(report=report) for report in _stale_running(study).order_by("pk")]


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

    reports_fail_stale(study=study)
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


def _computed(report: Report, data_hash: str) -> tuple[Report | None, dict | None]:
    """For an HTML report, a finished JSON report of the same parameters and data and its figures, read
    from its file (the stored summary has lost the key order, which the page's tables follow): the HTML is
    only written from them, not computed again."""
    if report.format != ReportFormat.HTML:
        return None, None
    done = (
        Report.objects.filter(
            study_id=report.study_id, format=ReportFormat.JSON, parameters_key=report.parameters_key,
            data_hash=data_hash, status=ReportStatus.DONE,
        ).exclude(file="").order_by("-finished_at").first()
    )
    if done is None:
        return None, None
    try:
        with done.file.open("rb") as fh:
            return done, orjson.loads(fh.read())
    except (OSError, ValueError):  # the file is gone or unreadable: compute
        return None, None


class _Spooled(File):
    """A file written on disk before it is stored: a file-system storage moves it into place (``_spool``)."""

    def temporary_file_path(self) -> str:
        return self.file.name

    def discard(self) -> None:
        """Close it and remove what the storage did not move away."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.file.name)


def _spool(storage, name: str) -> _Spooled:
    """An empty file beside the reports in `storage` where it keeps them on disk, so that storing it is a rename,
    not a copy (0.7 s for a million-rating CSV); elsewhere (a remote storage) in the temporary directory."""
    try:
        directory = storage.path("reports")
    except NotImplementedError:
        directory = None
    else:
        os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=".building-", suffix=".part", dir=directory)
    os.close(fd)
    return _Spooled(open(path, "w+b"), name=name)  # noqa: SIM115 (closed by discard)


def _write(report: Report, data, params: dict, progress, computed: dict | None = None) -> tuple[File, dict, str]:
    """The report's file, its summary (the figures, for the study page) and the summary's JSON text."""
    name = f"study-{report.study_id}-{report.format}-{data.snapshot_hash[:12]}.{report.format}"
    if report.format == ReportFormat.CSV:
        progress(0.3, "writing the tidy CSV")
        content = _spool(report.file.storage, name)
        try:
            text = io.TextIOWrapper(content.file, encoding="utf-8", newline="")
            rows = write_csv(data, rating_notes(report.study), text)
            text.flush()
            text.detach()
            content.file.seek(0)
        except BaseException:
            content.discard()
            raise
        summary = {"meta": {**meta(data, params), "csv_rows": rows}}
        return content, summary, json.dumps(summary, allow_nan=False)
    report_dict = computed if computed is not None else build_report(data, params, progress, settings.REPORT_PROCESSES)
    progress(0.99, "writing the file")
    encoded = report_json(report_dict)
    body = encoded if report.format == ReportFormat.JSON else render_html(report_dict).encode()  # JSON: the summary
    return ContentFile(body, name=name), report_dict, encoded.decode()


def report_build(*, report_id: int) -> Report:
    """Build one report, or point it at an earlier identical one when the data have not changed.

    Idempotent: a finished report is returned as it is, a redelivered one is rebuilt from the
    database. A failure is recorded on the report (status failed, error) and not raised, so an
    in-process (eager) build never turns a bad study into a server error.
    """
    report = Report.objects.select_related("study").get(pk=report_id)
    if report.status == ReportStatus.DONE:
        return report
    now = timezone.now()
    Report.objects.filter(pk=report_id).update(
        status=ReportStatus.RUNNING, started_at=now, heartbeat_at=now, progress=0.0,
        progress_message="loading ratings", error="",
    )

    shown = [0.0]

    def progress(fraction, message):
        # A write per step would be a tenth of a small report's time: pollers see one a quarter second at most.
        if time.monotonic() - shown[0] >= PROGRESS_INTERVAL or fraction >= 0.99:
            _progress(report_id, 0.1 + 0.9 * fraction, message)
            shown[0] = time.monotonic()

    with _Heartbeat(report_id, settings.REPORT_HEARTBEAT_SECONDS):
        return _build(report, progress)


def _build(report: Report, progress) -> Report:
    report_id = report.pk
    try:
        data = study_data_load(report.study, cannot_assess=report.parameters["cannot_assess"])
        data.snapshot_hash = preregistration_snapshot_hash(report.study, data.snapshot_hash)
        cached = _cached(report, data.snapshot_hash)
        if cached is not None:
            with transaction.atomic():
                report.refresh_from_db()
                report.file.name = cached.file.name
                report.summary = cached.summary
                report.reused_from = cached.reused_from or cached
                _finish(report, data.snapshot_hash, f"reused: ratings unchanged since report #{cached.pk}")
            return report
        computed, figures = _computed(report, data.snapshot_hash)
        progress(0.0, f"writing the figures of report #{computed.pk}" if computed else "computing")
        content, summary, summary_text = _write(report, data, report.parameters, progress, figures)
        try:
            with transaction.atomic():
                report.refresh_from_db()
                report.file.save(content.name, content, save=False)
                # Stored from the JSON text already written: encoding the figures again would take a tenth of a
                # second for a 10,000-rating report.
                report.summary = Cast(Value(summary_text), output_field=JSONField())
                _finish(report, data.snapshot_hash,
                        f"done: the figures of report #{computed.pk}" if computed else "done")
                report.summary = summary
        finally:
            if isinstance(content, _Spooled):
                content.discard()
        return report
    except Exception as exc:  # every failure is recorded on the report, never lost
        logger.exception("report %s failed", report_id)
        return report_fail(report_id=report_id, error=f"{type(exc).__name__}: {exc}")


def _finish(report: Report, data_hash: str, message: str) -> None:
    report.data_hash = data_hash
    report.status = ReportStatus.DONE
    report.error = ""  # a build that was taken for stopped but finished after all
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
