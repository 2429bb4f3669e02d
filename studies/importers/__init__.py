"""Case-set import as pipeline pieces: readers (bytes -> records), validator (records -> normalised
cases + every row/field error), maker (cases -> hashes and stored Case rows, through copy.copy_insert). The service
`studies.services.case_sets.case_set_import` strings them together for every entry point.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from config.services import gc_paused

from .errors import FileRejected, RowError
from .maker import case_hash, case_hashes, case_set_hash, case_writer, insert_cases
from .readers import FORMATS, parse_chunks, read_bytes, read_upload
from .validator import COLUMNS, REQUIRED, RecordsValidator


@dataclass
class CheckedFile:
    format: str
    compressed: bool
    had_bom: bool
    cases: list[dict] = field(default_factory=list)  # normalised, each with its content_hash
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


@gc_paused()
def check_file(data: bytes, *, filename: str = "", format: str | None = None,
               max_bytes: int, max_rows: int, triage_levels: tuple[str, ...] | None = None,
               write: Callable[[list[dict]], object] | None = None) -> CheckedFile:
    """Read and validate an upload; raises FileRejected when the file as a whole cannot be read.

    `triage_levels`: the declared triage scale's values when it is not ESI 1-5 (references are checked on it).
    `write`: called with each batch of checked cases, in file order, as soon as it is checked and as long as
    no error has been found (an import hands them to the database meanwhile); the whole file is checked
    regardless, for every error."""
    parsed, chunks = parse_chunks(data, filename=filename, format=format, max_bytes=max_bytes, max_rows=max_rows)
    validate = RecordsValidator(columns=parsed.columns, triage_levels=triage_levels)
    checked = CheckedFile(format=parsed.format, compressed=parsed.compressed, had_bom=parsed.had_bom)
    errors, records_read = list(validate.header_errors), 0
    for records in chunks:
        records_read += len(records)
        cases, problems = validate(records)
        for case, digest in zip(cases, case_hashes(cases), strict=True):
            case["content_hash"] = digest
        checked.cases += cases
        errors += problems
        if write is not None and not errors and not parsed.errors:
            write(cases)
    checked.errors = sorted(parsed.errors + errors, key=lambda e: e.row or 0)
    checked.rows_read = records_read + len(parsed.errors)
    return checked


__all__ = [
    "COLUMNS", "FORMATS", "REQUIRED", "CheckedFile", "FileRejected", "RowError", "case_hash", "case_set_hash",
    "case_writer", "check_file", "insert_cases", "read_bytes", "read_upload",
]
