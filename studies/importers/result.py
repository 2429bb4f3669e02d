"""What every import (case sets, responses) answers, and its one way of refusing a file."""
from __future__ import annotations

from dataclasses import dataclass, field

from config.exceptions import ApplicationError

from .errors import FileRejected, RowError

MAX_REPORTED_ERRORS = 10_000  # a file of 200,000 bad rows still gets the count and the first 10,000


class Outcome:
    CREATED = "created"
    APPENDED = "appended"
    NEW_VERSION = "new_version"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    CONFLICT = "conflict"


@dataclass
class ImportResult:
    """Whether the import worked, a sentence saying what it did (or would do), and every row error."""

    message: str
    dry_run: bool
    outcome: str = Outcome.INVALID
    rows: int = 0
    compressed: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome not in (Outcome.INVALID, Outcome.CONFLICT)

    @property
    def changed(self) -> bool:
        return self.ok and self.outcome != Outcome.UNCHANGED

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "outcome": self.outcome, "message": self.message, "dry_run": self.dry_run,
            "rows": self.rows, "compressed": self.compressed, "error_count": len(self.errors),
            "errors": [e.as_dict() for e in self.errors[:MAX_REPORTED_ERRORS]],
        }


@dataclass
class RowsImportResult(ImportResult):
    """An import whose rows are either created or found there unchanged (responses, judge scores)."""

    created: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {**super().as_dict(), "created": self.created, "unchanged": self.unchanged}


def refuse(result: ImportResult) -> ImportResult:
    """Dry runs return the failed result; real imports raise it as the project's domain error."""
    if result.dry_run:
        return result
    raise ApplicationError(result.message, extra=result.as_dict(),
                           status_code=409 if result.outcome == Outcome.CONFLICT else 400)


def refuse_file(result: ImportResult, exc: FileRejected) -> ImportResult:
    result.errors, result.message = [RowError(None, None, exc.message)], exc.message
    return refuse(result)


def refuse_rows(result: ImportResult, errors: list[RowError], *, outcome: str = Outcome.INVALID,
                message: str | None = None) -> ImportResult:
    """Refuse a file for its row errors, all of them reported, in row order."""
    result.outcome, result.errors = outcome, sorted(errors, key=lambda e: e.row or 0)
    rows = len({e.row for e in errors})
    result.message = message or (f"The file has {len(errors):,} error(s) in {rows:,} row(s); nothing was imported. "
                                 "Fix them all and upload the file again.")
    return refuse(result)
