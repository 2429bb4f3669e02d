"""Rating writes: drafts, submission (idempotent), revisions (append-only), flags and time on task.

A rating is never lost and never doubled: the assignment row is locked while a submission is written,
`Rating.assignment` is one-to-one, a retried submission (same idempotency key and the same body, or the
same values) returns the rating already stored, a key reused for a different body is refused (409: the
Back button, then a changed answer), and any change after submission needs a reason and becomes a new
revision. All of this is open only while the study is rating and the clinician is enrolled in it; a
closed study's ratings are final. A dangerous flag writes an alert for the safety contact
(annotation.services.alerts), delivered after the transaction commits.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import math

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Model, OuterRef
from django.utils import timezone

from accounts.roles import CLINICIAN, user_has_role
from config.db import prepared_cursor
from config.exceptions import ApplicationError
from studies.models import Study, StudyStatus
from studies.schema import study_schema

from ..models import (
    Assignment,
    AssignmentStatus,
    FlagKind,
    ItemFlag,
    Preference,
    PreferenceAssignment,
    PreferenceChoice,
    PreferenceRevision,
    RaterTask,
    Rating,
    RatingRevision,
    RatingValue,
    StudyRater,
)
from .alerts import safety_alert_raise

logger = logging.getLogger(__name__)

MAX_TEXT = 10_000
# A client may report at most this much more active time than wall-clock time since the task's last save.
ACTIVE_TIME_SLACK_SECONDS = 5.0
PREFERENCE_SIDES = ("left", "right", "tie", "both_unsafe")


# --------------------------------------------------------------------------------------------- shared


def _lock_task(task: RaterTask, rater) -> RaterTask:
    """Re-read the task under a row lock and check that this clinician may change it now."""
    if not user_has_role(rater, CLINICIAN):
        raise ApplicationError("Only clinicians can rate.", status_code=403)
    model = type(task)
    withdrawn = StudyRater.objects.filter(study=OuterRef("study"), rater=rater, is_active=False)
    # The stored answer comes along (its row is not locked: see _create_once for a concurrent first one).
    answer = "preference" if model is PreferenceAssignment else "rating"
    locked = (model.objects.select_for_update(of=("self", "study")).select_related("study", answer)
              .filter(pk=task.pk, rater=rater).annotate(_withdrawn=Exists(withdrawn)).first())
    if locked is None or locked.status == AssignmentStatus.WITHDRAWN or locked._withdrawn:
        raise ApplicationError("This item is not in your queue.", status_code=404)
    if locked.study.status == StudyStatus.CLOSED:
        raise ApplicationError("The study is closed; its ratings can no longer change.", status_code=409)
    if locked.study.status != StudyStatus.RATING:
        raise ApplicationError("The study is not open for rating.", status_code=409)
    return locked


def _stored_answer(task: RaterTask) -> Rating | Preference | None:
    """The rating or preference read along with the locked task (_lock_task), if there is one."""
    try:
        return task.preference if isinstance(task, PreferenceAssignment) else task.rating
    except ObjectDoesNotExist:
        return None


def _active_seconds_value(reported) -> float | None:
    if reported in (None, ""):
        return None
    try:
        reported = float(reported)
    except (TypeError, ValueError):
        raise ApplicationError("active_seconds must be a number.") from None
    if not math.isfinite(reported) or reported < 0:
        raise ApplicationError("active_seconds must be a number of seconds >= 0.")
    return reported


def _active_time_apply(task: RaterTask, reported) -> None:
    """The client reports its running total of active seconds. Keep the largest total seen (retries
    and a second tab never add twice), but never more than the wall-clock time since the last save
    (_first_write_sql does the same in SQL)."""
    reported = _active_seconds_value(reported)
    if reported is None:
        return
    elapsed = (timezone.now() - task.updated_at).total_seconds() if task.updated_at else 0.0
    task.active_seconds = max(task.active_seconds, min(reported, task.active_seconds + elapsed
                                                       + ACTIVE_TIME_SLACK_SECONDS))


def _text(value, field: str, errors: dict) -> str:
    value = "" if value is None else str(value).strip()
    if len(value) > MAX_TEXT:
        errors[field] = f"At most {MAX_TEXT:,} characters."
    return value


def task_mark_shown(*, task: RaterTask) -> RaterTask:
    """Record when and at which place in the clinician's own viewing order an item was first shown: the place
    after the last one given (read from the end of an index, not counted), in one statement."""
    if task.first_shown_at is not None:
        return task
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor(connection) as cursor:
        cursor.execute(_mark_shown_sql(type(task)), [stamp, stamp, task.study_id, task.rater_id, task.pk])
        marked = cursor.rowcount
    if marked:
        task.first_shown_at = task.updated_at = now
        task.__dict__.pop("display_position", None)  # deferred: read from the row if asked for
    else:
        task.refresh_from_db(fields=["first_shown_at", "display_position", "updated_at"])
    return task


@functools.cache
def _mark_shown_sql(model) -> str:
    """Built once per model: on the item page's path, compiling the ORM's update cost more than running it."""
    table = connection.ops.quote_name(model._meta.db_table)
    return (f"UPDATE {table} SET first_shown_at = %s, updated_at = %s, display_position = COALESCE(("
            f"SELECT s.display_position FROM {table} s WHERE s.study_id = %s AND s.rater_id = %s "
            "AND s.display_position IS NOT NULL ORDER BY s.display_position DESC LIMIT 1), 0) + 1 "
            "WHERE id = %s AND first_shown_at IS NULL")


@transaction.atomic
def item_flag_create(*, task: RaterTask, rater, kind: str, note: str = "") -> ItemFlag:
    task = _lock_task(task, rater)
    if kind not in FlagKind.values:
        raise ApplicationError("Choose what is wrong with this item.", extra={"fields": {"kind": "required"}})
    errors: dict = {}
    note = _text(note, "note", errors)
    if kind == FlagKind.OTHER and not note:
        errors["note"] = "Say what is wrong."
    if errors:
        raise ApplicationError("The flag could not be saved.", extra={"fields": errors})
    field = "preference_assignment" if isinstance(task, PreferenceAssignment) else "assignment"
    return ItemFlag.objects.create(study=task.study, rater=rater, kind=kind, note=note, **{field: task})


@transaction.atomic
def task_draft_save(*, task: RaterTask, rater, draft: dict, active_seconds=None) -> RaterTask:
    """Autosave: what the form holds now, so the clinician can resume anywhere. Lenient by design
    (half-filled is normal); only the shape is checked. A submitted task keeps its status."""
    task = _lock_task(task, rater)
    if not isinstance(draft, dict):
        raise ApplicationError("A draft must be an object.")
    task.draft = _draft_clean(task, draft)
    task.draft_saved_at = timezone.now()
    _active_time_apply(task, active_seconds)
    if task.status == AssignmentStatus.PENDING:
        task.status = AssignmentStatus.IN_PROGRESS
    task.save(update_fields=["draft", "draft_saved_at", "active_seconds", "status", "updated_at"])
    return task


def _draft_clean(task: RaterTask, draft: dict) -> dict:
    def short(value, limit=MAX_TEXT):
        return str(value)[:limit] if value not in (None, False) else ""

    clean = {key: short(draft.get(key)) for key in ("comment", "dangerous_rationale", "reason") if draft.get(key)}
    if draft.get("is_dangerous"):
        clean["is_dangerous"] = True
    if isinstance(task, PreferenceAssignment):
        for key in ("side", "confidence"):
            if draft.get(key):
                clean[key] = short(draft[key], 32)
        return clean
    dimensions = {d["key"] for d in study_schema(task.study)["dimensions"]}
    values = draft.get("values") if isinstance(draft.get("values"), dict) else {}
    clean["values"] = {
        key: {"value": short(v.get("value"), 64), "confidence": short(v.get("confidence"), 16),
              "cannot_assess": bool(v.get("cannot_assess"))}
        for key, v in values.items() if key in dimensions and isinstance(v, dict)
    }
    return clean


KEY_REUSED = ("This submission was already sent with a different answer (for example after going Back), so this "
              "change was not saved. Check the answers shown and submit again to save them.")


def body_hash(snapshot: dict) -> str:
    """sha256 of a normalised submission: what decides whether a reused idempotency key is a retry."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _replayed(revisions, idempotency_key: str, digest: str) -> bool:
    """True for a retry (the key was used for this same body); a key used for another body is a 409."""
    if not idempotency_key:
        return False
    used = revisions.filter(idempotency_key=idempotency_key[:64]).order_by("-revision").first()
    if used is None:
        return False
    if (used.body_hash or body_hash(used.values)) != digest:
        raise ApplicationError(KEY_REUSED, status_code=409,
                               extra={"fields": {"idempotency_key": "already used for a different answer"}})
    return True


