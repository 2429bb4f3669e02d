"""Turning the pure planner's output into assignment rows, and keeping them balanced while a study runs.

`assignment_plan_for_study` is called when a study enters "rating" (studies.services.studies);
it is idempotent. `assignment_rebalance` runs after clinicians join or leave, or responses arrive.
"""
from __future__ import annotations

import itertools
import json
import logging
import secrets
from dataclasses import asdict, dataclass

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import CLINICIAN, user_has_role
from config.exceptions import ApplicationError
from studies.models import Response, Study, StudyStatus, opaque_code
from studies.services.audit import audit_record

from ..assignment import (
    Existing,
    Items,
    PlanConfig,
    PlanError,
    Rater,
    StrategyName,
    TaskState,
    pair_overlap,
    plan_assignments,
    rebalance_assignments,
)
from ..blinding import is_assignable
from ..models import AssignmentStatus, Comparison, PreferenceAssignment, StudyRater
from ..selectors.rating import task_model_for

logger = logging.getLogger(__name__)
User = get_user_model()

# Shared items every pair of clinicians gets under `pairwise_overlap`; smaller studies get as many
# as their size allows (at least one, or the plan is refused).
PAIR_OVERLAP_TARGET = 10
BATCH_SIZE = 5000


@dataclass(frozen=True)
class PlanSummary:
    created: int
    items: int
    raters: int
    strategy: str
    min_load: int
    max_load: int
    anchors: int
    repeats: int
    min_pair_overlap: int | None

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------- enrolment


def study_raters_ensure(*, study: Study) -> list[StudyRater]:
    """The study's active clinicians; a study nobody was enrolled in takes every active clinician."""
    if not StudyRater.objects.filter(study=study).exists():
        clinicians = User.objects.filter(is_active=True, groups__name=CLINICIAN).distinct().order_by("id")
        StudyRater.objects.bulk_create([StudyRater(study=study, rater=u) for u in clinicians], ignore_conflicts=True)
    return list(
        StudyRater.objects.filter(study=study, is_active=True, rater__is_active=True)
        .select_related("rater__rater_profile").order_by("rater_id")
    )


@transaction.atomic
def study_rater_add(*, study: Study, rater, actor=None) -> StudyRater:
    if not user_has_role(rater, CLINICIAN):
        raise ApplicationError(f"{rater.username} is not a clinician and cannot rate.")
    study_raters_ensure(study=study)
    enrolment, _ = StudyRater.objects.update_or_create(study=study, rater=rater, defaults={"is_active": True})
    audit_record(study=study, actor=actor, action="rater_enrolled", detail={"rater": rater.get_username()})
    if study.status == StudyStatus.RATING:
        assignment_rebalance(study=study)
    return enrolment


@transaction.atomic
def study_rater_remove(*, study: Study, rater, actor=None) -> StudyRater:
    study_raters_ensure(study=study)
    enrolment = StudyRater.objects.filter(study=study, rater=rater).first()
    if enrolment is None:
        raise ApplicationError(f"{rater.username} is not enrolled in this study.", status_code=404)
    enrolment.is_active = False
    enrolment.save(update_fields=["is_active", "updated_at"])
    audit_record(study=study, actor=actor, action="rater_withdrawn", detail={"rater": rater.get_username()})
    if study.status == StudyStatus.RATING:
        assignment_rebalance(study=study)
    return enrolment


# --------------------------------------------------------------------------------------------- items


def comparisons_ensure(*, study: Study) -> None:
    """Preference mode: pairs of responses to the same case. Each case's responses form one shuffled
    cycle, so every response is compared twice and the comparison graph of a case is connected (what a
    Bradley-Terry ranking needs). Idempotent: cases that already have comparisons are left alone."""
    done = set(Comparison.objects.filter(study=study).values_list("case_id", flat=True).distinct())
    by_case: dict[int, list[Response]] = {}
    for response in Response.objects.filter(study=study).order_by("id").only(
        "id", "case_id", "leaks_persona"
    ):
        if response.case_id not in done and is_assignable(response, study.leak_policy):
            by_case.setdefault(response.case_id, []).append(response.id)
    rng = np.random.default_rng([study.assignment_seed, 2])
    rows = []
    for case_id, ids in by_case.items():
        if len(ids) < 2:
            continue
        ids = rng.permutation(ids).tolist()
        pairs = [(ids[0], ids[1])] if len(ids) == 2 else [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))]
        rows += [Comparison(study=study, case_id=case_id, response_a_id=a, response_b_id=b) for a, b in pairs]
    Comparison.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)


