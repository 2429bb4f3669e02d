"""The shapes of what admins configure, declared once as JSON Schema.

Sampling, engine options, study settings, eligibility rules and the rating schema are validated
from these declarations by the services (and so by every page, API call, admin form, command and
study import), shown in the OpenAPI schema by the serializers, used for the forms' limits, and
turned into the database's CheckConstraints. JSON Schema rather than pydantic: the shapes are
stored as JSON, `jsonschema` already validates the judge's output, and the same documents go
into the OpenAPI schema unchanged.

A subschema's "x-problem" is the message shown when it fails; `{1}`, `{2}`... are the path's parts
after the top-level field (list positions counted from 1).
"""
from __future__ import annotations

from django.db.models import CheckConstraint, Q
from jsonschema import Draft202012Validator

from accounts.models import Specialty

from .choices import LeakPolicy, TaskType

SMALLINT_MAX = 32_767
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def _bounded(kind: str, low, high, *, exclusive_low: bool = False) -> dict:
    return {"type": kind, ("exclusiveMinimum" if exclusive_low else "minimum"): low, "maximum": high}


SAMPLING = {
    "type": "object",
    "properties": {
        "temperature": _bounded("number", 0.0, 2.0),
        "top_p": _bounded("number", 0, 1, exclusive_low=True),
        "max_tokens": _bounded("integer", 1, 131_072),
        "seed": _bounded("integer", 0, BIGINT_MAX),
        "samples_per_prompt": _bounded("integer", 1, 100),
    },
}

ENGINE_OPTIONS = {"type": "object", "x-problem": "must be an object of engine arguments"}

ELIGIBILITY = {
    "type": "object",
    "x-problem": 'must map task types to {{"specialties": [...], "min_years": n}}',
    "propertyNames": {"enum": list(TaskType.values)},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "specialties": {"type": "array", "items": {"enum": list(Specialty.values)},
                            "x-problem": "{1}: specialties must be among " + ", ".join(Specialty.values)},
            "min_years": {"type": "integer", "minimum": 0, "x-problem": "{1}: min_years must be a whole number from 0"},
        },
    },
}

TASK_INSTRUCTIONS = {
    "type": "object",
    "propertyNames": {"enum": list(TaskType.values)},
    "additionalProperties": {"type": "string"},
    "x-problem": f"must map task types ({', '.join(TaskType.values)}) to text",
}

STUDY_SETTINGS = {
    "type": "object",
    "properties": {
        "raters_per_response": _bounded("integer", 1, SMALLINT_MAX),
        "anchor_items": _bounded("integer", 0, INT_MAX),
        "calibration_items": _bounded("integer", 0, INT_MAX),
        "retest_fraction": _bounded("number", 0, 0.5),
        "assignment_seed": _bounded("integer", 0, BIGINT_MAX),
        "leak_policy": {"enum": list(LeakPolicy.values)},
        "eligibility": ELIGIBILITY,
        "task_instructions": TASK_INSTRUCTIONS,
    },
}
# The study settings that are bounded numbers (forms, serializers and CheckConstraints take their limits).
STUDY_BOUNDED = ("raters_per_response", "anchor_items", "retest_fraction", "assignment_seed")


def _dimension_problem(field: str, text: str) -> dict:
    return {"x-problem": f"dimension {{1}}: {field} {text}"}


RATING_SCHEMA = {
    "type": "object",
    "x-problem": "the rating schema must be an object",
    "required": ["dimensions"],
    "properties": {
        "dimensions": {
            "type": "array", "minItems": 1, "x-problem": "dimensions must be a non-empty list",
            "items": {
                "type": "object",
                "x-problem": "dimension {1} must be an object",
                "required": ["key", "label", "kind", "choices"],
                "properties": {
                    "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                            **_dimension_problem("key", "must be an identifier such as 'safety'")},
                    "label": {"type": "string", "pattern": r"\S", **_dimension_problem("label", "is required")},
                    "kind": {"enum": ["categorical", "ordinal"],
                             **_dimension_problem("kind", "must be categorical or ordinal")},
                    "choices": {
                        "type": "array", "minItems": 2,
                        "items": {"type": "object", "required": ["value", "label"],
                                  "properties": {"value": {"type": "string", "minLength": 1},
                                                 "label": {"type": "string"},
                                                 "definition": {"type": "string"}}},
                        **_dimension_problem("choices", "must be at least two {{value, label}} objects"),
                    },
                    "confidence": {"type": "boolean", **_dimension_problem("confidence", "must be true or false")},
                    "cannot_assess": {"type": "boolean",
                                      **_dimension_problem("cannot_assess", "must be true or false")},
                },
            },
        },
        "confidence_levels": {"type": "array", "minItems": 2, "items": {"type": "string", "minLength": 1},
                              "x-problem": "confidence_levels must be a list of at least two labels"},
        "comment": {"type": "boolean", "x-problem": "comment must be true or false"},
    },
}


