"""Studies: create/update with validation from the declared shapes (studies.shapes), and the lifecycle.

Lifecycle: draft -> generating -> rating -> closed (and generating -> draft while nothing was
generated). What can still be edited narrows with each step (EDITABLE_BY_STATUS). The no-persona
baseline is part of every study. The apps above take part through studies.signals: generation
jobs block leaving "generating", and entering "rating" plans the assignments, in one transaction.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError
from config.services import model_update

from ..models import MemberRole, Study, StudyMember, StudyStatus
from ..permissions import study_can
from ..shapes import RATING_SCHEMA, STUDY_SETTINGS, problems
from ..signals import study_status_changed, study_transition_check
from .audit import audit_record
from .personas import persona_baseline

STUDY_TRANSITIONS = {
    StudyStatus.DRAFT: (StudyStatus.GENERATING,),
    StudyStatus.GENERATING: (StudyStatus.RATING, StudyStatus.DRAFT),
    StudyStatus.RATING: (StudyStatus.CLOSED,),
    StudyStatus.CLOSED: (),
}
OPTION_FIELDS = ("description", "raters_per_response", "anchor_items", "pairwise_overlap", "retest_fraction",
                 "eligibility", "preference_mode", "leak_policy", "assignment_seed", "safety_lead_email",
                 "rater_title", "rater_instructions", "calibration_items")
# What clinicians read about the study: wording can still be corrected while they rate.
RATER_TEXT_FIELDS = ("rater_title", "rater_instructions")
GRID_FIELDS = ("case_sets", "personas", "model_specs", "rating_schema", "task_instructions")
STUDY_FIELDS = ("name", *OPTION_FIELDS, *GRID_FIELDS, "judge", "extra_judges")
EDITABLE_BY_STATUS = {
    StudyStatus.DRAFT: STUDY_FIELDS,
    StudyStatus.GENERATING: ("name", *OPTION_FIELDS, "judge", "extra_judges"),
    StudyStatus.RATING: ("name", "description", "safety_lead_email", "judge", "extra_judges", *RATER_TEXT_FIELDS),
    StudyStatus.CLOSED: ("name", "description", *RATER_TEXT_FIELDS),
}
M2M_FIELDS = ("case_sets", "personas", "model_specs", "extra_judges")


def rating_schema_problems(schema: dict) -> list[str]:
    """What is wrong with a rating schema (studies.shapes.RATING_SCHEMA); [] when valid."""
    found = [message for messages in problems(RATING_SCHEMA, schema).values() for message in messages]
    dims = schema.get("dimensions") if isinstance(schema, dict) else None
    if not isinstance(dims, list):
        return found
    dims = [dim if isinstance(dim, dict) else {} for dim in dims]
    keys = [dim.get("key") for dim in dims]
    for i, dim in enumerate(dims, start=1):
        if isinstance(keys[i - 1], str) and keys[i - 1] in keys[:i - 1]:
            found.append(f"dimension {i}: key {keys[i - 1]!r} is used twice")
        choices = dim.get("choices") if isinstance(dim.get("choices"), list) else []
        values = [c.get("value") for c in choices if isinstance(c, dict)]
        if len(set(map(str, values))) != len(values):
            found.append(f"dimension {i}: choice values must be distinct")
    return found


def _name_problem(data: dict) -> str | None:
    data["name"] = (data["name"] or "").strip()
    return None if data["name"] and len(data["name"]) <= 200 else "is required (at most 200 characters)"


def _email_problem(value: str) -> str | None:
    try:
        validate_email(value)
    except ValidationError:
        return "is not an email address"
    return None


def _calibration_problem(data: dict, study: Study | None) -> str | None:
    """Calibration items are taken from the anchor items, so there cannot be more of them."""
    calibration = data.get("calibration_items", study.calibration_items if study else 0)
    anchors = data.get("anchor_items", study.anchor_items if study else 0)
    if isinstance(calibration, int) and isinstance(anchors, int) and calibration > anchors:
        return f"must be at most the number of anchor items ({anchors}): calibration items are anchor items"
    return None


def _rater_title_problem(data: dict) -> str | None:
    data["rater_title"] = (data["rater_title"] or "").strip()
    return None if len(data["rater_title"]) <= 200 else "must be at most 200 characters"


def _extra_judges_problem(data: dict, study: Study | None) -> str | None:
    """Extra judges are judge specs, and the study's own judge is not one of them (each judge scores once)."""
    saved = study is not None and study.pk is not None
    extras = list(data["extra_judges"] if "extra_judges" in data else study.extra_judges.all() if saved else [])
    primary = data["judge"] if "judge" in data else study.judge if saved else None
    not_judges = [spec.name for spec in extras if not spec.is_judge]
    if not_judges:
        return f"must be judge model specs (is_judge with a rubric prompt); not judges: {', '.join(not_judges)}"
    if primary is not None and primary in extras:
        return f"must not repeat the study's own judge '{primary.name}'"
    return None


