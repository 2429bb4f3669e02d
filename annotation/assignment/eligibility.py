"""Who may rate which task type, decided on the rater's profile.

Rules are a study's `eligibility` JSON, keyed by task type; a task type without a rule is open to all:

    {"triage": {"specialties": ["emergency", "critical_care"], "min_years": 2}}
"""
from collections.abc import Mapping, Sequence

import numpy as np

from studies.shapes import ELIGIBILITY, problems

from .types import PlanError, Rater


def eligibility_validate(rules: Mapping) -> None:
    """Raise PlanError with every problem of the rules against their one declaration (studies.shapes)."""
    found = problems(ELIGIBILITY, rules)
    if found:
        raise PlanError("eligibility " + "; ".join(m for messages in found.values() for m in messages))


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
