"""Reads for sample-size planning: a study's current rating design, and the plan for given inputs.

The plan itself is pure computation (agreement.metrics.sample_size); this module adds what the study
already has: its items (responses, or comparisons in preference mode; the planned grid while nothing is
generated), its raters per response and its enrolled clinicians, so a page or an API call can show what
the current design achieves next to what the wanted interval needs.
"""
from __future__ import annotations

from dataclasses import dataclass

from annotation.selectors.dashboard import items_below_target, safety_dimension, study_enrolments
from studies.models import Study
from studies.selectors import study_grid
from studies.services.studies import EDITABLE_BY_STATUS

from .metrics.sample_size import (
    DesignWidth,
    PlanInputError,
    RatersPlan,
    SampleSizePlan,
    design_width,
    raters_for_width,
    sample_size_for_width,
)

ITEMS_GENERATED = "generated"
ITEMS_PLANNED = "planned"
MAX_RATERS_SUGGESTED = 10


@dataclass(frozen=True)
class StudyDesign:
    items: int
    items_source: str  # ITEMS_GENERATED (responses or comparisons) or ITEMS_PLANNED (the grid, nothing generated)
    raters_per_response: int
    raters_enrolled: int
    anchor_items: int
    categories: tuple[str, ...]  # the choices of the dimension the plan starts from
    dimension: str
    raters_editable: bool  # the study's status still lets raters per response change


@dataclass(frozen=True)
class StudyPlan:
    plan: SampleSizePlan
    current: DesignWidth | None  # what the study's current design achieves
    current_note: str | None  # why it could not be computed
    raters: RatersPlan | None  # the fewest raters per response reaching the width on the study's items
    raters_note: str | None
    design: StudyDesign

    def to_dict(self) -> dict:
        return {
            "plan": self.plan.to_dict(),
            "current": self.current.to_dict() if self.current else None,
            "current_note": self.current_note,
            "raters_for_current_items": self.raters.to_dict() if self.raters else None,
            "raters_note": self.raters_note,
            "study_design": {name: getattr(self.design, name) for name in StudyDesign.__dataclass_fields__},
        }


def study_design(*, study: Study) -> StudyDesign:
    items = items_below_target(study=study, limit=0).total
    source = ITEMS_GENERATED
    if not items:
        items, source = study_grid(study=study).responses, ITEMS_PLANNED
    dimension = safety_dimension(study) or {}
    return StudyDesign(
        items=items, items_source=source, raters_per_response=study.raters_per_response,
        raters_enrolled=study_enrolments(study=study).filter(is_active=True).count(),
        anchor_items=study.anchor_items,
        categories=tuple(str(c.get("label", c.get("value"))) for c in dimension.get("choices", [])),
        dimension=str(dimension.get("label", dimension.get("key", ""))),
        raters_editable="raters_per_response" in EDITABLE_BY_STATUS[study.status],
    )


def study_sample_size_plan(*, design: StudyDesign, statistic: str, expected: float, prevalence: list[float],
                           width: float, confidence: float, raters_per_item: int, n_raters: int | None) -> StudyPlan:
    """The plan for the inputs, and what the study's current design (``study_design``) gives; bad inputs raise
    PlanInputError. For the average pairwise kappa the current design's pool is the enrolled clinicians; the
    fewest raters per response on the study's items assume the same raters rate every item."""
    inputs = {"statistic": statistic, "expected": expected, "prevalence": prevalence, "confidence": confidence}
    plan = sample_size_for_width(**inputs, width=width, raters_per_item=raters_per_item, n_raters=n_raters)
    current = raters = None
    current_note = raters_note = None
    m = design.raters_per_response
    pool = design.raters_enrolled if statistic == "average_cohen_kappa" and design.raters_enrolled > m else None
    try:
        current = design_width(**inputs, n_items=design.items, raters_per_item=m, n_raters=pool)
    except PlanInputError as exc:
        current_note = f"Not computed for the current design ({design.items:,} items, {m} per response): {exc}"
    if statistic == "cohen_kappa":
        raters_note = "Cohen's kappa compares two raters: plan more with the average pairwise kappa or Fleiss' kappa."
    else:
        try:
            raters = raters_for_width(**inputs, width=width, n_items=design.items, max_raters=MAX_RATERS_SUGGESTED)
        except PlanInputError as exc:
            raters_note = f"Not computed for the study's {design.items:,} items: {exc}"
    return StudyPlan(plan=plan, current=current, current_note=current_note, raters=raters, raters_note=raters_note,
                     design=design)
