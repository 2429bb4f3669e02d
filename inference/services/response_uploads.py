"""The responses import run off the request: the runner an ImportRun of kind "responses" calls (a Celery task
on the default queue). The import itself is `inference.importers.responses.responses_import`, unchanged."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from studies.importers import FileRejected, read_upload
from studies.importers.readers import parse_file
from studies.models import ImportRun

from ..importers.responses import ResponseImportResult, responses_import

PREVIEW_ROWS = 10
PREVIEW_TEXT_CHARS = 200
PREVIEW_FIELDS = ("case_external_id", "persona_slug", "model_name", "sample_index", "finish_reason")


@dataclass
class PreviewedResult(ResponseImportResult):
    preview: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "preview": self.preview}


def preview_rows(fh, *, filename: str) -> list[dict]:
    """The file's first rows as the page shows them (the text shortened)."""
    fh.seek(0)
    try:
        data, filename = read_upload(fh, filename=filename, max_bytes=settings.CASE_UPLOAD_MAX_BYTES)
        parsed = parse_file(data, filename=filename, format="jsonl", max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                            max_rows=settings.CASE_UPLOAD_MAX_ROWS)
    except FileRejected:
        return []
    rows = []
    for record in parsed.records[:PREVIEW_ROWS]:
        values = record.values
        row = {name: str(values.get(name, "")) for name in PREVIEW_FIELDS}
        row.update(row=record.row, text=str(values.get("text", ""))[:PREVIEW_TEXT_CHARS])
        rows.append(row)
    return rows


def responses_runner(run: ImportRun, fh) -> ResponseImportResult:
    """Check (dry run) or import the stored file into the run's study; a check also keeps the first rows."""
    result = responses_import(study=run.study, file=fh, filename=run.filename, dry_run=run.dry_run,
                              model_name=run.options.get("model_name") or None)
    if not run.dry_run:
        return result
    previewed = PreviewedResult(**{name: getattr(result, name) for name in result.__dataclass_fields__})
    previewed.preview = preview_rows(fh, filename=run.filename)
    return previewed
