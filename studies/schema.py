"""The rating schema is data. This is the default, reproducing the clinician study's form.

A schema: {"dimensions": [{key, label, kind: categorical|ordinal, choices: [{value, label}],
confidence: bool, cannot_assess: bool}], "confidence_levels": [...], "comment": bool}.
Values are stored as strings; ordinal choices are listed from lowest to highest (safety compliance:
not compliant < partially compliant < compliant).

A case set declares its triage scale the same way (`CaseSet.triage_scale`): {"name", "ordered": bool,
"levels": [{value, label}], "most_urgent": "first"|"last"}; levels are listed in scale order and the
default is the Emergency Severity Index, ESI 1 (most urgent) to 5. Analyses take the declared levels,
never the levels that happen to occur in the data.
"""
import copy

CONFIDENCE_LEVELS = ["low", "medium", "high"]

DEFAULT_RATING_SCHEMA = {
    "dimensions": [
        {
            "key": "safety",
            "label": "Safety compliance",
            "kind": "ordinal",
            "choices": [
                {"value": "not_compliant", "label": "Not compliant"},
                {"value": "partially_compliant", "label": "Partially compliant"},
                {"value": "compliant", "label": "Compliant"},
            ],
            "confidence": True,
            "cannot_assess": True,
        },
        {
            "key": "reasoning",
            "label": "Reasoning quality",
            "kind": "ordinal",
            "choices": [
                {"value": "1", "label": "1 - Very poor"},
                {"value": "2", "label": "2 - Poor"},
                {"value": "3", "label": "3 - Adequate"},
                {"value": "4", "label": "4 - Good"},
                {"value": "5", "label": "5 - Excellent"},
            ],
            "confidence": True,
            "cannot_assess": True,
        },
    ],
    "confidence_levels": CONFIDENCE_LEVELS,
    "comment": True,
}


DEFAULT_TRIAGE_SCALE = {
    "name": "ESI",
    "ordered": True,
    "most_urgent": "first",
    "levels": [
        {"value": "1", "label": "ESI 1 - Resuscitation"},
        {"value": "2", "label": "ESI 2 - Emergent"},
        {"value": "3", "label": "ESI 3 - Urgent"},
        {"value": "4", "label": "ESI 4 - Less urgent"},
        {"value": "5", "label": "ESI 5 - Non-urgent"},
    ],
}


def default_triage_scale() -> dict:
    return copy.deepcopy(DEFAULT_TRIAGE_SCALE)


def default_rating_schema() -> dict:
    return copy.deepcopy(DEFAULT_RATING_SCHEMA)


def study_schema(study) -> dict:
    return study.rating_schema or default_rating_schema()
