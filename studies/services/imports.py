"""Uploads checked and imported off the request (ImportRun): the upload is stored first, a Celery task reads it.

The import services themselves (case_set_import, the responses import) stay synchronous: the API and the
commands call them directly. A run calls one of them on the stored file with `dry_run` as asked, and keeps
its result as a dict (every row error included) for the page that polls the run. A run's failure never
escapes the task: it is recorded on the run and shown on the page.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError

from ..importers.result import ImportResult
from ..models import ImportKind, ImportRun, ImportStatus
from .case_sets import case_set_import

logger = logging.getLogger(__name__)

UPLOAD_DIR = "import-uploads"
MAX_ERROR_CHARS = 2000
STALE_AFTER = timedelta(hours=1)  # a run "running" this long was left by a worker that died

Runner = Callable[[ImportRun, object], ImportResult]


def upload_store(upload, *, folder: str = UPLOAD_DIR) -> str:
    """Keep an upload in the default storage (MEDIA_ROOT) under a random name that keeps its suffixes."""
    token = secrets.token_urlsafe(16)
    suffix = "".join(PurePath(upload.name).suffixes[-2:])[:20]
    return default_storage.save(f"{folder}/{token}{suffix}", upload)


def upload_discard(path: str) -> None:
    if path:
        default_storage.delete(path)


def import_run_create(*, kind: str, path: str, filename: str, options: dict, dry_run: bool, user=None,
                      study=None) -> ImportRun:
    if kind not in ImportKind.values:
        raise ApplicationError(f"Unknown import kind {kind!r}.")
    return ImportRun.objects.create(kind=kind, path=path, filename=filename[:255], options=options, dry_run=dry_run,
                                    created_by=user, study=study, stage="waiting for a worker")


def import_run_start(run: ImportRun, task) -> ImportRun:
    """Hand the run to its task: once the run row is committed, so that a worker finds it; without a broker the
    task runs here, in-process (on this connection, which sees the row), and the run comes back finished."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay(run.pk)
    else:
        transaction.on_commit(lambda: task.delay(run.pk))
    run.refresh_from_db()
    return run


def _claimable(run: ImportRun | None) -> bool:
    """Queued, or left running by a worker that died (its task is delivered again: a check or an import run
    twice does the same, an import being atomic and idempotent)."""
    if run is None:
        return False
    stale = run.started_at is not None and timezone.now() - run.started_at > STALE_AFTER
    return run.status == ImportStatus.QUEUED or (run.status == ImportStatus.RUNNING and stale)


def _claim(run_id: int) -> ImportRun | None:
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
        if not _claimable(run):
            return None  # done already (a task delivered twice), running elsewhere, or gone
        run.status, run.started_at, run.stage = ImportStatus.RUNNING, timezone.now(), "reading and checking the file"
        run.save(update_fields=["status", "started_at", "stage"])
    return run


def _finish(run: ImportRun, *, status: str, result: dict | None = None, error: str = "") -> None:
    run.status, run.finished_at, run.error = status, timezone.now(), error[:MAX_ERROR_CHARS]
    run.result = result or {}
    run.stage = "finished" if status == ImportStatus.DONE else "failed"
    run.save(update_fields=["status", "finished_at", "error", "result", "stage"])


def _refused(exc: ApplicationError) -> dict:
    """A refused real import carries its result in `extra`; any other refusal is its message alone."""
    if "errors" in exc.extra and "ok" in exc.extra:
        return exc.extra
    return {"ok": False, "message": exc.message, "errors": [], "error_count": 0}


def import_run_execute(*, run_id: int, runner: Runner) -> ImportRun | None:
    """Run one queued import: open the stored upload, call `runner(run, file)`, keep its result. The upload is
    removed once it cannot be needed again: after the import itself, or a check that found nothing to import."""
    run = _claim(run_id)
    if run is None:
        return None
    keep_file = False
    try:
        with default_storage.open(run.path, "rb") as fh:
            result = runner(run, fh)
    except FileNotFoundError:
        _finish(run, status=ImportStatus.FAILED, error="The uploaded file is gone (expired or imported already); "
                                                        "upload it again.")
    except ApplicationError as exc:
        _finish(run, status=ImportStatus.DONE, result=_refused(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the run, shown on the page
        logger.exception("import run %s failed", run.pk)
        _finish(run, status=ImportStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        keep_file = run.dry_run and result.changed
        _finish(run, status=ImportStatus.DONE, result=result.as_dict())
    if not keep_file:
        upload_discard(run.path)
    return run


def case_set_runner(run: ImportRun, fh) -> ImportResult:
    options = run.options
    extra = {"triage_scale": options["triage_scale"]} if options.get("triage_scale") else {}
    return case_set_import(file=fh, filename=run.filename, owner=run.created_by, name=options.get("name", ""),
                           description=options.get("description", ""), new_version=bool(options.get("new_version")),
                           dry_run=run.dry_run, **extra)


def import_run_confirm(*, run: ImportRun, user, task) -> ImportRun:
    """Import what a finished check (dry run) found importable: a new run on the same stored file, once."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if not (run.dry_run and run.ok and run.result.get("outcome") != "unchanged"):
            raise ApplicationError("Only a finished check that found something to import can be confirmed.")
        if run.options.get("confirmed_by_run"):
            raise ApplicationError("This file was imported already; upload it again to import it again.")
        real = import_run_create(kind=run.kind, path=run.path, filename=run.filename, options=run.options,
                                 dry_run=False, user=user, study=run.study)
        run.options = {**run.options, "confirmed_by_run": real.pk}
        run.save(update_fields=["options"])
    return import_run_start(real, task)


def import_run_progress(run: ImportRun) -> dict:
    """What the page's poller reads."""
    return {"id": run.pk, "status": run.status, "status_display": run.get_status_display(), "stage": run.stage,
            "active": run.is_active, "ok": run.ok, "message": run.result.get("message", "") or run.error}
