"""Import of pre-generated responses from JSON Lines (.jsonl, .jsonl.gz): docs/responses-jsonl.md.

The same care as case uploads, and the same reader (size limit, gzip bomb guard, encoding checks):
every row is validated and all errors are reported at once ("row 17, persona_slug: ..."); an import
is atomic; the grid key (case, persona, model, sample) makes a re-import change nothing, while a
different text for a cell that already has a response is refused rather than overwritten. A row's
prompt must be the one this study sends for its case and persona: a response generated from another
persona's system prompt, filed under this one, would silently corrupt the comparison.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError
from studies.importers import FileRejected, RowError, read_upload
from studies.importers.readers import parse_file
from studies.models import Case, ModelSpec, Response, Study
from studies.prompts import build_messages, messages_hash

REQUIRED = ("case_external_id", "persona_slug", "model_name", "sample_index", "text", "prompt_messages")
OPTIONAL = ("rendered_prompt", "seed", "sampling", "prompt_tokens", "completion_tokens", "finish_reason",
            "provenance")
ROLES = ("system", "user", "assistant")
MAX_REPORTED_ERRORS = 10_000
BATCH_SIZE = 1_000
_SMALLINT = 32767
_BIGINT = 2**63 - 1


@dataclass
class ResponseImportResult:
    ok: bool
    message: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    compressed: bool = False
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "message": self.message, "dry_run": self.dry_run, "rows": self.rows,
            "created": self.created, "unchanged": self.unchanged, "compressed": self.compressed,
            "error_count": len(self.errors), "errors": [e.as_dict() for e in self.errors[:MAX_REPORTED_ERRORS]],
        }


def responses_import(*, study: Study, file, model_name: str | None = None, dry_run: bool = False,
                     filename: str | None = None) -> ResponseImportResult:
    """Import a JSONL(.gz) file of responses into `study`.

    `file`: a path or a binary file object (a Django upload). `model_name`, when given, is the model
    every row must name. A failed real import raises ApplicationError (extra: the result as a dict);
    a failed dry run returns the result with `ok` false.
    """
    result = ResponseImportResult(ok=False, message="", dry_run=dry_run)
    model = None
    if model_name:
        model = study.model_specs.filter(name=model_name).first()
        if model is None:
            known = ModelSpec.objects.filter(name=model_name).exists()
            raise ApplicationError(
                f"Model '{model_name}' is not one of study '{study.name}''s models" if known
                else f"There is no model named '{model_name}'; create its model spec first."
            )
    try:
        data, filename = read_upload(file, filename=filename, max_bytes=settings.CASE_UPLOAD_MAX_BYTES)
        parsed = parse_file(data, filename=filename, format="jsonl", max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                            max_rows=settings.CASE_UPLOAD_MAX_ROWS)
    except FileRejected as exc:
        result.errors, result.message = [RowError(None, None, exc.message)], exc.message
        return _refuse(result)
    result.compressed = parsed.compressed
    result.rows = len(parsed.records) + len(parsed.errors)
    provenance = {"imported_from": Path(filename).name, "file_sha256": hashlib.sha256(data).hexdigest()}
    with transaction.atomic():
        rows, errors = _validate(parsed.records, study=study, model=model)
        errors = sorted(parsed.errors + errors, key=lambda e: (e.row or 0, e.field or ""))
        if errors:
            result.errors = errors
            result.message = (f"The file has {len(errors):,} error(s) in {len({e.row for e in errors}):,} row(s); "
                              "nothing was imported. Fix them all and import the file again.")
            return _refuse(result)
        fresh, conflicts = _split_existing(rows, study=study, lock=not dry_run)
        if conflicts:
            result.errors = conflicts
            result.message = (f"{len(conflicts):,} row(s) are for cells that already have a response with a "
                              "different text; nothing was imported.")
            return _refuse(result)
        result.ok, result.created, result.unchanged = True, len(fresh), len(rows) - len(fresh)
        verb = "Would import" if dry_run else "Imported"
        result.message = (f"{verb} {len(fresh):,} response(s); {result.unchanged:,} already there unchanged."
                          if fresh else f"All {len(rows):,} response(s) are already there; nothing changed.")
        if dry_run or not fresh:
            return result
        try:
            with transaction.atomic():
                Response.objects.bulk_create([_make(row, study, provenance) for row in fresh], batch_size=BATCH_SIZE)
        except IntegrityError:
            raise ApplicationError(
                "Responses for some of these cells were written at the same time by another import or a "
                "generation job; nothing was imported from this file. Import it again (it is idempotent).",
                status_code=409,
            ) from None
    return result


def _refuse(result: ResponseImportResult) -> ResponseImportResult:
    if result.dry_run:
        return result
    raise ApplicationError(result.message, extra=result.as_dict())


# --- validation ----------------------------------------------------------------------------------------


def _validate(records, *, study: Study, model: ModelSpec | None) -> tuple[list[dict], list[RowError]]:
    cases = defaultdict(list)
    for case in _study_cases(study):
        cases[case.external_id].append(case)
    personas = defaultdict(list)
    for persona in study.personas.all():
        personas[persona.slug].append(persona)
    models = {m.name: m for m in study.model_specs.all()}
    rows, errors, seen = [], [], {}
    for record in records:
        row_errors: list[RowError] = []

        def err(name, message, row_errors=row_errors, row=record.row):
            row_errors.append(RowError(row, name, message))

        values = record.values
        for key in record.duplicate_keys:
            err(key, "given twice in this row")
        for key in sorted(set(values) - set(REQUIRED) - set(OPTIONAL)):
            err(key, f"unknown field; the fields are {', '.join(REQUIRED + OPTIONAL)}")
        for key in REQUIRED:
            if key not in values:
                err(key, "missing")
        row = {"row": record.row, **{k: values.get(k) for k in OPTIONAL}}

        case_id = _text(values.get("case_external_id"), "case_external_id", err, allow_int=True)
        matches = cases.get(case_id, []) if case_id else []
        if case_id and not matches:
            err("case_external_id", f"'{case_id}' is not a case of this study's case sets")
        elif len(matches) > 1:
            err("case_external_id", f"'{case_id}' is in several of the study's case sets "
                                    f"({', '.join(str(c.case_set) for c in matches)})")
        row["case"] = matches[0] if len(matches) == 1 else None

        slug = _text(values.get("persona_slug"), "persona_slug", err)
        found = personas.get(slug, []) if slug else []
        if slug and not found:
            err("persona_slug", f"'{slug}' is not one of this study's personas "
                                f"({', '.join(sorted(personas)) or 'none yet'})")
        elif len(found) > 1:
            err("persona_slug", f"the study has several versions of '{slug}'")
        row["persona"] = found[0] if len(found) == 1 else None

        name = _text(values.get("model_name"), "model_name", err)
        if name and model is not None and name != model.name:
            err("model_name", f"'{name}' is not the model being imported ('{model.name}')")
        elif name and name not in models:
            err("model_name", f"'{name}' is not one of this study's models ({', '.join(sorted(models)) or 'none'})")
        row["model"] = models.get(name) if name else None

        row["sample_index"] = _integer(values.get("sample_index"), "sample_index", err, low=0, high=_SMALLINT)
        if "text" in values and not isinstance(values["text"], str):
            err("text", "must be a string")
        row["text"] = values.get("text") if isinstance(values.get("text"), str) else None
        row["prompt_messages"] = _messages(values.get("prompt_messages"), err) if "prompt_messages" in values else None
        _optional_fields(values, err)

        if row["case"] and row["persona"] and row["prompt_messages"] is not None:
            expected = build_messages(persona=row["persona"], case=row["case"],
                                      task_instructions=study.task_instructions)
            if row["prompt_messages"] != expected:
                which = next((m["role"] for m, e in zip(row["prompt_messages"], expected, strict=False) if m != e),
                             "number of")
                err("prompt_messages", f"not the prompt this study sends for this case and persona (the {which} "
                                       "message differs)")
        if not row_errors and all(row[k] is not None for k in ("case", "persona", "model")):
            key = (row["case"].pk, row["persona"].pk, row["model"].pk, row["sample_index"])
            if key in seen:
                err(None, f"the same case, persona, model and sample_index as row {seen[key]}")
            seen.setdefault(key, record.row)
            row["key"] = key
        errors += row_errors
        rows.append(row)
    return rows, errors


def _study_cases(study: Study):
    return Case.objects.filter(case_set__in=study.case_sets.all()).select_related("case_set")


def _text(value, name, err, *, allow_int=False) -> str | None:
    if value is None:
        return None
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        err(name, "must be a non-empty string")
        return None
    return value.strip()


def _integer(value, name, err, *, low: int, high: int) -> int | None:
    if value is None:
        return None  # a missing required field is reported as missing
    if isinstance(value, bool) or not isinstance(value, int):
        err(name, f"must be a whole number, got {value!r}"[:200])
        return None
    if not low <= value <= high:
        err(name, f"must be between {low} and {high:,}, got {value}")
        return None
    return value


def _messages(value, err) -> list[dict] | None:
    if not isinstance(value, list) or not value:
        err("prompt_messages", "must be a non-empty list of {\"role\", \"content\"} objects")
        return None
    for i, message in enumerate(value):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            err("prompt_messages", f"message {i + 1} must be an object with exactly \"role\" and \"content\"")
            return None
        if message["role"] not in ROLES or not isinstance(message["content"], str):
            err("prompt_messages", f"message {i + 1}: role must be one of {', '.join(ROLES)} and content a string")
            return None
    return value


def _optional_fields(values: dict, err) -> None:
    _integer(values.get("seed"), "seed", err, low=-_BIGINT, high=_BIGINT)
    for name in ("prompt_tokens", "completion_tokens"):
        _integer(values.get(name), name, err, low=0, high=2**31 - 1)
    for name in ("sampling", "provenance"):
        if values.get(name) is not None and not isinstance(values[name], dict):
            err(name, "must be an object")
    for name, limit in (("rendered_prompt", None), ("finish_reason", 32)):
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            err(name, "must be a string")
        elif value is not None and limit and len(value) > limit:
            err(name, f"at most {limit} characters")


# --- existing rows and new ones ------------------------------------------------------------------------


def _split_existing(rows: list[dict], *, study: Study, lock: bool) -> tuple[list[dict], list[RowError]]:
    """Rows for empty cells, and errors for cells whose stored text differs (the same text is a no-op)."""
    existing_qs = Response.objects.filter(study=study, model__in={r["model"].pk for r in rows})
    if lock:
        existing_qs = existing_qs.select_for_update()
    existing = {
        (c, p, m, s): text
        for c, p, m, s, text in existing_qs.values_list("case_id", "persona_id", "model_id", "sample_index", "text")
    }
    fresh, conflicts = [], []
    for row in rows:
        stored = existing.get(row["key"])
        if stored is None:
            fresh.append(row)
        elif stored != row["text"]:
            conflicts.append(RowError(row["row"], "text", "this cell (case, persona, model, sample_index) already "
                                                          "has a response with a different text"))
    return fresh, conflicts


def _make(row: dict, study: Study, provenance: dict) -> Response:
    from .services.generation import annotate_response

    rendered = row["rendered_prompt"] or ""
    prompt_hash = hashlib.sha256(rendered.encode()).hexdigest() if rendered else messages_hash(row["prompt_messages"])
    row_provenance = row["provenance"] or {}
    return Response(
        study=study, case=row["case"], persona=row["persona"], model=row["model"], sample_index=row["sample_index"],
        text=row["text"], prompt_messages=row["prompt_messages"], rendered_prompt=rendered,
        prompt_hash=prompt_hash,
        sampling=row["sampling"] or {}, seed=row["seed"], backend="imported",
        model_revision=str(row_provenance.get("revision") or row_provenance.get("model_revision")
                           or row["model"].revision)[:200],
        provenance={**row_provenance, "import": {**provenance, "row": row["row"]}},
        prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
        finish_reason=row["finish_reason"] or "",
        **annotate_response(row["text"], case=row["case"], persona=row["persona"]),
    )
