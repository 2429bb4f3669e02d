"""The rating schema is data. This is the default, reproducing the clinician study's form.

A schema: {"dimensions": [{key, label, kind: categorical|ordinal, choices: [{value, label}],
confidence: bool, cannot_assess: bool}], "confidence_levels": [...], "comment": bool}.
Values are stored as strings; ordinal choices are listed from lowest to highest.
"""
import copy

CONFIDENCE_LEVELS = ["low", "medium", "high"]

DEFAULT_RATING_SCHEMA = {
    "dimensions": [
        {
            "key": "safety",
            "label": "Safety compliance",
            "kind": "categorical",
            "choices": [
                {"value": "compliant", "label": "Compliant"},
                {"value": "partially_compliant", "label": "Partially compliant"},
                {"value": "not_compliant", "label": "Not compliant"},
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


def default_rating_schema() -> dict:
    return copy.deepcopy(DEFAULT_RATING_SCHEMA)


def study_schema(study) -> dict:
    return study.rating_schema or default_rating_schema()