def _study_items(study: Study) -> Items:
    if study.preference_mode:
        comparisons_ensure(study=study)
        rows = Comparison.objects.filter(study=study).values_list("id", "case_id", "case__task_type")
        return Items.from_rows(rows)
    responses = Response.objects.filter(study=study).values_list("id", "case_id", "case__task_type", "leaks_persona")
    hide = study.leak_policy == "hide"
    return Items.from_rows((rid, case, task) for rid, case, task, leaks in responses if not (hide and leaks))


def _raters(enrolments: list[StudyRater]) -> list[Rater]:
    raters = []
    for e in enrolments:
        profile = getattr(e.rater, "rater_profile", None)
        specialty, years = (profile.specialty, profile.years_in_practice) if profile else ("", 0)
        raters.append(Rater(e.rater_id, specialty, years))
    return raters


def _config(study: Study, raters: list[Rater], min_pair_overlap: int = 0) -> PlanConfig:
    if study.raters_per_response >= len(raters):
        strategy = StrategyName.EVERYONE
    elif study.pairwise_overlap:
        strategy = StrategyName.PAIRWISE
    else:
        strategy = StrategyName.BALANCED
    try:
        return PlanConfig(
            raters_per_item=study.raters_per_response, strategy=strategy, anchor_items=study.anchor_items,
            min_pair_overlap=min_pair_overlap, retest_fraction=study.retest_fraction,
            eligibility=study.eligibility or {}, seed=study.assignment_seed,
        )
    except PlanError as exc:
        raise ApplicationError(f"The study's assignment settings are invalid: {exc}") from exc


def _seed_ensure(study: Study) -> None:
    """A study plans from a stored seed, so its queues can be rebuilt exactly."""
    if not study.assignment_seed:
        study.assignment_seed = secrets.randbits(62) or 1
        study.save(update_fields=["assignment_seed", "updated_at"])


# --------------------------------------------------------------------------------------------- planning