def _finish_submit(task: RaterTask, active_seconds) -> None:
    _active_time_apply(task, active_seconds)
    if task.status != AssignmentStatus.SUBMITTED:
        task.status = AssignmentStatus.SUBMITTED
        task.submitted_at = timezone.now()
    task.draft = {}
    task.draft_saved_at = None
    task.save(update_fields=["status", "submitted_at", "draft", "draft_saved_at", "active_seconds", "updated_at"])


def _require_reason(reason: str) -> None:
    if not reason:
        raise ApplicationError(
            "This item was already submitted. To change the rating, give a reason for the change.",
            extra={"fields": {"reason": "Give a reason for the change."}}, status_code=409,
        )


def _create_once(create, fetch) -> tuple[Model, bool]:
    """Create the first version, or find that a concurrent request already did (where the database
    cannot lock the row, the one-to-one constraint is what stops the second)."""
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = fetch()
        if existing is None:
            raise
        return existing, False


# --------------------------------------------------------------------------------------------- ratings


def rating_values_clean(schema: dict, values) -> dict:
    """{dimension: {value, confidence, cannot_assess}} checked against the schema; every dimension
    needs a value or "cannot assess" (never both), and a confidence where the schema asks for one."""
    if not isinstance(values, dict):
        raise ApplicationError("Ratings must be given per dimension.", extra={"fields": {"values": "required"}})
    levels = schema.get("confidence_levels", [])
    errors, clean = {}, {}
    known = {d["key"] for d in schema["dimensions"]}
    for key in set(values) - known:
        errors[str(key)] = "Not part of this study's rating form."
    for dim in schema["dimensions"]:
        key, given = dim["key"], values.get(dim["key"]) or {}
        if not isinstance(given, dict):
            errors[key] = "Give a value or choose cannot assess."
            continue
        value = str(given.get("value") or "").strip()
        confidence = str(given.get("confidence") or "").strip()
        cannot = bool(given.get("cannot_assess"))
        choices = {c["value"] for c in dim["choices"]}
        if cannot and not dim.get("cannot_assess"):
            errors[key] = "\"Cannot assess\" is not offered for this question."
        elif cannot and value:
            errors[key] = "Choose a value or \"cannot assess\", not both."
        elif not cannot and value not in choices:
            errors[key] = f"Choose one of: {', '.join(c['label'] for c in dim['choices'])}." if value else \
                "Choose a value, or \"cannot assess\"."
        elif dim.get("confidence") and not cannot and confidence not in levels:
            errors[f"{key}__confidence"] = "Say how confident you are."
        elif confidence and (cannot or not dim.get("confidence")):
            confidence = ""  # no confidence in a judgement that was not made
        clean[key] = {"value": "" if cannot else value, "confidence": confidence, "cannot_assess": cannot}
    if errors:
        raise ApplicationError("Please complete the rating.", extra={"fields": errors})
    return clean


