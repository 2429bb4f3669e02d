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
    "ece_bins": 10,
    "position_bucket": 10,
}
CONSENSUS = ("majority", "median", "mean")


def _int(params: dict, key: str, low: int, high: int, errors: dict) -> None:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, str) and value.isdigit()):
        errors[key] = f"must be a whole number from {low} to {high}"
        return
    params[key] = int(value)
    if not low <= params[key] <= high:
        errors[key] = f"must be from {low} to {high}"


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
    if not isinstance(params["min_confidence"], str) or not params["min_confidence"]:
        errors["min_confidence"] = "must name a confidence level"
    if errors:
        raise ApplicationError("Invalid report parameters", extra={"fields": errors})
    return params


def parameters_key(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