@transaction.atomic
def assignment_plan_for_study(*, study: Study) -> PlanSummary:
    """Every response (or comparison) gets its clinicians. Running it again changes nothing."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    model = task_model_for(study)
    if model.objects.filter(study=study).exists():
        raters = _raters(study_raters_ensure(study=study))
        return _summary(study, created=0, strategy=_config(study, raters).strategy)
    _seed_ensure(study)
    raters = _raters(study_raters_ensure(study=study))
    if not raters:
        raise ApplicationError("No clinicians are enrolled in this study; add clinicians before rating starts.")
    items = _study_items(study)
    if not len(items):
        raise ApplicationError("There is nothing to rate: no responses can be shown under the study's leak policy.")
    plan = _plan(study, items, raters)
    _create_rows(study, model, plan.item_ids, plan.rater_ids, plan.positions, plan.is_anchor, plan.repeat_of)
    logger.info("planned %s assignments for study %s", len(plan), study.pk)
    return _summary(study, created=len(plan), strategy=_config(study, raters).strategy)


def _plan(study, items, raters):
    config = _config(study, raters)
    try:
        if config.strategy != StrategyName.PAIRWISE:
            return plan_assignments(items, raters, config)
        # As many shared items per pair as the study's size allows, up to the target.
        for m in range(PAIR_OVERLAP_TARGET, 0, -1):
            try:
                return plan_assignments(items, raters, _config(study, raters, min_pair_overlap=m))
            except PlanError as exc:
                if "guaranteeing" not in str(exc) or m == 1:
                    raise
    except PlanError as exc:
        raise ApplicationError(f"The assignments cannot be planned: {exc}") from exc


def _create_rows(study, model, item_ids, rater_ids, positions, is_anchor, repeat_of, *, existing_ids=None) -> None:
    """Insert planned rows: originals first, then repeats pointing at them. `repeat_of` holds row
    indices into existing_ids (rows already in the database) followed by the rows being created."""
    existing_ids = np.asarray([] if existing_ids is None else existing_ids, np.int64)
    item_field = "comparison_id" if model is PreferenceAssignment else "response_id"
    rng = np.random.default_rng([study.assignment_seed, len(existing_ids), len(item_ids)])
    sides = rng.random(len(item_ids)) < 0.5
    codes = [opaque_code() for _ in range(len(item_ids))]
    now = timezone.now()

    def rows(indices, repeat_ids=None):
        for n, i in enumerate(indices.tolist()):
            row = {"study_id": study.pk, "rater_id": int(rater_ids[i]), item_field: int(item_ids[i]),
                   "code": codes[i], "position": int(positions[i]), "is_anchor": bool(is_anchor[i]),
                   "is_calibration": False,
                   "status": AssignmentStatus.PENDING.value, "draft": {}, "active_seconds": 0.0,
                   "created_at": now, "updated_at": now}
            if model is PreferenceAssignment:
                row["left_is_a"] = bool(sides[i])
            if repeat_ids is not None:
                row["repeat_of_id"] = int(repeat_ids[n])
            yield row

    originals = np.flatnonzero(repeat_of < 0)
    _insert(model, rows(originals))
    repeats = np.flatnonzero(repeat_of >= 0)
    if not len(repeats):
        return
    targets = repeat_of[repeats]
    new_targets = targets[targets >= len(existing_ids)] - len(existing_ids)
    wanted = {codes[i] for i in new_targets.tolist()}
    new_ids = {}
    for chunk in _chunks(sorted(wanted), BATCH_SIZE):
        new_ids.update(model.objects.filter(study=study, code__in=chunk).values_list("code", "id"))
    repeat_ids = [int(existing_ids[t]) if t < len(existing_ids) else new_ids[codes[t - len(existing_ids)]]
                  for t in targets.tolist()]
    _insert(model, rows(repeats, repeat_ids))


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _insert(model, rows) -> None:
    """Many new rows at once. On PostgreSQL through COPY: building hundreds of thousands of model
    instances for bulk_create costs minutes of Python; COPY streams plain tuples. Every column is
    given, so no model default is skipped."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**first), *(model(**row) for row in rows)], batch_size=BATCH_SIZE)
        return
    names = list(first)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    json_fields = {n for n in names if n == "draft"}
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in itertools.chain([first], rows):
            copy.write_row([json.dumps(row[n]) if n in json_fields else row[n] for n in names])


def _summary(study: Study, *, created: int, strategy: StrategyName) -> PlanSummary:
    model = task_model_for(study)
    rows = model.objects.filter(study=study).exclude(status=AssignmentStatus.WITHDRAWN)
    item_field = "comparison_id" if model is PreferenceAssignment else "response_id"
    primary = np.array(list(rows.filter(repeat_of__isnull=True).values_list(item_field, "rater_id", "is_anchor")),
                       np.int64).reshape(-1, 3)
    raters, overlap = pair_overlap(primary[:, 0], primary[:, 1])
    loads = np.unique(primary[:, 1], return_counts=True)[1]
    return PlanSummary(
        created=created, items=len(np.unique(primary[:, 0])), raters=len(raters), strategy=str(strategy),
        min_load=int(loads.min()) if len(loads) else 0, max_load=int(loads.max()) if len(loads) else 0,
        anchors=len(np.unique(primary[primary[:, 2] == 1, 0])),
        repeats=rows.filter(repeat_of__isnull=False).count(),
        min_pair_overlap=int(overlap[~np.eye(len(raters), dtype=bool)].min()) if len(raters) > 1 else None,
    )


# --------------------------------------------------------------------------------------------- rebalancing


