"""Reads for clinicians: their studies, their next item, their progress. Always scoped to one rater."""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import CharField, IntegerField
from django.db.models.expressions import RawSQL

from accounts.roles import role_flags, roles_remember
from config.db import converted, prepared_cursor
from studies.models import Case, Response, Study, StudyStatus

from ..models import Assignment, AssignmentStatus, Comparison, PreferenceAssignment, RaterTask, StudyRater

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
    """One query (_PROGRESS_SQL). Plain SQL: this runs on most clinician pages (the form page reads it along
    with its item: task_progress), and compiling the same query through the ORM cost more than running it."""
    sql = _PROGRESS_SQL.format(table=_quote(task_model_for(study)._meta.db_table), rater="%s", study="%s")
    with connection.cursor() as cursor:
        cursor.execute(sql, _progress_params(rater.pk, study.pk))
        return _progress_from(cursor.fetchall())


def task_progress(task: RaterTask, *, rater) -> Progress:
    """The rater's progress in the item's study: as read along with the item (task_for_rater's `progress`),
    else with a query of its own."""
    if not hasattr(task, "_progress_rows"):
        return rater_progress(rater=rater, study=task.study)
    return _progress_from(json.loads(task._progress_rows or "[]"))  # PostgreSQL's json_agg of no rows: NULL


def _progress_from(rows) -> Progress:
    if not rows:
        return Progress(0, 0, None)
    total, done = int(rows[0][0]), int(rows[0][1])
    recent = [seconds for _, _, untimed, seconds in rows if not untimed]
    pace = statistics.median(recent) if recent else None
    return Progress(done, total, None if pace is None else pace * (total - done))


def _progress_params(*rater_and_study) -> list:
    """_PROGRESS_SQL's parameters; the rater and the study where they are parameters, not columns."""
    submitted = AssignmentStatus.SUBMITTED.value
    return [submitted, *rater_and_study, AssignmentStatus.WITHDRAWN.value, *rater_and_study, submitted, PACE_WINDOW]


# The counts over all the rater's items (an index-only count on the rater-study-status index), carried on
# the rows of the pace window: the most recent submissions with time on task, read in order from their
# partial index (annotation.models.rating.task_indexes); one row with no time when there are none yet.
_PROGRESS_SQL = (
    "SELECT c.total, c.done, CASE WHEN w.active_seconds IS NULL THEN 1 ELSE 0 END AS untimed, w.active_seconds "
    "FROM (SELECT COUNT(*) AS total, COUNT(CASE WHEN status = %s THEN 1 END) AS done FROM {table} "
    "WHERE rater_id = {rater} AND study_id = {study} AND status <> %s) c "
    "LEFT JOIN (SELECT active_seconds FROM {table} WHERE rater_id = {rater} AND study_id = {study} "
    "AND status = %s AND active_seconds > 0 ORDER BY submitted_at DESC LIMIT %s) w ON 1 = 1"
)
# _PROGRESS_SQL's rows as one JSON text, to be read along with an item, on the two databases the platform runs
# on (as text: PostgreSQL's json would be decoded by the driver, SQLite's is text already).
_ROWS_AS_JSON = {
    "postgresql": "(SELECT json_agg(json_build_array(p.total, p.done, p.untimed, p.active_seconds))::text FROM ({}) p)",
    "sqlite": "(SELECT json_group_array(json_array(p.total, p.done, p.untimed, p.active_seconds)) FROM ({}) p)",
}


def assignment_next_for_rater(*, rater, study: Study) -> RaterTask | None:
    """The first unsubmitted item in the rater's queue: where they left off, on any device (calibration
    items first)."""
    return (rater_tasks(rater=rater, study=study).filter(status__in=OPEN)
            .order_by("-is_calibration", "position", "id").first())


