"""The rating schema as rows a person edits: one row per dimension, each with its levels.

The study form posts plain fields, `dim-<i>-label`, `dim-<i>-key`, `dim-<i>-kind`, `dim-<i>-confidence`,
`dim-<i>-cannot_assess`, `dim-<i>-delete` and `dim-<i>-level-<j>-value|label|definition`, plus
`schema-confidence_levels` (comma separated) and `schema-comment`. Rows are read in index order; a row or
level left blank is skipped, so a page without scripts can offer a few empty ones. A missing key or level
value is made from its label. The schema built is checked by `rating_schema_problems`, whose messages are
put back on the row they are about.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .schema import CONFIDENCE_LEVELS, default_rating_schema

KINDS = (("ordinal", "Ordinal (levels low to high)"), ("categorical", "Categorical (no order)"))
EXTRA_ROWS = 1  # empty dimension rows offered after the existing ones
EXTRA_LEVELS = 2  # empty level slots offered after a dimension's levels
NEW_ROW_LEVELS = 3  # level slots in an empty dimension row
MAX_ROWS = 50
MAX_LEVELS = 30
_DIM = re.compile(r"^dim-(\d+)-")
_LEVEL = re.compile(r"^dim-(\d+)-level-(\d+)-")
_DIMENSION_MESSAGE = re.compile(r"^dimension (\d+): (.*)$")


@dataclass
class Level:
    value: str = ""
    label: str = ""
    definition: str = ""

    @property
    def is_blank(self) -> bool:
        return not (self.value or self.label or self.definition)


@dataclass
class Row:
    label: str = ""
    key: str = ""
    kind: str = "ordinal"
    confidence: bool = True
    cannot_assess: bool = True
    levels: list[Level] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return not (self.label or self.key) and all(level.is_blank for level in self.levels)


def identifier(text: str) -> str:
    """A key made from a label: 'Safety compliance' -> 'safety_compliance'."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", text.strip().lower()).strip("_")
    return f"d_{key}" if key[:1].isdigit() else key


def rows_from_schema(schema: dict) -> list[Row]:
    """The schema (empty: the default) as rows, for the form's first display."""
    schema = schema or default_rating_schema()
    rows = []
    for dim in schema.get("dimensions") or []:
        levels = [Level(str(c.get("value", "")), str(c.get("label", "")), str(c.get("definition", "")))
                  for c in dim.get("choices") or [] if isinstance(c, dict)]
        rows.append(Row(label=str(dim.get("label", "")), key=str(dim.get("key", "")), kind=dim.get("kind", "ordinal"),
                        confidence=bool(dim.get("confidence")), cannot_assess=bool(dim.get("cannot_assess")),
                        levels=levels))
    return rows


def schema_options_from_schema(schema: dict) -> dict:
    schema = schema or default_rating_schema()
    return {"confidence_levels": ", ".join(schema.get("confidence_levels") or CONFIDENCE_LEVELS),
            "comment": bool(schema.get("comment", True))}


def _text(data, name: str) -> str:
    return (data.get(name) or "").strip()


def _checked(data, name: str) -> bool:
    return data.get(name) in ("on", "true", "1", "yes")


def rows_from_post(data) -> list[Row]:
    """The rows as posted, in index order, removed ones left out (blank ones kept, for redisplay)."""
    dims = sorted({int(m.group(1)) for name in data for m in [_DIM.match(name)] if m})[:MAX_ROWS]
    rows = []
    for i in dims:
        if _checked(data, f"dim-{i}-delete"):
            continue
        prefix = f"dim-{i}-"
        indices = sorted({int(m.group(2)) for name in data for m in [_LEVEL.match(name)] if m and int(m.group(1)) == i})
        levels = [Level(_text(data, f"{prefix}level-{j}-value"), _text(data, f"{prefix}level-{j}-label"),
                        _text(data, f"{prefix}level-{j}-definition")) for j in indices[:MAX_LEVELS]]
        kind = _text(data, f"{prefix}kind")
        rows.append(Row(label=_text(data, f"{prefix}label"), key=_text(data, f"{prefix}key"),
                        kind=kind if kind in dict(KINDS) else "ordinal",
                        confidence=_checked(data, f"{prefix}confidence"),
                        cannot_assess=_checked(data, f"{prefix}cannot_assess"), levels=levels))
    return rows


def schema_options_from_post(data) -> dict:
    return {"confidence_levels": _text(data, "schema-confidence_levels"),
            "comment": _checked(data, "schema-comment")}


def _dimension(row: Row) -> dict:
    choices = []
    for n, level in enumerate(row.levels, start=1):
        if level.is_blank:
            continue
        if not (level.label or level.value):
            row.errors.append(f"level {n}: give a label for the definition")
            continue
        choice = {"value": level.value or identifier(level.label) or level.label, "label": level.label or level.value}
        if level.definition:
            choice["definition"] = level.definition
        choices.append(choice)
    return {"key": row.key or identifier(row.label), "label": row.label, "kind": row.kind, "choices": choices,
            "confidence": row.confidence, "cannot_assess": row.cannot_assess}


def schema_from_rows(rows: list[Row], options: dict) -> dict:
    """The rating schema the rows describe (blank rows skipped). The default schema comes back as {}."""
    levels = [part.strip() for part in (options.get("confidence_levels") or "").split(",") if part.strip()]
    schema = {
        "dimensions": [_dimension(row) for row in rows if not row.is_blank],
        "confidence_levels": levels or list(CONFIDENCE_LEVELS),
        "comment": bool(options.get("comment")),
    }
    return {} if schema == default_rating_schema() else schema


def attach_problems(rows: list[Row], problems: list[str]) -> list[str]:
    """Put each "dimension N: ..." message on the Nth non-blank row; returns the messages about the whole."""
    kept = [row for row in rows if not row.is_blank]
    general = []
    for message in problems:
        match = _DIMENSION_MESSAGE.match(message)
        if match and 0 < int(match.group(1)) <= len(kept):
            kept[int(match.group(1)) - 1].errors.append(match.group(2))
        else:
            general.append(message)
    return general


def rows_for_display(rows: list[Row], *, extra: int = EXTRA_ROWS) -> list[Row]:
    """The rows with empty level slots (and empty rows) added, for a page that works without scripts."""
    shown = []
    for row in rows:
        blank_levels = sum(1 for level in row.levels if level.is_blank)
        want = NEW_ROW_LEVELS if row.is_blank else EXTRA_LEVELS
        row.levels = row.levels + [Level() for _ in range(max(0, want - blank_levels))]
        shown.append(row)
    for _ in range(extra - sum(1 for row in rows if row.is_blank)):
        shown.append(Row(levels=[Level() for _ in range(NEW_ROW_LEVELS)]))
    return shown