def _rating_snapshot(rating: Rating) -> dict:
    return {
        "values": {v.dimension: {"value": v.value, "confidence": v.confidence, "cannot_assess": v.cannot_assess}
                   for v in rating.values.all()},
        "comment": rating.comment, "is_dangerous": rating.is_dangerous,
        "dangerous_rationale": rating.dangerous_rationale,
    }


def rating_submit(*, assignment: Assignment, rater, values, comment: str = "", is_dangerous: bool = False,
                  dangerous_rationale: str = "", reason: str = "", idempotency_key: str = "",
                  active_seconds=None) -> Rating:
    form = {"values": values, "comment": comment, "is_dangerous": is_dangerous,
            "dangerous_rationale": dangerous_rationale, "reason": reason}
    first = assignment.status in (AssignmentStatus.PENDING, AssignmentStatus.IN_PROGRESS)  # as last read
    if first and connection.vendor == "postgresql" and not is_dangerous and not reason:
        rating = _rating_first_write(assignment, rater, form, idempotency_key[:64], active_seconds)
        if rating is not None:
            return rating
    return _rating_submit_locked(assignment, rater, form, idempotency_key, active_seconds)


def _rating_form_clean(schema: dict, form: dict) -> tuple[dict, str]:
    """The submission as stored (values checked against the schema) and the reason for a change."""
    errors: dict = {}
    comment = _text(form["comment"], "comment", errors)
    rationale = _text(form["dangerous_rationale"], "dangerous_rationale", errors)
    reason = _text(form["reason"], "reason", errors)
    if form["is_dangerous"] and not rationale:
        errors["dangerous_rationale"] = "Say why this output is dangerous."
    if comment and not schema.get("comment", True):
        errors["comment"] = "This study's form has no comment."
    try:
        clean = rating_values_clean(schema, form["values"])
    except ApplicationError as exc:
        errors = {**exc.extra.get("fields", {}), **errors}
    if errors:
        raise ApplicationError("Please complete the rating.", extra={"fields": errors})
    snapshot = {"values": clean, "comment": comment, "is_dangerous": bool(form["is_dangerous"]),
                "dangerous_rationale": rationale if form["is_dangerous"] else ""}
    return snapshot, reason


