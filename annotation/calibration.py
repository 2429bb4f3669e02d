"""The clinician's start of a study: the instructions page, then an optional calibration phase.

Calibration items are the first `Study.calibration_items` anchor items of the clinician's queue (anchor
items are the ones every clinician rates). They are marked `is_calibration` when the clinician starts
the study, come first in the queue, and after each of them the clinician sees feedback against the
case's reference answer. Their ratings are stored like any other but flagged, and every agreement
figure leaves them out (agreement.data).

Feedback compares with `Case.reference_answer`, which exists for triage cases (the acuity level on the
case set's declared triage scale). A dimension keyed "triage" is compared value for value; otherwise the
reference level is shown for the clinician to compare with. Where a case has no reference answer no
feedback is given, and the page says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from studies.models import TaskType

from .models import Assignment, AssignmentStatus, StudyRater
from .selectors.rating import rater_tasks

TRIAGE_DIMENSION = "triage"


def instructions_due(enrolment: StudyRater) -> bool:
    """The instructions page comes before the first item, once, where the study has something to say."""
    study = enrolment.study
    has_text = bool(study.rater_instructions.strip()) or study.calibration_items > 0
    return has_text and enrolment.instructions_seen_at is None


@transaction.atomic
def instructions_accept(enrolment: StudyRater) -> None:
    """The clinician read the instructions and went on: record it, and set aside the calibration items."""
    enrolment = StudyRater.objects.select_for_update().select_related("study").get(pk=enrolment.pk)
    if enrolment.instructions_seen_at is None:
        enrolment.instructions_seen_at = timezone.now()
        enrolment.save(update_fields=["instructions_seen_at", "updated_at"])
    calibration_mark(enrolment)


def calibration_mark(enrolment: StudyRater) -> int:
    """Mark the first N anchor items of a clinician who has not rated anything yet; returns how many."""
    wanted = enrolment.study.calibration_items
    tasks = rater_tasks(rater=enrolment.rater, study=enrolment.study)
    if wanted <= 0 or tasks.filter(is_calibration=True).exists():
        return 0
    if tasks.filter(status=AssignmentStatus.SUBMITTED).exists():
        return 0  # calibration comes before real items, never in the middle of them
    first = tasks.filter(is_anchor=True, repeat_of__isnull=True).order_by("position", "id")
    ids = list(first.values_list("pk", flat=True)[:wanted])
    return tasks.filter(pk__in=ids).update(is_calibration=True)


def calibration_count(enrolment: StudyRater) -> int:
    """How many practice items this clinician has, or will have on starting."""
    tasks = rater_tasks(rater=enrolment.rater, study=enrolment.study)
    marked = tasks.filter(is_calibration=True).count()
    if marked or enrolment.study.calibration_items <= 0 or tasks.filter(status=AssignmentStatus.SUBMITTED).exists():
        return marked
    return min(enrolment.study.calibration_items, tasks.filter(is_anchor=True, repeat_of__isnull=True).count())


def calibration_progress(*, rater, study) -> tuple[int, int]:
    """(calibration items done, calibration items in all) for this clinician."""
    tasks = rater_tasks(rater=rater, study=study).filter(is_calibration=True)
    return tasks.filter(status=AssignmentStatus.SUBMITTED).count(), tasks.count()


@dataclass(frozen=True)
class Feedback:
    has_reference: bool
    reference_label: str = ""
    given_label: str = ""  # the clinician's answer on a dimension keyed "triage", if the form has one
    matches: bool | None = None
    note: str = ""


def _level_label(case, value: str) -> str:
    levels = (case.case_set.triage_scale or {}).get("levels") or []
    return next((lv.get("label") or value for lv in levels if str(lv.get("value")) == value), value)


def calibration_feedback(task, schema: dict) -> Feedback | None:
    """Feedback on a submitted calibration item; None for any other item."""
    if not task.is_calibration or task.status != AssignmentStatus.SUBMITTED:
        return None
    if not isinstance(task, Assignment):
        return Feedback(False, note="Side-by-side items have no reference answer, so no feedback is given.")
    case = task.response.case
    reference = (case.reference_answer or "").strip()
    if case.task_type != TaskType.TRIAGE or not reference:
        return Feedback(False, note="This practice item has no reference rating, so no feedback is given. "
                                    "Your answer is kept as practice only.")
    feedback = Feedback(True, reference_label=_level_label(case, reference))
    dimension = next((d for d in schema["dimensions"] if d["key"] == TRIAGE_DIMENSION), None)
    if dimension is None:
        return feedback
    given = task.rating.values.filter(dimension=TRIAGE_DIMENSION).first()
    if given is None or given.cannot_assess:
        return Feedback(True, reference_label=feedback.reference_label, given_label="Cannot assess")
    labels = {c["value"]: c["label"] for c in dimension["choices"]}
    return Feedback(True, reference_label=feedback.reference_label, given_label=labels.get(given.value, given.value),
                    matches=given.value == reference)
