"""The rating form as data: the steps a page renders (from the study's schema, with their keyboard
shortcuts) and the parsing of what the page posts into what the rating services take.

Field names: `v__<dimension>` (value), `c__<dimension>` (confidence), `x__<dimension>` (cannot assess),
`comment`, `is_dangerous`, `dangerous_rationale`, `reason`; preference tasks: `side`, `confidence`.
"""
from __future__ import annotations

from studies.schema import CONFIDENCE_LEVELS

SHORTCUT_KEYS = "123456789"
SIDE_CHOICES = [("left", "A is better"), ("right", "B is better"), ("tie", "Tie"), ("both_unsafe", "Both unsafe")]

# Keys that work while the focus is in the rating form (besides the number keys of each step); shown on the page,
# where the clinician can turn them off.
GLOBAL_SHORTCUTS = [
    ("1-9", "Choose an option in the current question, then move to the next"),
    ("X", "Cannot assess / outside my expertise (current dimension)"),
    ("Backspace", "Back to the previous question"),
    ("C", "Write a comment"),
    ("D", "Go to the dangerous-output flag (Space ticks it, then give a rationale)"),
    ("F", "Flag a problem with this item"),
    ("R", "Reason for a change (when revising a submitted rating)"),
    ("Esc", "Leave a text box (then number keys work again)"),
    ("Enter", "Submit and go to the next item"),
    ("?", "Show or hide these shortcuts"),
]


# Preference forms have no per-dimension "cannot assess" and no dangerous flag ("both unsafe" is a choice).
PREFERENCE_SHORTCUTS = [(key, meaning) for key, meaning in GLOBAL_SHORTCUTS if key not in ("X", "D")]


def rating_payload(schema: dict, data) -> dict:
    """What the form posted, in the shape rating_submit and drafts take."""
    values = {}
    for dim in schema["dimensions"]:
        key = dim["key"]
        values[key] = {
            "value": (data.get(f"v__{key}") or "").strip(),
            "confidence": (data.get(f"c__{key}") or "").strip(),
            "cannot_assess": data.get(f"x__{key}") in ("on", "true", "1", True),
        }
    return {
        "values": values,
        **_common(data),
        "is_dangerous": data.get("is_dangerous") in ("on", "true", "1", True),
        "dangerous_rationale": (data.get("dangerous_rationale") or "").strip(),
    }


def preference_payload(data) -> dict:
    return {"side": (data.get("side") or "").strip(), "confidence": (data.get("confidence") or "").strip(),
            **_common(data)}


def _common(data) -> dict:
    return {"comment": (data.get("comment") or "").strip(), "reason": (data.get("reason") or "").strip()}


def rating_steps(schema: dict, current: dict, errors: dict) -> list[dict]:
    """One step per question on the form, in focus order: each dimension's value, then its confidence."""
    levels = schema.get("confidence_levels", CONFIDENCE_LEVELS)
    values = current.get("values") or {}
    steps = []
    for dim in schema["dimensions"]:
        key = dim["key"]
        given = values.get(key) or {}
        cannot = bool(given.get("cannot_assess"))
        steps.append({
            "name": f"v__{key}", "legend": dim["label"], "dimension": key,
            "options": _options(f"v__{key}", [(c["value"], c["label"]) for c in dim["choices"]], given.get("value"),
                                [c.get("definition") or "" for c in dim["choices"]]),
            "cannot_assess": {"name": f"x__{key}", "checked": cannot} if dim.get("cannot_assess") else None,
            "error": errors.get(key), "disabled": cannot,
        })
        if dim.get("confidence"):
            steps.append({
                "name": f"c__{key}", "legend": f"Your confidence: {dim['label'].lower()}", "dimension": key,
                "options": _options(f"c__{key}", [(lv, lv.capitalize()) for lv in levels], given.get("confidence")),
                "cannot_assess": None, "error": errors.get(f"{key}__confidence"), "disabled": cannot,
                "is_confidence": True,
            })
    return steps


def preference_steps(schema: dict, current: dict, errors: dict) -> list[dict]:
    levels = schema.get("confidence_levels", CONFIDENCE_LEVELS)
    return [
        {"name": "side", "legend": "Which response is better?", "dimension": "side",
         "options": _options("side", SIDE_CHOICES, current.get("side")), "cannot_assess": None,
         "error": errors.get("side")},
        {"name": "confidence", "legend": "Your confidence", "dimension": "side", "is_confidence": True,
         "options": _options("confidence", [(lv, lv.capitalize()) for lv in levels], current.get("confidence")),
         "cannot_assess": None, "error": errors.get("confidence")},
    ]


def _options(name: str, choices, checked, definitions=()) -> list[dict]:
    """The radio buttons of one step; a level's definition (optional) is shown under it as its description."""
    definitions = list(definitions) + [""] * (len(choices) - len(definitions))
    return [
        {"value": value, "label": label, "id": f"{name}-{n}", "checked": value == checked,
         "key": SHORTCUT_KEYS[n] if n < len(SHORTCUT_KEYS) else "", "definition": definitions[n].strip()}
        for n, (value, label) in enumerate(choices)
    ]