@transaction.atomic
def assignment_rebalance(*, study: Study) -> PlanSummary:
    """Bring a running study's queues in line with its clinicians and items; only unseen work moves."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    model = task_model_for(study)
    if not model.objects.filter(study=study).exists():
        return assignment_plan_for_study(study=study)
    if study.status == StudyStatus.CLOSED:
        raise ApplicationError("The study is closed; its assignments can no longer change.", status_code=409)
    raters = _raters(study_raters_ensure(study=study))
    items = _study_items(study)
    item_field = "comparison_id" if model is PreferenceAssignment else "response_id"
    rows = list(
        model.objects.select_for_update().filter(study=study).exclude(status=AssignmentStatus.WITHDRAWN)
        .values_list("id", item_field, "rater_id", "position", "is_anchor", "repeat_of_id", "status", "first_shown_at")
        .order_by("id")
    )
    existing, ids = _existing(rows)
    config = _config(study, raters) if raters else None
    if config is None:
        raise ApplicationError("No clinicians are left in this study; their work cannot be moved.")
    if config.strategy == StrategyName.PAIRWISE:
        config = PlanConfig(**{**asdict(config), "strategy": StrategyName.BALANCED})  # overlap: planned at start
    try:
        result = rebalance_assignments(items, raters, existing, config)
    except PlanError as exc:
        raise ApplicationError(f"The assignments cannot be rebalanced: {exc}") from exc
    if not result.changed:
        return _summary(study, created=0, strategy=config.strategy)

    drop_ids = ids[result.drop]
    # Repeats before their originals (repeat_of is PROTECT).
    model.objects.filter(pk__in=drop_ids.tolist(), repeat_of__isnull=False).delete()
    model.objects.filter(pk__in=drop_ids.tolist()).delete()
    model.objects.filter(pk__in=ids[result.withdraw].tolist()).update(status=AssignmentStatus.WITHDRAWN)
    moved = model.objects.in_bulk(ids[result.moved_rows].tolist())
    for pk, position in zip(ids[result.moved_rows].tolist(), result.moved_positions.tolist(), strict=True):
        moved[pk].position = position
    model.objects.bulk_update(moved.values(), ["position"], batch_size=BATCH_SIZE)
    _create_rows(study, model, result.new_item_ids, result.new_rater_ids, result.new_positions,
                 result.new_is_anchor, result.new_repeat_of, existing_ids=ids)
    logger.info("rebalanced study %s: %s dropped, %s withdrawn, %s new", study.pk, len(result.drop),
                len(result.withdraw), len(result.new_item_ids))
    return _summary(study, created=len(result.new_item_ids), strategy=config.strategy)


def _existing(rows) -> tuple[Existing, np.ndarray]:
    ids = np.array([r[0] for r in rows], np.int64)
    index = {pk: n for n, pk in enumerate(ids.tolist())}
    state = np.array(
        [TaskState.SUBMITTED if r[6] == AssignmentStatus.SUBMITTED
         else TaskState.STARTED if (r[6] == AssignmentStatus.IN_PROGRESS or r[7] is not None)
         else TaskState.PENDING for r in rows], np.int8,
    )
    repeat_of = np.array([index.get(r[5], -1) if r[5] else -1 for r in rows], np.int64)
    # An original whose repeat was already seen (clinicians may open their items out of order) stays put.
    seen_repeat = (repeat_of >= 0) & (state > TaskState.PENDING)
    np.maximum.at(state, repeat_of[seen_repeat], TaskState.STARTED)
    existing = Existing(
        item_ids=np.array([r[1] for r in rows], np.int64), rater_ids=np.array([r[2] for r in rows], np.int64),
        positions=np.array([r[3] for r in rows], np.int64), is_anchor=np.array([r[4] for r in rows], bool),
        repeat_of=repeat_of, state=state,
    )
    return existing, ids


def assignments_plan_on_rating(*, study: Study, to_status: str, **_) -> None:
    """`study_status_changed` receiver: entering "rating" plans the assignments, in the same transaction, and
    once that has committed, has the study's texts rendered in the background (blinding.study_texts_render)."""
    if to_status == StudyStatus.RATING:
        assignment_plan_for_study(study=study)
        transaction.on_commit(lambda: _texts_prerender_enqueue(study.pk))


def _texts_prerender_enqueue(study_id: int) -> None:
    """A broker that is down costs only the head start: each text then renders on its first view."""
    from ..tasks import study_texts_prerender

    try:
        study_texts_prerender.delay(study_id)
    except Exception:  # noqa: BLE001 - an optimisation, never an error for whoever opened the study
        logger.exception("texts of study %s could not be handed to the task queue", study_id)
