"""Row validation for response imports: every problem of every row, as RowErrors (studies.importers).

A row's prompt must be the one this study sends for its case and persona: a response generated
from another persona's system prompt, filed under this one, would silently corrupt the comparison.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from studies.importers import RowError
from studies.importers.validator import string_problem
from studies.models import Case, ModelSpec, Study
from studies.prompts import build_messages

REQUIRED = ("case_external_id", "persona_slug", "model_name", "sample_index", "text", "prompt_messages")
OPTIONAL = ("rendered_prompt", "seed", "sampling", "prompt_tokens", "completion_tokens", "finish_reason",
            "provenance")
ROLES = ("system", "user", "assistant")
_SMALLINT = 32767
_BIGINT = 2**63 - 1


@dataclass
class StudyGrid:
    """What rows may name: the study's cases (by external id), personas (by slug) and models (by name)."""

    study: Study
    model: ModelSpec | None  # when given, the one model every row must name
    cases: dict = field(default_factory=lambda: defaultdict(list))
    personas: dict = field(default_factory=lambda: defaultdict(list))
    models: dict = field(default_factory=dict)

    @classmethod
    def of(cls, study: Study, model: ModelSpec | None) -> StudyGrid:
        grid = cls(study=study, model=model)
        for case in Case.objects.filter(case_set__in=study.case_sets.all()).select_related("case_set"):
            grid.cases[case.external_id].append(case)
        for persona in study.personas.all():
            grid.personas[persona.slug].append(persona)
        grid.models = {m.name: m for m in study.model_specs.all()}
        return grid


class RowCheck:
    """Collects one row's errors."""

    def __init__(self, row: int):
        self.row, self.errors = row, []

    def __call__(self, name, message) -> None:
        self.errors.append(RowError(self.row, name, message))


def validate_rows(records, *, grid: StudyGrid) -> tuple[list[dict], list[RowError]]:
    rows, errors, seen = [], [], {}
    for record in records:
        err = RowCheck(record.row)
        row = _row(record, grid, err)
        if not err.errors and all(row[k] is not None for k in ("case", "persona", "model")):
            key = (row["case"].pk, row["persona"].pk, row["model"].pk, row["sample_index"])
            if key in seen:
                err(None, f"the same case, persona, model and sample_index as row {seen[key]}")
            seen.setdefault(key, record.row)
            row["key"] = key
        errors += err.errors
        rows.append(row)
    return rows, errors


def _row(record, grid: StudyGrid, err: RowCheck) -> dict:
    values = record.values
    for key in record.duplicate_keys:
        err(key, "given twice in this row")
    for key in sorted(set(values) - set(REQUIRED) - set(OPTIONAL)):
        err(key, f"unknown field; the fields are {', '.join(REQUIRED + OPTIONAL)}")
    for key in REQUIRED:
        if key not in values:
            err(key, "missing")
    for key, value in values.items():
        problem = string_problem(value)  # checked before anything reaches the database
        if problem:
            err(key, problem)
    row = {"row": record.row, **{k: values.get(k) for k in OPTIONAL}}
    row["case"] = _case(values, grid, err)
    row["persona"] = _persona(values, grid, err)
    row["model"] = _model(values, grid, err)
    row["sample_index"] = _integer(values.get("sample_index"), "sample_index", err, low=0, high=_SMALLINT)
    if "text" in values and not isinstance(values["text"], str):
        err("text", "must be a string")
    row["text"] = values.get("text") if isinstance(values.get("text"), str) else None
    row["prompt_messages"] = _messages(values.get("prompt_messages"), err) if "prompt_messages" in values else None
    _optional_fields(values, err)
    _check_prompt(row, grid.study, err)
    return row


def _case(values: dict, grid: StudyGrid, err: RowCheck):
    case_id = _text(values.get("case_external_id"), "case_external_id", err, allow_int=True)
    matches = grid.cases.get(case_id, []) if case_id else []
    if case_id and not matches:
        err("case_external_id", f"'{case_id}' is not a case of this study's case sets")
    elif len(matches) > 1:
        err("case_external_id", f"'{case_id}' is in several of the study's case sets "
                                f"({', '.join(str(c.case_set) for c in matches)})")
    return matches[0] if len(matches) == 1 else None


def _persona(values: dict, grid: StudyGrid, err: RowCheck):
    slug = _text(values.get("persona_slug"), "persona_slug", err)
    found = grid.personas.get(slug, []) if slug else []
    if slug and not found:
        err("persona_slug", f"'{slug}' is not one of this study's personas "
                            f"({', '.join(sorted(grid.personas)) or 'none yet'})")
    elif len(found) > 1:
        err("persona_slug", f"the study has several versions of '{slug}'")
    return found[0] if len(found) == 1 else None


def _model(values: dict, grid: StudyGrid, err: RowCheck):
    name = _text(values.get("model_name"), "model_name", err)
    if name and grid.model is not None and name != grid.model.name:
        err("model_name", f"'{name}' is not the model being imported ('{grid.model.name}')")
    elif name and name not in grid.models:
        err("model_name", f"'{name}' is not one of this study's models ({', '.join(sorted(grid.models)) or 'none'})")
    return grid.models.get(name) if name else None


def _check_prompt(row: dict, study: Study, err: RowCheck) -> None:
    if not (row["case"] and row["persona"] and row["prompt_messages"] is not None):
        return
    expected = build_messages(persona=row["persona"], case=row["case"], task_instructions=study.task_instructions)
    if row["prompt_messages"] != expected:
        which = next((m["role"] for m, e in zip(row["prompt_messages"], expected, strict=False) if m != e),
                     "number of")
        err("prompt_messages", f"not the prompt this study sends for this case and persona (the {which} "
                               "message differs)")


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
