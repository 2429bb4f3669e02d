"""Who may rate which task type, decided on the rater's profile.

Rules are a study's `eligibility` JSON, keyed by task type; a task type without a rule is open to all:

    {"triage": {"specialties": ["emergency", "critical_care"], "min_years": 2}}
"""
from collections.abc import Mapping, Sequence

import numpy as np

from .types import PlanError, Rater

RULE_KEYS = {"specialties", "min_years"}


def eligibility_validate(rules: Mapping) -> None:
    """Raise PlanError naming the first malformed rule; the setup form can call this too."""
    if not isinstance(rules, Mapping):
        raise PlanError("eligibility must be an object keyed by task type")
    for task_type, rule in rules.items():
        if not isinstance(rule, Mapping):
            raise PlanError(f"eligibility for {task_type!r} must be an object")
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise PlanError(f"eligibility for {task_type!r}: unknown keys {sorted(unknown)}")
        specialties = rule.get("specialties", [])
        if not isinstance(specialties, list) or not all(isinstance(s, str) for s in specialties):
            raise PlanError(f"eligibility for {task_type!r}: specialties must be a list of names")
        min_years = rule.get("min_years", 0)
        if not isinstance(min_years, int) or isinstance(min_years, bool) or min_years < 0:
            raise PlanError(f"eligibility for {task_type!r}: min_years must be a whole number >= 0")


def eligible_mask(raters: Sequence[Rater], task_type: str, rules: Mapping) -> np.ndarray:
    """Boolean per rater: may this rater rate items of this task type?"""
    rule = rules.get(task_type)
    if not rule:
        return np.ones(len(raters), bool)
    specialties = set(rule.get("specialties") or [])
    min_years = rule.get("min_years", 0)
    return np.array(
        [(not specialties or r.specialty in specialties) and r.years_in_practice >= min_years for r in raters], bool
    )
