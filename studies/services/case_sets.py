"""Case-set import: the one service behind the Django admin, the upload page, the API and `import_cases`.

Rules (docs/case-set-format.md): every row is validated and all errors are reported together; an
import is atomic; a file whose cases are all already there changes nothing and says so; an id that
exists with different content is refused (conflicting ids listed) unless a new version is asked
for; new ids in a file are added to the latest version unless a study past "draft" uses it.
On PostgreSQL a new set or version is written while its file is checked, and rolled back if it cannot stand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from config.exceptions import ApplicationError
from config.services import gc_paused

from ..importers import CheckedFile, FileRejected, case_set_hash, case_writer, check_file, insert_cases, read_upload
from ..importers import copy as copying  # its uses_copy looked up at each call: tests and benchmarks switch it
from ..importers.result import ImportResult, Outcome, refuse, refuse_file, refuse_rows
from ..importers.triage_scale import triage_scale_read
from ..models import CaseSet, StudyStatus
from ..schema import default_triage_scale

PREVIEW_ROWS = 10
MAX_LISTED_IDS = 50  # in the message; the result carries every conflicting id


@dataclass
class CaseSetImportResult(ImportResult):
    name: str = ""
    version: int | None = None
    case_set: CaseSet | None = None
    format: str = ""
    added: int = 0
    already_present: int = 0
    content_hash: str = ""
    conflicting_ids: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            **super().as_dict(), "name": self.name, "version": self.version,
            "case_set_id": self.case_set.pk if self.case_set else None, "format": self.format, "added": self.added,
            "already_present": self.already_present, "content_hash": self.content_hash,
            "conflicting_ids": self.conflicting_ids, "preview": self.preview,
        }


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    return shown + (f" and {len(ids) - MAX_LISTED_IDS:,} more" if len(ids) > MAX_LISTED_IDS else "")


def _plan(result: CaseSetImportResult, cases: list[dict], *, new_version: bool, lock: bool) -> list[dict]:
    """Decide what the import does; fills result.outcome/message/version, returns the cases to insert."""
    versions = CaseSet.objects.filter(name=result.name).order_by("-version")
    if lock:
        versions = versions.select_for_update()
    versions = list(versions)
    same = next((v for v in versions if v.content_hash == result.content_hash), None)
    if same:
        result.outcome, result.case_set, result.version = Outcome.UNCHANGED, same, same.version
        result.already_present = len(cases)
        result.message = f"This file holds exactly the cases of {same}; nothing changed."
        return []
    latest = versions[0] if versions else None
    if latest is None or new_version:
        result.outcome = Outcome.NEW_VERSION if latest else Outcome.CREATED
        result.version = latest.version + 1 if latest else 1
        return cases
    existing = dict(latest.cases.values_list("external_id", "content_hash"))
    conflicts = [c["external_id"] for c in cases
                 if existing.get(c["external_id"], c["content_hash"]) != c["content_hash"]]
    fresh = [c for c in cases if c["external_id"] not in existing]
    result.case_set, result.version = latest, latest.version
    result.already_present = len(cases) - len(fresh) - len(conflicts)
    if conflicts:
        result.outcome, result.conflicting_ids = Outcome.CONFLICT, conflicts
        result.message = (
            f"{len(conflicts):,} case id(s) already exist in {latest} with different content: {_listed(conflicts)}. "
            "Nothing was imported. To replace them, upload the file as a new version of the set."
        )
        return []
    if not fresh:
        result.outcome = Outcome.UNCHANGED
        result.message = f"All {len(cases):,} cases in this file are already in {latest} unchanged; nothing changed."
        return []
    busy = latest.studies.exclude(status=StudyStatus.DRAFT).order_by("name").first()
    if busy:
        result.outcome = Outcome.CONFLICT
        result.message = (
            f"{latest} is used by study '{busy.name}' ({busy.get_status_display().lower()}), so no cases can be added "
            f"to it ({len(fresh):,} new in this file). Nothing was imported; upload the file as a new version."
        )
        return []
    result.outcome = Outcome.APPENDED
    result.content_hash = case_set_hash([*existing.values(), *(c["content_hash"] for c in fresh)])
    return fresh


def _describe(result: CaseSetImportResult, inserted: int) -> str:
    would = result.dry_run
    target = f"{result.name} v{result.version}"
    if result.outcome == Outcome.CREATED:
        return f"{'Would create' if would else 'Created'} case set {target} with {inserted:,} cases."
    if result.outcome == Outcome.NEW_VERSION:
        return (f"{'Would create' if would else 'Created'} {target} with {inserted:,} cases "
                f"(earlier versions are kept).")
    return (f"{'Would add' if would else 'Added'} {inserted:,} new case(s) to {target}; "
            f"{result.already_present:,} already there unchanged.")


@gc_paused()
def case_set_import(*, file, name: str, owner=None, new_version: bool = False, dry_run: bool = False,
                    description: str = "", filename: str | None = None, format: str | None = None,
                    triage_scale=None) -> CaseSetImportResult:
    """Import a CSV/JSON/JSONL(.gz) file of cases into the case set `name`.

    `file`: a path or a binary file object (a Django upload). Returns the result (also when nothing
    changed); a failed real import raises ApplicationError whose `extra` is the result as a dict,
    a failed dry run returns it with `ok` false.
    """
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A case set needs a name.")
    if len(name) > CaseSet._meta.get_field("name").max_length:
        raise ApplicationError("A case set name can be at most 200 characters.")
    try:
        scale = triage_scale_read(triage_scale)  # the declared scale of a new set or version; ESI 1-5 by default
    except ValueError as exc:
        raise ApplicationError(str(exc)) from None
    result = CaseSetImportResult(message="", name=name, dry_run=dry_run)
    new_set = partial(_create_case_set, name=name, owner=owner, description=description, scale=scale)
    try:
        data, filename = read_upload(file, filename=filename, max_bytes=settings.CASE_UPLOAD_MAX_BYTES)
        levels = tuple(lv["value"] for lv in scale["levels"])
        check = partial(check_file, data, filename=filename, format=format, max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                        max_rows=settings.CASE_UPLOAD_MAX_ROWS,
                        triage_levels=None if scale == default_triage_scale() else levels)
        streamed = None if dry_run or not copying.uses_copy(connection) else _streamed(
            check, partial(new_set, filename=filename), name=name, new_version=new_version)
        if isinstance(streamed, CaseSetImportResult):
            return streamed
        checked = streamed or check()
    except FileRejected as exc:
        return refuse_file(result, exc)
    _note_file(result, checked)
    if checked.errors:
        return refuse_rows(result, checked.errors)
    result.content_hash = case_set_hash(c["content_hash"] for c in checked.cases)
    try:
        with transaction.atomic():
            to_insert = _plan(result, checked.cases, new_version=new_version, lock=not dry_run)
            if not result.ok:
                return refuse(result)
            if result.outcome == Outcome.UNCHANGED:
                return result
            result.added = len(to_insert)
            result.message = _describe(result, len(to_insert))
            if dry_run:
                return result
            if result.outcome == Outcome.APPENDED:
                result.case_set.content_hash = result.content_hash
                result.case_set.save(update_fields=["content_hash", "updated_at"])
            else:
                result.case_set = new_set(version=result.version, content_hash=result.content_hash,
                                          filename=filename)
            insert_cases(result.case_set, to_insert)
    except IntegrityError:
        raise _concurrent(name) from None
    return result


def _note_file(result: CaseSetImportResult, checked: CheckedFile) -> None:
    """What the result says of the file whatever the import does."""
    result.format, result.compressed = checked.format, checked.compressed
    result.rows = checked.rows_read
    result.preview = [{k: v for k, v in c.items() if k != "content_hash"} for c in checked.cases[:PREVIEW_ROWS]]


def _create_case_set(*, name: str, owner, description: str, scale: dict, filename: str, version: int,
                     content_hash: str) -> CaseSet:
    earlier = CaseSet.objects.filter(name=name).order_by("-version").first()
    return CaseSet.objects.create(
        name=name, version=version, owner=owner, description=description or (earlier.description if earlier else ""),
        content_hash=content_hash, source_filename=filename[:255], triage_scale=scale,
    )


def _concurrent(name: str) -> ApplicationError:
    return ApplicationError(
        f"Another import into case set '{name}' finished at the same time; nothing was imported from this "
        "file. Upload it again.", status_code=409,
    )


class _Undone(Exception):
    """Rolls a streamed import back; carries the file's check for the usual path."""

    def __init__(self, checked: CheckedFile):
        super().__init__()
        self.checked = checked


