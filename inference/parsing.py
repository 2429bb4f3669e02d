"""The level and stated confidence of a discrete-answer (triage) response: pure text in, values out.

The study's prompt asks for "ESI level: <1-5>" and "Confidence: <0-100>%" lines (or a JSON object
under structured output), but models drift: "**ESI 2**", "Level: 3", "confidence 80 %", "0.8".
The LAST statement wins, because models often weigh several levels ("ESI 2 vs ESI 3") before
concluding. A statement that is itself a range or a choice ("ESI 2-3", "ESI 2 or 3", "70-80%") is
not an answer and is skipped, so an undecided response stays partial/unparseable rather than
being credited with one end of its range.

Statuses are the values of studies.models.ParseStatus (kept as strings: no Django here).
"""
from __future__ import annotations

import json
import re

PARSED = "parsed"
PARTIAL = "partial"
UNPARSEABLE = "unparseable"
NOT_APPLICABLE = "n/a"

DISCRETE_TASK_TYPES = frozenset({"triage"})
ESI_LEVELS = ("1", "2", "3", "4", "5")

# Structured output for triage answers (SamplingSettings.json_schema): what the free-text lines say.
TRIAGE_ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "esi_level": {"type": "integer", "minimum": 1, "maximum": 5},
        "confidence": {"type": "number", "minimum": 0, "maximum": 100},
    },
    "required": ["reasoning", "esi_level", "confidence"],
    "additionalProperties": False,
}

_LEVEL_KEYS = ("esi_level", "esi", "level", "triage_level", "acuity_level", "acuity", "answer")
_CONFIDENCE_KEYS = ("confidence", "confidence_percent", "confidence_pct", "confidence_level", "certainty")

# Possessive (Python 3.11+): "80-90%" must not backtrack into "8" followed by "0-90".
_NUM = r"(\d++(?:[.,]\d++)?+)"
# Something after a number that makes it part of a range or a choice, not an answer.
_NOT_ALONE = r"(?!\s*(?:-|–|—|to|or|/|and)\s*\d)"
_LEVEL_PATTERNS = [
    # "ESI level: 2", "ESI: 2", "ESI-2", "ESI 2", "ESI level is 2", "Emergency Severity Index (ESI) level 2"
    re.compile(
        r"\b(?:ESI|emergency\s+severity\s+index(?:\s*\(ESI\))?)(?:\s*(?:triage\s+)?(?:level|category|score))?"
        r"\s*(?:[:=#-]|is|of|would\s+be|should\s+be)?\s*(?:level\s*)?([1-5])(?!\d|[.,]\d)" + _NOT_ALONE,
        re.IGNORECASE,
    ),
    # "Triage level: 3", "Acuity level 2", "triage category: 2", or "Level: 3" opening a line (not "pain level 3")
    re.compile(
        r"(?:\b(?:triage|acuity)\s+(?:level|category)|^[ \t>-]*level)\s*(?:[:=#-]|is|of)?\s*([1-5])(?!\d|[.,]\d)"
        + _NOT_ALONE,
        re.IGNORECASE | re.MULTILINE,
    ),
]
_CONFIDENCE_PATTERNS = [
    # "Confidence: 80%", "confidence 80 %", "Confidence level: 0.8", "confidence of 75 percent", "80/100"
    re.compile(
        r"\bconfiden(?:ce|t)(?:\s+(?:level|score|rating))?\s*(?:[:=]|is|of|at|about|around|~)?\s*(?:about\s+)?"
        + _NUM + r"\s*+(%|percent|/\s*100(?!\d))?+" + _NOT_ALONE,
        re.IGNORECASE,
    ),
    # "I am 80% confident", "85 % sure"
    re.compile(r"\b" + _NUM + r"\s*(%|percent)\s*(?:confiden|sure|certain)", re.IGNORECASE),
]
_MARKUP = re.compile(r"[*_`#]+")


def parse_discrete_answer(text: str, *, task_type: str) -> tuple[str, float | None, str]:
    """(level, confidence in 0-1 or None, status) for one response."""
    if task_type not in DISCRETE_TASK_TYPES:
        return "", None, NOT_APPLICABLE
    level, confidence = _from_json(text)
    if level is None:
        plain = _MARKUP.sub("", text or "")
        level = _last_level(plain)
        confidence = _last_confidence(plain)
    if level is None:
        return "", None, UNPARSEABLE
    return level, confidence, PARSED if confidence is not None else PARTIAL


def _from_json(text: str) -> tuple[str | None, float | None]:
    obj = extract_json_object(text or "")
    if obj is None:
        return None, None
    obj = {str(k).lower(): v for k, v in obj.items()}
    level = next((_level_value(obj[k]) for k in _LEVEL_KEYS if k in obj), None)
    confidence = next((_confidence_value(obj[k]) for k in _CONFIDENCE_KEYS if k in obj), None)
    return level, confidence


def extract_json_object(text: str) -> dict | None:
    """The text as a JSON object: the whole text, or the first object in a code fence or after a preamble."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", stripped)
    start = stripped.find("{")
    if start < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(stripped[start:])
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _level_value(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and float(value).is_integer() and 1 <= value <= 5:
        return str(int(value))
    if isinstance(value, str):
        return _last_level(value) or (value.strip() if value.strip() in ESI_LEVELS else None)
    return None


def _confidence_value(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _to_unit(float(value), explicit_percent=isinstance(value, int))
    if isinstance(value, str):
        match = re.fullmatch(r"\s*" + _NUM + r"\s*(%|percent|/\s*100)?\s*", value, re.IGNORECASE)
        if match:
            return _to_unit(_number(match.group(1)), explicit_percent=bool(match.group(2)) or _whole(match.group(1)))
    return None


def _last_level(text: str) -> str | None:
    for pattern in _LEVEL_PATTERNS:  # the explicit "ESI ..." form outranks a bare "level"
        matches = pattern.findall(text)
        if matches:
            return matches[-1]
    return None


def _last_confidence(text: str) -> float | None:
    found: list[tuple[int, float]] = []
    for pattern in _CONFIDENCE_PATTERNS:
        for match in pattern.finditer(text):
            value = _to_unit(_number(match.group(1)), explicit_percent=bool(match.group(2)) or _whole(match.group(1)))
            if value is not None:
                found.append((match.start(), value))
    return max(found)[1] if found else None


def _number(raw: str) -> float:
    return float(raw.replace(",", "."))


def _whole(raw: str) -> bool:
    """A number written without a decimal part ("1", "80"): on the prompt's 0-100 scale, a percentage."""
    return not re.search(r"[.,]", raw)


def _to_unit(value: float, *, explicit_percent: bool) -> float | None:
    """0-100 (or a stated percentage, or a whole number) -> 0-1; a decimal <= 1 ("0.8") is a probability.

    The prompt asks for a confidence on 0-100, so "Confidence: 1" is 1%, not certainty.
    """
    if explicit_percent or value > 1:
        value = value / 100
    return value if 0 <= value <= 1 else None
