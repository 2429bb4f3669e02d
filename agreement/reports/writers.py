"""The three downloads: tidy CSV, JSON with every coefficient, self-contained HTML with inline SVG."""
from __future__ import annotations

import csv
import json
import math
from typing import IO

import numpy as np
from django.template.loader import render_to_string

from agreement.data import CANNOT_ASSESS, StudyData

from .plots import report_figures

# Spreadsheets run a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "study_id", "study", "rater_kind", "rater", "rater_specialty", "response_code", "response_id", "case",
    "case_set", "task_type", "care_setting", "persona", "persona_slug", "role", "style", "is_medical",
    "is_baseline", "model", "sample_index", "dimension", "value", "value_label", "scale_point", "cannot_assess",
    "confidence", "position", "is_retest", "assignment_id", "repeat_of_assignment_id", "rating_revision",
    "active_seconds", "submitted_at", "is_dangerous", "comment", "dangerous_rationale", "reference_answer",
    "parsed_label", "parsed_confidence", "parse_status",
)


def neutralise(cell):
    """Text that a spreadsheet would evaluate is prefixed with a single quote; numbers pass untouched."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return neutralise(value)


def write_csv(data: StudyData, notes: dict, out: IO[str]) -> int:
    """One row per rating value (clinicians, then judges), long format; returns the number of rows.

    Columns are turned into Python lists once and per-item cells built once per response: the
    per-value loop then only joins prepared cells (100k+ rows).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    it = data.items
    item_columns = (it.code, it.response_id, it.case_external_id, it.case_set, it.task_type, it.care_setting,
                    it.persona, it.persona_slug, it.role, it.style, it.is_medical, it.is_baseline, it.model,
                    it.sample_index)
    item_cells = [tuple(_cell(v) for v in row) for row in zip(*(c.tolist() for c in item_columns), strict=True)]
    tail_columns = (it.reference_answer, it.parsed_label, it.parsed_confidence, it.parse_status)
    tails = [tuple(_cell(v) for v in row) for row in zip(*(c.tolist() for c in tail_columns), strict=True)]
    scales = {key: {v: (_cell(v), _cell(dim.dimension.label_names[k]), k + 1)
                    for k, v in enumerate(dim.dimension.labels)}
              for key, dim in data.dimensions.items()}
    study = (data.study_id, _cell(data.study_name))
    raters = [(_cell(u), _cell(s)) for u, s in zip(data.raters.username.tolist(), data.raters.specialty.tolist(),
                                                  strict=True)]
    notes = {rid: tuple(_cell(v) for v in (dangerous, comment, rationale))
             for rid, (comment, dangerous, rationale) in notes.items()}
    no_notes = ("false", "", "")

    def value_cells(dimension, value):
        known = scales.get(dimension, {}).get(value)
        return known if known is not None else (_cell(value), "", "")

    r = data.records
    columns = (r.item, r.rater, r.dimension, r.value, r.cannot_assess, r.confidence, r.position, r.repeat_of,
               r.assignment_id, r.rating_id, r.revision, r.active_seconds, r.submitted_at)
    rows = 0
    for (i, rater, dimension, value, cannot, confidence, position, repeat_of, assignment, rating, revision, active,
         submitted) in zip(*(c.tolist() for c in columns), strict=True):
        writer.writerow((
            *study, "clinician", *raters[rater], *item_cells[i], _cell(dimension), *value_cells(dimension, value),
            _cell(cannot), _cell(confidence), position, _cell(repeat_of != 0), assignment, repeat_of or "",
            revision, active, _cell(submitted), *notes.get(rating, no_notes), *tails[i],
        ))
        rows += 1
    j = data.judge_records
    judges = [_cell(name) for name in data.judges]
    for judge, i, dimension, value, confidence in zip(
        j.judge.tolist(), j.item.tolist(), j.dimension.tolist(), j.value.tolist(), j.confidence.tolist(), strict=True
    ):
        writer.writerow((
            *study, "judge", judges[judge], "", *item_cells[i], _cell(dimension), *value_cells(dimension, value),
            _cell(value in ("", CANNOT_ASSESS)), _cell(confidence), "", "false", "", "", "", "", "", "", "", "",
            *tails[i],
        ))
        rows += 1
    return rows


def write_json(report: dict, out: IO[str]) -> None:
    json.dump(report, out, indent=1, ensure_ascii=False, allow_nan=False)


def render_html(report: dict) -> str:
    """The self-contained report (no external request: styles and plots inline)."""
    return render_to_string(
        "agreement/report_standalone.html", {"report": report, "figures": report_figures(report)}
    )
