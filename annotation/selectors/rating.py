"""Reads for clinicians: their studies, their next item, their progress. Always scoped to one rater."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from studies.models import Study, StudyStatus

from ..models import Assignment, AssignmentStatus, PreferenceAssignment, RaterTask, StudyRater

OPEN = (AssignmentStatus.PENDING, AssignmentStatus.IN_PROGRESS)
# The pace estimate uses this many of the rater's most recent submissions.
PACE_WINDOW = 50


def task_model_for(study: Study) -> type[Assignment] | type[PreferenceAssignment]:
    return PreferenceAssignment if study.preference_mode else Assignment


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    seconds_left: float | None  # None until the rater has a pace

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def label(self) -> str:
        text = f"{self.done} of {self.total}"
        if self.remaining and self.seconds_left is not None:
            text += f", {duration_label(self.seconds_left)} left"
        return text


def duration_label(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "about 1 min"
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


def rater_tasks(*, rater, study: Study):
    return task_model_for(study).objects.filter(study=study, rater=rater).exclude(status=AssignmentStatus.WITHDRAWN)


def rater_progress(*, rater, study: Study) -> Progress:
    tasks = rater_tasks(rater=rater, study=study)
    total = tasks.count()
    done = tasks.filter(status=AssignmentStatus.SUBMITTED).count()
    recent = list(tasks.filter(status=AssignmentStatus.SUBMITTED, active_seconds__gt=0)
                  .order_by("-submitted_at").values_list("active_seconds", flat=True)[:PACE_WINDOW])
    pace = statistics.median(recent) if recent else None
    return Progress(done, total, None if pace is None else pace * (total - done))


def assignment_next_for_rater(*, rater, study: Study) -> RaterTask | None:
    """The first unsubmitted item in the rater's queue: where they left off, on any device (calibration
    items first)."""
    return (rater_tasks(rater=rater, study=study).filter(status__in=OPEN)
            .order_by("-is_calibration", "position", "id").first())


def enrolment_for_rater(*, rater, code: str) -> StudyRater | None:
    return (StudyRater.objects.select_related("study")
            .filter(rater=rater, code=code, is_active=True, study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
            .first())


def rater_enrolments(*, rater) -> list[tuple[StudyRater, Progress]]:
    enrolments = (StudyRater.objects.select_related("study")
                  .filter(rater=rater, is_active=True, study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
                  .order_by("-study__created_at"))
    return [(e, rater_progress(rater=rater, study=e.study)) for e in enrolments]


def task_for_rater(*, rater, code: str) -> RaterTask | None:
    """One of this rater's own items by its code; anyone else's code, or an item of a study the rater was
    withdrawn from, finds nothing."""
    withdrawn = StudyRater.objects.filter(study=OuterRef("study"), rater=rater, is_active=False)
    for model, related in ((Assignment, ("study", "response__case")),
                           (PreferenceAssignment, ("study", "comparison__case", "comparison__response_a",
                                                   "comparison__response_b"))):
        task = (model.objects.select_related(*related).filter(rater=rater, code=code)
                .exclude(status=AssignmentStatus.WITHDRAWN).exclude(Exists(withdrawn)).first())
        if task is not None:
            return task
    return None


def enrolment_of(task: RaterTask) -> StudyRater | None:
    return StudyRater.objects.filter(study_id=task.study_id, rater_id=task.rater_id).first()


def rater_submitted_tasks(*, rater, study: Study):
    return rater_tasks(rater=rater, study=study).filter(status=AssignmentStatus.SUBMITTED).order_by("-submitted_at")


def rater_all_tasks(*, rater):
    """Every item of the rater's across open and closed studies, both kinds, in queue order."""
    visible = {"rater": rater, "study__status__in": (StudyStatus.RATING, StudyStatus.CLOSED),
               "study__enrolments__rater": rater, "study__enrolments__is_active": True}
    tasks = []
    for model in (Assignment, PreferenceAssignment):
        tasks += list(model.objects.select_related("study").filter(**visible)
                      .exclude(status=AssignmentStatus.WITHDRAWN).order_by("study_id", "position", "id"))
    return tasks


def task_current_values(task) -> dict:
    """What the form shows: the autosaved draft if any, else the submitted rating, else nothing."""
    return task.draft or task_submitted_values(task) or {}


def task_submitted_values(task) -> dict | None:
    """The current submitted version, in the shape the form and the submit API use (sides as shown)."""
    if task.status != AssignmentStatus.SUBMITTED:
        return None
    if isinstance(task, PreferenceAssignment):
        preference = task.preference
        side = {"a": "left" if task.left_is_a else "right", "b": "right" if task.left_is_a else "left"}
        return {"side": side.get(preference.choice, preference.choice), "confidence": preference.confidence,
                "comment": preference.comment}
    rating = task.rating
    return {
        "values": {v.dimension: {"value": v.value, "confidence": v.confidence, "cannot_assess": v.cannot_assess}
                   for v in rating.values.all()},
        "comment": rating.comment, "is_dangerous": rating.is_dangerous,
        "dangerous_rationale": rating.dangerous_rationale,
    }
