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
    """One row per rating value (clinicians, then judges), long format; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    it = data.items
    dims = {key: dim.dimension for key, dim in data.dimensions.items()}

    def item_cells(i):
        return (
            it.code[i], it.response_id[i], it.case_external_id[i], it.case_set[i], it.task_type[i],
            it.care_setting[i], it.persona[i], it.persona_slug[i], it.role[i], it.style[i], it.is_medical[i],
            it.is_baseline[i], it.model[i], it.sample_index[i],
        )

    def value_cells(dimension, value):
        dim = dims.get(dimension)
        if dim is None or value not in dim.labels:
            return value, "", ""
        k = dim.labels.index(value)
        return value, dim.label_names[k], k + 1

    def tail(i):
        return (it.reference_answer[i], it.parsed_label[i], it.parsed_confidence[i], it.parse_status[i])

    rows = 0
    r = data.records
    for n in range(len(r)):
        i, rater = int(r.item[n]), int(r.rater[n])
        comment, dangerous, rationale = notes.get(int(r.rating_id[n]), ("", False, ""))
        row = (
            data.study_id, data.study_name, "clinician", data.raters.username[rater], data.raters.specialty[rater],
            *item_cells(i), r.dimension[n], *value_cells(r.dimension[n], r.value[n]), r.cannot_assess[n],
            r.confidence[n], r.position[n], r.repeat_of[n] != 0, r.assignment_id[n], r.repeat_of[n] or None,
            r.revision[n], r.active_seconds[n], r.submitted_at[n], dangerous, comment, rationale, *tail(i),
        )
        writer.writerow([_cell(c) for c in row])
        rows += 1
    j = data.judge_records
    for n in range(len(j.item)):
        i = int(j.item[n])
        row = (
            data.study_id, data.study_name, "judge", data.judges[j.judge[n]], "", *item_cells(i), j.dimension[n],
            *value_cells(j.dimension[n], j.value[n]), j.value[n] in ("", CANNOT_ASSESS), j.confidence[n],
            None, False, None, None, None, None, None, None, "", "", *tail(i),
        )
        writer.writerow([_cell(c) for c in row])
        rows += 1
    return rows


def write_json(report: dict, out: IO[str]) -> None:
    json.dump(report, out, indent=1, ensure_ascii=False, allow_nan=False)


def render_html(report: dict) -> str:
    """The self-contained report (no external request: styles and plots inline)."""
    return render_to_string(
        "agreement/report_standalone.html", {"report": report, "figures": report_figures(report)}
    )