def study_clean(data: dict, study: Study | None = None) -> dict:
    found = {key: "; ".join(messages) for key, messages in problems(STUDY_SETTINGS, data).items()}
    checks = (
        ("name", "name" in data and _name_problem(data)),
        ("rater_title", "rater_title" in data and _rater_title_problem(data)),
        ("calibration_items", "calibration_items" not in found and _calibration_problem(data, study)),
        ("safety_lead_email", bool(data.get("safety_lead_email")) and _email_problem(data["safety_lead_email"])),
        ("rating_schema", bool(data.get("rating_schema")) and "; ".join(rating_schema_problems(data["rating_schema"]))),
        ("judge", data.get("judge") is not None and not data["judge"].is_judge
         and f"'{data['judge'].name}' is not a judge model spec (is_judge with a rubric prompt)"),
        ("extra_judges", ("extra_judges" in data or "judge" in data) and _extra_judges_problem(data, study)),
    )
    found.update({key: problem for key, problem in checks if problem})
    if found:
        raise ApplicationError(
            "Invalid study: " + "; ".join(f"{k} {v}" for k, v in found.items()), extra={"fields": found}
        )
    return data


def _apply(study: Study, data: dict) -> list[str]:
    """Save the changes; returns the names of the fields that changed (a many-to-many only if its set did)."""
    before = {name: _ids(study, name) for name in M2M_FIELDS if name in data and study.pk}
    try:
        with transaction.atomic():
            changed = model_update(instance=study, fields=STUDY_FIELDS, data=data, m2m=M2M_FIELDS)[1]
    except IntegrityError:
        raise ApplicationError(f"A study named '{study.name}' exists already.") from None
    study_ensure_baseline(study=study)
    return [name for name in changed if name not in before or _ids(study, name) != before[name]]


def _ids(study: Study, name: str) -> set[int]:
    return set(getattr(study, name).values_list("pk", flat=True))


def study_ensure_baseline(*, study: Study) -> None:
    """Every study compares its personas with the no-persona baseline."""
    if not study.personas.filter(is_baseline=True).exists():
        study.personas.add(persona_baseline())


def _refuse_unknown(fields: dict) -> None:
    unknown = sorted(set(fields) - set(STUDY_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown study field(s): {', '.join(unknown)}.")


@transaction.atomic
def study_create(*, name: str, owner=None, **fields) -> Study:
    _refuse_unknown(fields)
    data = study_clean({"name": name, **fields})
    study = Study(owner=owner)
    _apply(study, data)
    audit_record(study=study, actor=owner, action="study_created", detail={"name": study.name})
    if owner is not None:
        StudyMember.objects.create(study=study, user=owner, role=MemberRole.OWNER, added_by=owner)
    return study


@transaction.atomic
def study_update(*, study: Study, actor=None, **fields) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    _refuse_unknown(fields)
    locked = sorted(set(fields) - set(EDITABLE_BY_STATUS[study.status]))
    if locked:
        raise ApplicationError(
            f"'{study.name}' is {study.get_status_display().lower()}: {', '.join(locked)} can no longer change.",
            extra={"fields": {f: "locked" for f in locked}},
        )
    if study.status == StudyStatus.RATING and "safety_lead_email" in fields and not fields["safety_lead_email"]:
        raise ApplicationError("A study in rating needs its safety contact: give another address instead.",
                               extra={"fields": {"safety_lead_email": "required while the study is rating"}})
    schema_before = study.rating_schema
    changed = _apply(study, study_clean(dict(fields), study))
    if changed:
        audit_record(study=study, actor=actor, action="study_updated", detail={"changed": changed})
    if "rating_schema" in changed:
        audit_record(study=study, actor=actor, action="rating_schema_changed",
                     detail={"before": schema_before, "after": study.rating_schema})
    return study


def _transition_problem(study: Study, to_status: str) -> str | None:
    if to_status == StudyStatus.GENERATING:
        missing = [what for what, ok in (
            ("a case set with cases", study.case_sets.filter(cases__isnull=False).exists()),
            ("a model", study.model_specs.exists()),
        ) if not ok]
        return f"the study needs {' and '.join(missing)} before generation" if missing else None
    for _receiver, problem in study_transition_check.send(sender=Study, study=study, to_status=to_status):
        if problem:
            return problem
    if to_status == StudyStatus.RATING and not study.responses.exists():
        return "no responses have been generated or imported yet"
    if to_status == StudyStatus.DRAFT and study.responses.exists():
        return f"{study.responses.count():,} responses exist already; a study with responses cannot go back to draft"
    return None


@transaction.atomic
def study_transition(*, study: Study, to_status: str, user) -> Study:
    """Move a study along its lifecycle; entering "rating" plans the clinicians' assignments."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if not study_can(user, study, "manage"):
        raise ApplicationError("Only the study's admins can change its status.", status_code=403)
    if to_status not in STUDY_TRANSITIONS.get(study.status, ()):
        allowed = ", ".join(STUDY_TRANSITIONS[study.status]) or "none (closed is final)"
        raise ApplicationError(
            f"'{study.name}' cannot go from {study.status} to {to_status}; allowed: {allowed}.", status_code=409
        )
    problem = _transition_problem(study, to_status)
    if problem:
        raise ApplicationError(f"'{study.name}' cannot move to {to_status}: {problem}.", status_code=409)
    from_status, study.status = study.status, to_status
    study.save(update_fields=["status", "updated_at"])
    study_status_changed.send(sender=Study, study=study, from_status=from_status, to_status=to_status)
    audit_record(study=study, actor=user, action="study_transition", detail={"from": from_status, "to": to_status})
    return study
