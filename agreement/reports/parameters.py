"""Report parameters: validated, defaulted, and keyed so that equal parameters share a cache entry."""
from __future__ import annotations

import hashlib
import json

from agreement.data import CANNOT_ASSESS_MODES
from config.exceptions import ApplicationError

DEFAULTS = {
    "seed": 20260123,
    "n_boot": 1000,
    "ci_level": 0.95,
    "cannot_assess": "exclude",
    "min_confidence": "medium",
    "consensus": "majority",
    "consensus_tie": "exclude",
    "kappa_average_ci": "jackknife",
    "multiplicity": "holm",
    "metadata_key": "",
    "weight_matrices": {},
    "rbo_p": 0.9,
    "ece_bins": 10,
    "position_bucket": 10,
    "mixed_models": "auto",  # persona-effect models: auto = only those up to persona_models.AUTO_MAX_ROWS rows
}
CONSENSUS = ("majority", "median", "mean")
TIE_RULES = ("exclude", "lower", "higher", "random")
KAPPA_AVERAGE_CI = ("jackknife", "two_way_bootstrap")
MULTIPLICITY = ("holm", "bh")
MIXED_MODELS = ("auto", "on", "off")


def _int(params: dict, key: str, low: int, high: int, errors: dict) -> None:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, str) and value.isdigit()):
        errors[key] = f"must be a whole number from {low} to {high}"
        return
    params[key] = int(value)
    if not low <= params[key] <= high:
        errors[key] = f"must be from {low} to {high}"


def _choices(params: dict, errors: dict) -> None:
    for key, allowed in (("consensus_tie", TIE_RULES), ("kappa_average_ci", KAPPA_AVERAGE_CI),
                         ("multiplicity", MULTIPLICITY), ("mixed_models", MIXED_MODELS)):
        if params[key] not in allowed:
            errors[key] = f"must be one of {', '.join(allowed)}"


def _weight_matrices(params: dict, errors: dict) -> None:
    """{dimension key: K x K agreement weights (lists of numbers)}; the shape is checked against the scale later."""
    value = params["weight_matrices"]
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            errors["weight_matrices"] = "must be JSON such as {\"safety\": [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]]}"
            return
    ok = isinstance(value, dict) and all(
        isinstance(m, list) and m and all(isinstance(row, list) and all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in row) for row in m)
        for m in value.values())
    if not ok:
        errors["weight_matrices"] = "must map dimension keys to square lists of numbers"
        return
    params["weight_matrices"] = value


def parameters_clean(raw: dict | None) -> dict:
    """Defaults filled in; every bad value reported at once, nothing silently coerced out of range."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULTS))
    params = {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}
    errors: dict[str, str] = {key: "unknown parameter" for key in unknown}
    _int(params, "seed", 0, 2**32 - 1, errors)
    _int(params, "n_boot", 0, 10_000, errors)
    _int(params, "ece_bins", 2, 100, errors)
    _int(params, "position_bucket", 1, 1000, errors)
    try:
        params["ci_level"] = float(params["ci_level"])
        if not 0.5 <= params["ci_level"] < 1:
            errors["ci_level"] = "must be at least 0.5 and below 1"
    except (TypeError, ValueError):
        errors["ci_level"] = "must be a number such as 0.95"
    if params["cannot_assess"] not in CANNOT_ASSESS_MODES:
        errors["cannot_assess"] = f"must be one of {', '.join(CANNOT_ASSESS_MODES)}"
    if params["consensus"] not in CONSENSUS:
        errors["consensus"] = f"must be one of {', '.join(CONSENSUS)}"
    _choices(params, errors)
    _weight_matrices(params, errors)
    try:
        params["rbo_p"] = float(params["rbo_p"])
        if not 0 < params["rbo_p"] < 1:
            errors["rbo_p"] = "must lie strictly between 0 and 1"
    except (TypeError, ValueError):
        errors["rbo_p"] = "must be a number such as 0.9"
    if not isinstance(params["metadata_key"], str) or len(params["metadata_key"]) > 100:
        errors["metadata_key"] = "must be a case metadata key (text, at most 100 characters)"
    if not isinstance(params["min_confidence"], str) or not params["min_confidence"]:
        errors["min_confidence"] = "must name a confidence level"
    if errors:
        raise ApplicationError("Invalid report parameters", extra={"fields": errors})
    return params


# Raised whenever a change of the computation moves a figure for the same data and parameters (2: the persona
# effects' case resamples, the REML search held to its optimum; 3: sign-flip p-values summed in float64): a
# finished report is reused only when it was computed the same way.
METHODS_REVISION = 3


def parameters_key(params: dict) -> str:
    """What a finished report is reused by, besides its study, format and data: the parameters, and how the
    figures are computed (``METHODS_REVISION``)."""
    return hashlib.sha256(f"{METHODS_REVISION}:{json.dumps(params, sort_keys=True)}".encode()).hexdigest()