@transaction.atomic
def _rating_submit_locked(assignment: Assignment, rater, form: dict, idempotency_key: str, active_seconds) -> Rating:
    task = _lock_task(assignment, rater)
    snapshot, reason = _rating_form_clean(study_schema(task.study), form)
    clean = snapshot["values"]
    digest = body_hash(snapshot)

    rating = _stored_answer(task)
    if rating is None:
        rating, created = _create_once(lambda: _rating_create(task, snapshot), lambda: Rating.objects.filter(
            assignment=task).first())
        if created:
            RatingRevision.objects.create(rating=rating, revision=1, values=snapshot, changed_by=rater,
                                          idempotency_key=idempotency_key[:64], body_hash=digest)
            _finish_submit(task, active_seconds)
            safety_alert_raise(rating=rating)
            return rating
    if _rating_snapshot(rating) == snapshot or _replayed(rating.revisions, idempotency_key, digest):
        return rating  # a retry, a double click or a second tab with the same answer
    _require_reason(reason)
    rating.revision += 1
    rating.comment, rating.is_dangerous = snapshot["comment"], snapshot["is_dangerous"]
    rating.dangerous_rationale = snapshot["dangerous_rationale"]
    rating.save()
    rating.values.all().delete()
    RatingValue.objects.bulk_create(_value_rows(rating, clean))
    RatingRevision.objects.create(rating=rating, revision=rating.revision, values=snapshot, changed_by=rater,
                                  reason=reason, idempotency_key=idempotency_key[:64], body_hash=digest)
    _finish_submit(task, active_seconds)
    safety_alert_raise(rating=rating)
    return rating


def _value_rows(rating: Rating, clean: dict) -> list[RatingValue]:
    return [RatingValue(rating=rating, dimension=k, value=v["value"], confidence=v["confidence"],
                        cannot_assess=v["cannot_assess"]) for k, v in clean.items()]


@functools.cache
def _first_write_sql() -> str:
    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    return f"""
    WITH task AS (
        SELECT x.id, x.active_seconds, x.updated_at
        FROM {table(Assignment)} x JOIN {table(Study)} s ON s.id = x.study_id
        WHERE x.id = %(task)s AND x.rater_id = %(rater)s AND x.status IN (%(pending)s, %(in_progress)s)
          AND s.status = %(rating)s AND NOT EXISTS (
              SELECT 1 FROM {table(StudyRater)} e WHERE e.study_id = x.study_id AND e.rater_id = %(rater)s
              AND NOT e.is_active)
        FOR UPDATE OF x FOR SHARE OF s
    ), r AS (
        INSERT INTO {table(Rating)} (created_at, updated_at, assignment_id, comment, is_dangerous,
                                     dangerous_rationale, dangerous_notified_at, revision)
        SELECT %(now)s, %(now)s, task.id, %(comment)s, FALSE, '', NULL, 1 FROM task
        ON CONFLICT (assignment_id) DO NOTHING RETURNING id
    ), v AS (
        INSERT INTO {table(RatingValue)} (rating_id, dimension, value, confidence, cannot_assess)
        SELECT r.id, x.dimension, x.value, x.confidence, x.cannot_assess
        FROM r, jsonb_to_recordset(%(values)s::jsonb)
             AS x(dimension text, value text, confidence text, cannot_assess boolean)
    ), rev AS (
        INSERT INTO {table(RatingRevision)} (rating_id, revision, values, changed_by_id, reason, idempotency_key,
                                             body_hash, created_at)
        SELECT r.id, 1, %(snapshot)s::jsonb, %(rater)s, '', %(key)s, %(digest)s, %(now)s FROM r
    ), t AS (
        UPDATE {table(Assignment)} SET status = %(submitted)s, submitted_at = %(now)s, draft = '{{}}'::jsonb,
               draft_saved_at = NULL, updated_at = %(now)s, active_seconds = CASE
                   WHEN %(reported)s::float8 IS NULL THEN task.active_seconds
                   ELSE GREATEST(task.active_seconds, LEAST(%(reported)s::float8, task.active_seconds
                        + EXTRACT(EPOCH FROM %(now)s - task.updated_at)::float8 + %(slack)s)) END
        FROM task WHERE {table(Assignment)}.id = task.id AND EXISTS (SELECT 1 FROM r)
        RETURNING {table(Assignment)}.active_seconds
    )
    SELECT r.id, (SELECT active_seconds FROM t) FROM r"""