def enrolment_for_rater(*, rater, code: str) -> StudyRater | None:
    """The enrolment with its study, the rater's roles, its rater-facing number and the code of the next
    item (`next_code`), in one query."""
    e = _quote(StudyRater._meta.db_table)
    following = {f"_next_{n}": RawSQL(_NEXT_SQL.format(table=_quote(model._meta.db_table), e=e),
                                      (rater.pk, *OPEN), output_field=CharField()) for n, model in _TASK_MODELS}
    number = RawSQL(f"SELECT COUNT(*) FROM {e} n WHERE n.rater_id = %s AND n.id <= {e}.id", (rater.pk,),
                    output_field=IntegerField())
    enrolment = (StudyRater.objects.select_related("study")
                 .filter(rater=rater, code=code, is_active=True,
                         study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
                 .annotate(_number=number, **following, **role_flags(rater)).first())
    if enrolment is not None:
        roles_remember(rater, enrolment)
        enrolment.next_code = enrolment._next_p if enrolment.study.preference_mode else enrolment._next_a
    return enrolment


# The first unsubmitted item of the enrolment's rater in its study, in queue order (assignment_next_for_rater).
_NEXT_SQL = ("SELECT t.code FROM {table} t WHERE t.study_id = {e}.study_id AND t.rater_id = %s "
             "AND t.status IN (%s, %s) ORDER BY t.is_calibration DESC, t.position, t.id LIMIT 1")


def rater_enrolments(*, rater) -> list[tuple[StudyRater, Progress]]:
    enrolments = (StudyRater.objects.select_related("study")
                  .filter(rater=rater, is_active=True, study__status__in=(StudyStatus.RATING, StudyStatus.CLOSED))
                  .order_by("-study__created_at"))
    return [(e, rater_progress(rater=rater, study=e.study)) for e in enrolments]


_TASK_MODELS = (("a", Assignment), ("p", PreferenceAssignment))
# What an item's page shows along with the item: (relation path, model) in join order, parents first.
_TASK_RELATED = {Assignment: (("study", Study), ("response", Response), ("response__case", Case)),
                 PreferenceAssignment: (("study", Study), ("comparison", Comparison), ("comparison__case", Case),
                                        ("comparison__response_a", Response), ("comparison__response_b", Response))}


def task_for_rater(*, rater, code: str, kind: str = "a", progress: bool = False) -> RaterTask | None:
    """One of this rater's own items by its code; anyone else's code, or an item of a study the rater was
    withdrawn from, finds nothing. One query finds the item with what its page shows (study, case,
    response(s)), the rater's enrolment (`enrolment_of`) and roles, and with `progress` the rater's progress
    in its study (`task_progress`); `kind` ("a" rating, "p" side by side) says which kind of item to look
    for first."""
    models = sorted(_TASK_MODELS, key=lambda pair: pair[0] != kind)
    for _, model in models:
        task = _task_read(model, rater, code, progress)
        if task is not None:
            roles_remember(rater, task)
            task.enrolment = _enrolment_from(task)
            return task
    return None


def task_kind(task: RaterTask) -> str:
    return "p" if isinstance(task, PreferenceAssignment) else "a"


@dataclass(frozen=True)
class _Read:
    """One model read by the item's query: its columns' place in the row and, but for the item itself, the
    relation on an object read before it (`parent`, a relation path) that holds it."""

    path: str
    model: type
    fields: tuple
    start: int
    relation: object = None

    @property
    def parent(self) -> str:
        return self.path.rpartition("__")[0]


# Read along with the item, after its models' columns; then the role flags (accounts.roles.role_flags) and,
# where asked for, the progress rows.
_EXTRAS = ("_enrolment_pk", "_enrolment_code", "_enrolment_number")


@cache
def _task_read_plan(model, vendor: str, progress: bool) -> tuple[str, str, tuple[_Read, ...]]:
    """The item's query as SQL, built once from the models: the select list up to the role flags, and the
    rest. Compiling it through the ORM on every page cost more than running it. The enrolment is a LEFT
    JOIN (at most one per study and rater): none means no enrolment, an inactive one hides the item."""
    quote = _quote
    reads, aliases, joins, start = {}, {"": "t"}, [], 0
    for path, related in (("", model), *_TASK_RELATED[model]):
        parent, _, name = path.rpartition("__")
        relation = reads[parent].model._meta.get_field(name) if path else None
        if relation is not None:
            aliases[path] = alias = f"j{len(aliases)}"
            joins.append(f"INNER JOIN {quote(related._meta.db_table)} {alias} "
                         f"ON {alias}.{quote(related._meta.pk.column)} = {aliases[parent]}.{quote(relation.column)}")
        fields = tuple(related._meta.concrete_fields)
        reads[path] = _Read(path, related, fields, start, relation)
        start += len(fields)
    columns = ", ".join(f"{aliases[r.path]}.{quote(f.column)}" for r in reads.values() for f in r.fields)
    table, e = quote(model._meta.db_table), quote(StudyRater._meta.db_table)
    # The enrolment's place among the rater's enrolments: "Study N" where the study has no rater-facing title.
    number = f"(SELECT COUNT(*) FROM {e} n WHERE n.rater_id = t.rater_id AND n.id <= e.id)"
    rows = _PROGRESS_SQL.format(table=table, rater="t.rater_id", study="t.study_id")
    rest = (f"{', ' + _ROWS_AS_JSON[vendor].format(rows) if progress else ''} FROM {table} t {' '.join(joins)} "
            f"LEFT JOIN {e} e ON e.study_id = t.study_id AND e.rater_id = t.rater_id "
            "WHERE t.code = %s AND t.rater_id = %s AND t.status <> %s AND (e.id IS NULL OR e.is_active)")
    return f"SELECT {columns}, e.id, e.code, {number}", rest, tuple(reads.values())


def _task_read(model, rater, code: str, progress: bool) -> RaterTask | None:
    db = connections[DEFAULT_DB_ALIAS]  # the thread's own connection, looked up once
    select, rest, reads = _task_read_plan(model, db.vendor, progress)
    flags = role_flags(rater)
    sql = select + "".join(f", ({flag.sql}) AS {name}" for name, flag in flags.items()) + rest
    params = [p for flag in flags.values() for p in flag.params]
    params += [*(_progress_params() if progress else ()), code, rater.pk, AssignmentStatus.WITHDRAWN.value]
    with prepared_cursor(db) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    objects = {}
    for read in reads:
        values = converted(db, read.fields, row[read.start:read.start + len(read.fields)])
        objects[read.path] = obj = read.model.from_db(db.alias, None, values)
        if read.relation is not None:
            read.relation.set_cached_value(objects[read.parent], obj)
    task = objects[""]
    extras = (*_EXTRAS, *flags, *(("_progress_rows",) if progress else ()))
    for name, value in zip(extras, row[reads[-1].start + len(reads[-1].fields):], strict=True):
        setattr(task, name, value)
    return task


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _enrolment_from(task: RaterTask) -> StudyRater | None:
    """The enrolment read along with the task (see _task_read), as a model instance; the fields that were
    not read load on first use."""
    if task._enrolment_pk is None:
        return None
    enrolment = StudyRater.from_db(task._state.db, ["id", "study_id", "rater_id", "code", "is_active"],
                                   [task._enrolment_pk, task.study_id, task.rater_id, task._enrolment_code, True])
    enrolment.study = task.study
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
