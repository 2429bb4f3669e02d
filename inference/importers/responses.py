"""Import of pre-generated responses from JSON Lines (.jsonl, .jsonl.gz): docs/responses-jsonl.md.

The same pipeline pieces as case-set uploads (studies.importers: the reader with its size limit,
gzip-bomb guard and encoding checks, RowError, ImportResult and its one refusal path): every row
is validated and all errors are reported at once ("row 17, persona_slug: ..."); an import is
atomic; the grid key (case, persona, model, sample) makes a re-import change nothing, while a
different text for a cell that already has a response is refused rather than overwritten.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError
from config.services import gc_paused
from studies.importers import FileRejected, read_upload
from studies.importers.readers import parse_file
from studies.importers.result import Outcome, RowsImportResult, refuse_file, refuse_rows
from studies.models import ModelSpec, Study

from .maker import insert_responses, split_existing
from .validator import StudyGrid, validate_rows


class ResponseImportResult(RowsImportResult):
    """Responses created, or found unchanged, by one import."""


def _study_model(study: Study, model_name: str | None) -> ModelSpec | None:
    if not model_name:
        return None
    model = study.model_specs.filter(name=model_name).first()
    if model is None:
        known = ModelSpec.objects.filter(name=model_name).exists()
        raise ApplicationError(
            f"Model '{model_name}' is not one of study '{study.name}''s models" if known
            else f"There is no model named '{model_name}'; create its model spec first."
        )
    return model


@gc_paused()
def responses_import(*, study: Study, file, model_name: str | None = None, dry_run: bool = False,
                     filename: str | None = None) -> ResponseImportResult:
    """Import a JSONL(.gz) file of responses into `study`.

    `file`: a path or a binary file object (a Django upload). `model_name`, when given, is the model
    every row must name. A failed real import raises ApplicationError (extra: the result as a dict);
    a failed dry run returns the result with `ok` false.
    """
    result = ResponseImportResult(message="", dry_run=dry_run)
    model = _study_model(study, model_name)
    try:
        data, filename = read_upload(file, filename=filename, max_bytes=settings.CASE_UPLOAD_MAX_BYTES)
        parsed = parse_file(data, filename=filename, format="jsonl", max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                            max_rows=settings.CASE_UPLOAD_MAX_ROWS)
    except FileRejected as exc:
        return refuse_file(result, exc)
    result.compressed = parsed.compressed
    result.rows = len(parsed.records) + len(parsed.errors)
    provenance = {"imported_from": Path(filename).name, "file_sha256": hashlib.sha256(data).hexdigest()}
    with transaction.atomic():
        rows, errors = validate_rows(parsed.records, grid=StudyGrid.of(study, model))
        if parsed.errors or errors:
            return refuse_rows(result, parsed.errors + errors)
        fresh, conflicts = split_existing(rows, study=study, lock=not dry_run)
        if conflicts:
            return refuse_rows(result, conflicts, outcome=Outcome.CONFLICT, message=(
                f"{len(conflicts):,} row(s) are for cells that already have a response with a different text; "
                "nothing was imported."))
        result.outcome = Outcome.CREATED if fresh else Outcome.UNCHANGED
        result.created, result.unchanged = len(fresh), len(rows) - len(fresh)
        verb = "Would import" if dry_run else "Imported"
        result.message = (f"{verb} {len(fresh):,} response(s); {result.unchanged:,} already there unchanged."
                          if fresh else f"All {len(rows):,} response(s) are already there; nothing changed.")
        if dry_run or not fresh:
            return result
        try:
            insert_responses(fresh, study=study, provenance=provenance)  # atomic: a savepoint of its own
        except IntegrityError:
            raise ApplicationError(
                "Responses for some of these cells were written at the same time by another import or a "
                "generation job; nothing was imported from this file. Import it again (it is idempotent).",
                status_code=409,
            ) from None
    return result