def _rating_first_write(task: Assignment, rater, form: dict, key: str, active_seconds) -> Rating | None:
    """PostgreSQL, the clinician's most frequent request: a complete first submission as ONE statement that
    locks the item, checks that it is still open to this clinician (item, enrolment, study), and writes the
    rating, its values, revision 1 and the item's status. None whenever that is not the whole story (a
    rating already stored, a withdrawal, a closed study, invalid input...): the locked path then decides,
    with its precise errors. Dangerous ratings take the locked path (their alert is written alongside)."""
    if not user_has_role(rater, CLINICIAN):
        return None
    try:
        snapshot, _ = _rating_form_clean(study_schema(task.study), form)
        reported = _active_seconds_value(active_seconds)
    except ApplicationError:
        return None
    now = timezone.now()
    with prepared_cursor(connection) as cursor:
        cursor.execute(_first_write_sql(), {
            "task": task.pk, "rater": rater.pk, "now": now, "comment": snapshot["comment"],
            "values": json.dumps([{"dimension": k, **v} for k, v in snapshot["values"].items()]),
            "snapshot": json.dumps(snapshot), "key": key, "digest": body_hash(snapshot), "reported": reported,
            "slack": ACTIVE_TIME_SLACK_SECONDS, "pending": AssignmentStatus.PENDING.value,
            "in_progress": AssignmentStatus.IN_PROGRESS.value, "submitted": AssignmentStatus.SUBMITTED.value,
            "rating": StudyStatus.RATING.value,
        })
        row = cursor.fetchone()
    if row is None:
        return None
    task.status, task.submitted_at, task.updated_at, task.active_seconds = AssignmentStatus.SUBMITTED, now, now, row[1]
    task.draft, task.draft_saved_at = {}, None
    rating = Rating(pk=row[0], assignment=task, comment=snapshot["comment"], revision=1, created_at=now,
                    updated_at=now)
    rating._state.adding, rating._state.db = False, connection.alias
    return rating


def _rating_create(task: Assignment, snapshot: dict) -> Rating:
    rating = Rating.objects.create(assignment=task, comment=snapshot["comment"], is_dangerous=snapshot["is_dangerous"],
                                   dangerous_rationale=snapshot["dangerous_rationale"])
    RatingValue.objects.bulk_create(_value_rows(rating, snapshot["values"]))
    return rating


# --------------------------------------------------------------------------------------------- preferences


def _preference_snapshot(preference: Preference) -> dict:
    return {"choice": preference.choice, "confidence": preference.confidence, "comment": preference.comment}


@transaction.atomic
def preference_submit(*, assignment: PreferenceAssignment, rater, side: str, confidence: str, comment: str = "",
                      reason: str = "", idempotency_key: str = "", active_seconds=None) -> Preference:
    """`side` is what the clinician saw (left, right, tie, both_unsafe); it is stored as a/b."""
    task = _lock_task(assignment, rater)
    errors: dict = {}
    levels = study_schema(task.study).get("confidence_levels", [])
    if side not in PREFERENCE_SIDES:
        errors["side"] = "Choose A, B, tie or both unsafe."
    if confidence not in levels:
        errors["confidence"] = "Say how confident you are."
    comment = _text(comment, "comment", errors)
    reason = _text(reason, "reason", errors)
    if errors:
        raise ApplicationError("Please complete the comparison.", extra={"fields": errors})
    choice = {"left": PreferenceChoice.A if task.left_is_a else PreferenceChoice.B,
              "right": PreferenceChoice.B if task.left_is_a else PreferenceChoice.A}.get(side, side)
    snapshot = {"choice": str(choice), "confidence": confidence, "comment": comment}
    digest = body_hash(snapshot)

    preference = _stored_answer(task)
    if preference is None:
        preference, created = _create_once(
            lambda: Preference.objects.create(assignment=task, **snapshot),
            lambda: Preference.objects.filter(assignment=task).first(),
        )
        if created:
            PreferenceRevision.objects.create(preference=preference, revision=1, values=snapshot, changed_by=rater,
                                              idempotency_key=idempotency_key[:64], body_hash=digest)
            _finish_submit(task, active_seconds)
            return preference
    if _preference_snapshot(preference) == snapshot or _replayed(preference.revisions, idempotency_key, digest):
        return preference
    _require_reason(reason)
    preference.revision += 1
    preference.choice, preference.confidence, preference.comment = snapshot["choice"], confidence, comment
    preference.save()
    PreferenceRevision.objects.create(preference=preference, revision=preference.revision, values=snapshot,
                                      changed_by=rater, reason=reason, idempotency_key=idempotency_key[:64],
                                      body_hash=digest)
    _finish_submit(task, active_seconds)
    return preference