def _streamed(check, new_set, *, name: str, new_version: bool) -> CaseSetImportResult | CheckedFile | None:
    """A new set or version written while its file is checked (PostgreSQL): each batch of cases goes to an open
    COPY as soon as it is checked, so that the server stores one batch while the next is read and checked.

    Returns the result of the import; or the file's check when the import could not stand and was rolled back
    (the file has errors, or holds exactly the cases of a version already there), which the usual path then
    reports as ever; or None when the cases would be added to the latest version, for which the existing ones
    are compared first. A file refused as a whole (FileRejected) rolls back too and is raised."""
    result = CaseSetImportResult(message="", name=name, dry_run=False)
    try:
        with transaction.atomic():
            versions = list(CaseSet.objects.filter(name=name).order_by("-version").select_for_update())
            if versions and not new_version:
                return None
            result.version = versions[0].version + 1 if versions else 1
            result.outcome = Outcome.NEW_VERSION if versions else Outcome.CREATED
            result.case_set = new_set(version=result.version, content_hash="")
            with case_writer(result.case_set) as write:
                checked = check(write=write)
            result.content_hash = case_set_hash(c["content_hash"] for c in checked.cases)
            if checked.errors or any(v.content_hash == result.content_hash for v in versions):
                raise _Undone(checked)
            CaseSet.objects.filter(pk=result.case_set.pk).update(content_hash=result.content_hash)
            result.case_set.content_hash = result.content_hash
    except _Undone as undone:
        return undone.checked
    except IntegrityError:
        raise _concurrent(name) from None
    _note_file(result, checked)
    result.added = len(checked.cases)
    result.message = _describe(result, result.added)
    return result
