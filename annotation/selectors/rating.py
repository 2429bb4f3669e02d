"""Reads for clinicians: their studies, their next item, their progress. Always scoped to one rater."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, Func, OuterRef, Q, Subquery, Value, When, Window

from accounts.roles import role_flags, roles_remember
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
    """One query: the counts are window aggregates over all the rater's items, carried on the rows of the
    pace window (the most recent submissions with time on task, which sort first)."""
    submitted = Q(status=AssignmentStatus.SUBMITTED)
    rows = list(rater_tasks(rater=rater, study=study).annotate(
        _total=Window(Count("pk")), _done=Window(Count("pk", filter=submitted)),
        _untimed=Case(When(submitted & Q(active_seconds__gt=0), then=Value(0)), default=Value(1)),
    ).order_by("_untimed", F("submitted_at").desc(nulls_last=True))
        .values_list("_total", "_done", "_untimed", "active_seconds")[:PACE_WINDOW])
    if not rows:
        return Progress(0, 0, None)
    total, done = rows[0][:2]
    recent = [seconds for _, _, untimed, seconds in rows if not untimed]
    pace = statistics.median(recent) if recent else None
    return Progress(done, total, None if pace is None else pace * (total - done))


def assignment_next_for_rater(*, rater, study: Study) -> RaterTask | None:
    """The first unsubmitted item in the rater's queue: where they left off, on any device (calibration
    items first)."""
    return (rater_tasks(rater=rater, study=study).filter(status__in=OPEN)
            .order_by("-is_calibration", "position", "id").first())


def enrolment_for_rater(*, rater, code: str) -> StudyRater | None:
    """The enrolment with its study, the rater's roles, its rater-facing number and the code of the next
    item (`next_code`), in one query."""
    mine = StudyRater.objects.filter(rater=rater)
    following = {f"_next_{n}": Subquery(rater_tasks_open(model, rater).filter(study=OuterRef("study"))
                                        .values("code")[:1]) for n, model in _TASK_MODELS}
    enrolment = (StudyRater.objects.select_related("study")
                 .filter(rater=rater, code=code, is_active=True,
                         study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
                 .annotate(_number=Subquery(_count(mine.filter(pk__lte=OuterRef("pk")))), **following,
                           **role_flags(rater)).first())
    if enrolment is not None:
        roles_remember(rater, enrolment)
        enrolment.next_code = enrolment._next_p if enrolment.study.preference_mode else enrolment._next_a
    return enrolment


def _count(queryset) -> Subquery:
    """COUNT(*) of a queryset as a scalar subquery (0 where nothing matches)."""
    return Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"))


def rater_tasks_open(model, rater):
    """The rater's unsubmitted items of one kind, in queue order (calibration items first)."""
    return (model.objects.filter(rater=rater, status__in=OPEN)
            .order_by("-is_calibration", "position", "id"))


def rater_enrolments(*, rater) -> list[tuple[StudyRater, Progress]]:
    enrolments = (StudyRater.objects.select_related("study")
                  .filter(rater=rater, is_active=True, study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
                  .order_by("-study__created_at"))
    return [(e, rater_progress(rater=rater, study=e.study)) for e in enrolments]


_TASK_MODELS = (("a", Assignment), ("p", PreferenceAssignment))
_TASK_RELATED = {Assignment: ("study", "response__case"),
                 PreferenceAssignment: ("study", "comparison__case", "comparison__response_a",
                                        "comparison__response_b")}
_ENROLMENT_FIELDS = ("pk", "code", "is_active", "instructions_seen_at", "created_at", "updated_at")


def task_for_rater(*, rater, code: str, kind: str = "a") -> RaterTask | None:
    """One of this rater's own items by its code; anyone else's code, or an item of a study the rater was
    withdrawn from, finds nothing. One query finds the item with what its page shows (study, case,
    response(s)), the rater's enrolment (`enrolment_of`) and roles; `kind` ("a" rating, "p" side by side)
    says which kind of item to look for first."""
    models = sorted(_TASK_MODELS, key=lambda pair: pair[0] != kind)
    for _, model in models:
        task = _task_query(model, rater, code).first()
        if task is not None:
            roles_remember(rater, task)
            task.enrolment = _enrolment_from(task)
            return task
    return None


def task_kind(task: RaterTask) -> str:
    return "p" if isinstance(task, PreferenceAssignment) else "a"


def _task_query(model, rater, code: str):
    mine = StudyRater.objects.filter(study=OuterRef("study"), rater=rater)
    enrolment = {f"_enrolment_{name}": Subquery(mine.values(name)[:1]) for name in _ENROLMENT_FIELDS}
    number = _count(StudyRater.objects.filter(rater=rater, pk__lte=OuterRef("_enrolment_pk")))
    return (model.objects.select_related(*_TASK_RELATED[model]).filter(rater=rater, code=code)
            .exclude(status=AssignmentStatus.WITHDRAWN).exclude(Exists(mine.filter(is_active=False)))
            .annotate(**enrolment).annotate(_enrolment_number=number, **role_flags(rater)))


def _enrolment_from(task: RaterTask) -> StudyRater | None:
    """The enrolment read along with the task (see _task_query), as a model instance."""
    if task._enrolment_pk is None:
        return None
    enrolment = StudyRater(study=task.study, rater_id=task.rater_id,
                           **{name: getattr(task, f"_enrolment_{name}") for name in _ENROLMENT_FIELDS})
    enrolment._state.adding, enrolment._state.db = False, task._state.db
    enrolment._number = task._enrolment_number
    return enrolment


def enrolment_of(task: RaterTask) -> StudyRater | None:
    if hasattr(task, "enrolment"):
        return task.enrolment
    return StudyRater.objects.select_related("study").filter(study_id=task.study_id, rater_id=task.rater_id).first()


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
