"""Import of recorded LLM-judge scores from JSON Lines: one JudgeScore per (response, judge), as produced.

Each row names the response it scores by its grid key (case_external_id, persona_slug, model_name,
sample_index) and the judge by judge_name, and carries what inference.judge records: the values,
the raw answer, whether it parsed, the error, the attempts, the prompt messages and the provenance.
A row is accepted only if the study has that response, its prompt is the one inference.judge builds
for that response and judge, and its values are what the raw answer parses to on the study's rating
schema. Every problem of every row is reported at once and then nothing is imported. A re-import
changes nothing; a row that differs from a score already stored is refused, never overwritten.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import transaction

from config.exceptions import ApplicationError
from studies.importers import FileRejected, RowError, read_upload
from studies.importers.readers import parse_file
from studies.importers.result import Outcome, RowsImportResult, refuse_file, refuse_rows
from studies.importers.validator import string_problem
from studies.models import ModelSpec, Study
from studies.schema import study_schema

from ..judge import DEFAULT_RUBRIC, JudgeAnswerError, build_judge_messages, judge_text, parse_judge_answer
from ..models import JudgeScore

KEY = ("case_external_id", "persona_slug", "model_name", "sample_index")
FIELDS = {  # name: (accepted types, required)
    "case_external_id": ((str, int), True), "persona_slug": ((str,), True), "model_name": ((str,), True),
    "sample_index": ((int,), True), "judge_name": ((str,), True), "values": ((dict,), True),
    "raw_text": ((str,), True), "parse_ok": ((bool,), True), "prompt_messages": ((list,), True),
    "error": ((str,), False), "attempts": ((int,), False), "provenance": ((dict,), False),
}
KINDS = {str: "text", int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}


class JudgeScoreImportResult(RowsImportResult):
    """Judge scores created, or found unchanged, by one import."""


def judge_scores_import(*, study: Study, judge: ModelSpec, file, filename: str | None = None) -> JudgeScoreImportResult:
    """Import a JSONL(.gz) file of `judge`'s scores of `study`'s responses; atomic and idempotent.

    `file`: a path or a binary file object. A refused file raises ApplicationError (extra: the result).
    """
    if not judge.is_judge:
        raise ApplicationError(f"'{judge.name}' is not a judge model spec (is_judge with a rubric prompt).")
    result = JudgeScoreImportResult(message="", dry_run=False)
    try:
        data, filename = read_upload(file, filename=filename, max_bytes=settings.CASE_UPLOAD_MAX_BYTES)
        parsed = parse_file(data, filename=filename, format="jsonl", max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                            max_rows=settings.CASE_UPLOAD_MAX_ROWS)
    except FileRejected as exc:
        return refuse_file(result, exc)
    result.compressed, result.rows = parsed.compressed, len(parsed.records) + len(parsed.errors)
    source = {"imported_from": Path(filename).name, "file_sha256": hashlib.sha256(data).hexdigest()}
    context = _Context(study, judge)
    rows, errors, seen = [], list(parsed.errors), {}
    for record in parsed.records:
        response, row_errors = context.check(record)
        if response is not None and response.pk in seen:
            row_errors.append(RowError(record.row, None, f"scores the same response as row {seen[response.pk]}"))
        errors += row_errors
        if response is not None and not row_errors:
            seen[response.pk] = record.row
            rows.append((record, response))
    if errors:
        return refuse_rows(result, errors)
    with transaction.atomic():
        return _store(result, rows, judge=judge, source=source)


class _Context:
    """What rows are checked against: the study's responses by grid key, its schema and the judge's rubric."""

    def __init__(self, study: Study, judge: ModelSpec):
        self.study, self.judge = study, judge
        self.schema = study_schema(study)
        self.rubric = (judge.rubric_prompt or "").strip() or DEFAULT_RUBRIC
        self.responses: dict[tuple, list] = {}
        for response in study.responses.select_related("case", "persona", "model"):
            key = (response.case.external_id, response.persona.slug, response.model.name, response.sample_index)
            self.responses.setdefault(key, []).append(response)

    def check(self, record) -> tuple[object | None, list[RowError]]:
        """The response the row scores (None if it names none) and every problem of the row."""
        values, errors = record.values, []

        def err(name, message):
            errors.append(RowError(record.row, name, message))

        for name in record.duplicate_keys:
            err(name, "given twice in this row")
        for name in sorted(set(values) - set(FIELDS)):
            err(name, f"unknown field; the fields are {', '.join(FIELDS)}")
        for name, (types, required) in FIELDS.items():
            if name not in values:
                if required:
                    err(name, "missing")
            elif isinstance(values[name], bool) and bool not in types or not isinstance(values[name], types):
                err(name, f"must be {' or '.join(KINDS[t] for t in types)}")
            elif string_problem(values[name]):
                err(name, string_problem(values[name]))
        if errors:
            return None, errors
        if values["judge_name"] != self.judge.name:
            err("judge_name", f"'{values['judge_name']}' is not the judge being imported ('{self.judge.name}')")
        response = self._response(values, err)
        if response is not None:
            self._check_score(values, response, err)
        return response, errors

    def _response(self, values: dict, err):
        key = (str(values["case_external_id"]), *(values[k] for k in KEY[1:]))
        found = self.responses.get(key, [])
        if not found:
            err(None, "the study has no response for case '{}', persona '{}', model '{}', sample {}".format(*key))
        elif len(found) > 1:
            err("case_external_id", f"'{key[0]}' names responses in several of the study's case sets")
        return found[0] if len(found) == 1 else None

    def _check_score(self, values: dict, response, err) -> None:
        expected = build_judge_messages(rubric=self.rubric, schema=self.schema, case=response.case,
                                        response_text=judge_text(response, self.study))
        if values["prompt_messages"] != expected:
            err("prompt_messages", "not the prompt this judge is given for this response (rubric, scales, case "
                                   "or response text differ)")
        try:
            parsed, problem = parse_judge_answer(values["raw_text"], self.schema), ""
        except JudgeAnswerError as exc:
            parsed, problem = {}, str(exc)
        if values["parse_ok"] != (not problem):
            err("parse_ok", f"is {values['parse_ok']}, but raw_text " + (
                f"does not parse on the study's rating schema ({problem})" if problem else "parses"))
        elif values["values"] != parsed:
            err("values", "are not what raw_text parses to on the study's rating schema")
        if values.get("attempts") is not None and not 1 <= values["attempts"] <= 32767:
            err("attempts", "must be between 1 and 32,767")


def _store(result: JudgeScoreImportResult, rows: list, *, judge: ModelSpec, source: dict) -> JudgeScoreImportResult:
    stored = {s.response_id: s for s in JudgeScore.objects.select_for_update().filter(
        judge=judge, response_id__in=[response.pk for _, response in rows])}
    fresh, conflicts = [], []
    for record, response in rows:
        values, score = record.values, stored.get(response.pk)
        if score is None:
            fresh.append(JudgeScore(
                response=response, judge=judge, values=values["values"], raw_text=values["raw_text"],
                parse_ok=values["parse_ok"], attempts=values.get("attempts") or 1, error=values.get("error", "")[:2000],
                prompt_messages=values["prompt_messages"],
                provenance={**values.get("provenance", {}), "import": {**source, "row": record.row}},
            ))
        elif (score.raw_text, score.values, score.parse_ok) != (values["raw_text"], values["values"],
                                                                values["parse_ok"]):
            conflicts.append(RowError(record.row, "raw_text", "this response already has a different score from "
                                                              "this judge"))
    if conflicts:
        return refuse_rows(result, conflicts, outcome=Outcome.CONFLICT, message=(
            f"{len(conflicts):,} row(s) score responses that already have a different score from '{judge.name}'; "
            "nothing was imported."))
    JudgeScore.objects.bulk_create(fresh, batch_size=1_000)
    result.outcome = Outcome.CREATED if fresh else Outcome.UNCHANGED
    result.created, result.unchanged = len(fresh), len(rows) - len(fresh)
    result.message = (f"Imported {len(fresh):,} judge score(s); {result.unchanged:,} already there unchanged."
                      if fresh else f"All {len(rows):,} judge score(s) are already there; nothing changed.")
    return result