TRIAGE_SCALE = {
    "type": "object",
    "x-problem": "the triage scale must be an object",
    "required": ["name", "ordered", "levels"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "x-problem": "the triage scale needs a name"},
        "ordered": {"type": "boolean", "x-problem": "ordered must be true or false"},
        "most_urgent": {"enum": ["first", "last"], "x-problem": "most_urgent must be first or last"},
        "levels": {
            "type": "array", "minItems": 2,
            "items": {"type": "object", "required": ["value", "label"],
                      "properties": {"value": {"type": "string", "minLength": 1}, "label": {"type": "string"}}},
            "x-problem": "levels must be at least two {{value, label}} objects, in scale order",
        },
    },
}


def limits(shape: dict, field: str) -> tuple[float, float]:
    """(lowest, highest) allowed for a bounded number: what forms and CheckConstraints use."""
    spec = shape["properties"][field]
    return spec.get("minimum", spec.get("exclusiveMinimum")), spec["maximum"]


def range_constraints(shape: dict, fields: tuple[str, ...], *, prefix: str) -> list[CheckConstraint]:
    """The database's guard for the same bounds, so the services are not the only one."""
    constraints = []
    for field in fields:
        spec = shape["properties"][field]
        low = (Q(**{f"{field}__gt": spec["exclusiveMinimum"]}) if "exclusiveMinimum" in spec
               else Q(**{f"{field}__gte": spec["minimum"]}))
        constraints.append(CheckConstraint(condition=low & Q(**{f"{field}__lte": spec["maximum"]}),
                                           name=f"{prefix}_{field}_range"))
    return constraints


def _subschemas(shape: dict, path: list) -> list[dict]:
    """The subschema for each prefix of `path` (the root first)."""
    chain, node = [shape], shape
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part) or node.get("additionalProperties") or {}
        chain.append(node if isinstance(node, dict) else {})
    return chain


def _plain(schema: dict, value, validator: str) -> str:
    if validator == "type":
        return {"integer": "must be a whole number", "number": "must be a number", "boolean": "must be true or false",
                "object": "must be an object", "array": "must be a list", "string": "must be text"}[schema["type"]]
    if validator == "enum":
        return "must be one of " + ", ".join(map(str, schema["enum"]))
    if "exclusiveMinimum" in schema:
        return f"must be greater than {schema['exclusiveMinimum']} and at most {schema['maximum']} (got {value})"
    if "minimum" in schema and "maximum" in schema:
        return f"must be between {schema['minimum']} and {schema['maximum']} (got {value})"
    return "is not valid"


def problems(shape: dict, data) -> dict[str, list[str]]:
    """Every problem of `data` against `shape`, as readable messages grouped by top-level field ("" for the whole)."""
    found: dict[str, list[str]] = {}
    for error in Draft202012Validator(shape).iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required":
            path.append(next(k for k in error.validator_value if k not in error.instance))
        elif error.validator in ("propertyNames", "additionalProperties") and isinstance(error.instance, dict):
            path = path[:1] if path else path
        chain = _subschemas(shape, path)
        depth = next((d for d in range(len(chain) - 1, -1, -1) if "x-problem" in chain[d]), None)
        if depth is not None and (depth >= 1 or not path):
            where = [p + 1 if isinstance(p, int) else p for p in path]
            message = chain[depth]["x-problem"].format(*where)
        else:
            message = _plain(chain[-1], error.instance, error.validator)
        field = str(path[0]) if path else ""
        if message not in found.setdefault(field, []):
            found[field].append(message)
    return found
