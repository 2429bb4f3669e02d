"""Model specs and studies: create/update with validation, the lifecycle, and export/import as one file.

Lifecycle: draft -> generating -> rating -> closed (and generating -> draft while nothing was
generated). What can still be edited narrows with each step (EDITABLE_BY_STATUS). The no-persona
baseline is part of every study. Moving to "rating" plans the assignments in the same transaction.

Export format ("configuration as code"): case sets by name + version + content hash (their cases
travel as their own files), personas by slug + version with their full text, model specs in full,
the rating schema and every option. Import recreates the study as a draft elsewhere.
"""
from __future__ import annotations

import json
import math
from urllib.parse import urlsplit

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Specialty
from accounts.roles import ADMIN, user_has_role
from config.exceptions import ApplicationError

from ..models import Backend, CaseSet, LeakPolicy, ModelSpec, Persona, Study, StudyStatus, TaskType
from ..schema import CONFIDENCE_LEVELS, study_schema
from ..signals import study_status_changed, study_transition_check
from .personas import CONTENT_FIELDS as PERSONA_FIELDS
from .personas import persona_baseline, persona_clean

# --------------------------------------------------------------------------------------------- model specs

MODEL_SPEC_FIELDS = ("name", "backend", "model_path", "revision", "api_base", "temperature", "top_p", "max_tokens",
                     "seed", "samples_per_prompt", "engine_options", "is_judge", "rubric_prompt")
# What a generated response or judge score depends on: frozen once the spec has produced any.
MODEL_SPEC_OUTPUT_FIELDS = ("backend", "model_path", "revision", "temperature", "top_p", "max_tokens", "seed",
                            "samples_per_prompt", "engine_options", "is_judge", "rubric_prompt")
LIMITS = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "max_tokens": (1, 131_072), "seed": (0, 2**63 - 1),
          "samples_per_prompt": (1, 100)}


def _number(value, field: str, *, integer: bool, problems: dict):
    low, high = LIMITS[field]
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(value) if integer else float(value)
        if integer and number != float(value):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        problems[field] = f"must be {'a whole number' if integer else 'a number'}"
        return value
    if not math.isfinite(number) or not low <= number <= high or (field == "top_p" and number == 0):
        span = f"between {low} and {high}" if field != "top_p" else "greater than 0 and at most 1"
        problems[field] = f"must be {span} (got {value})"
    return number


def model_spec_clean(data: dict) -> dict:
    """Validated model-spec fields (sampling parameters included); raises ApplicationError with every problem."""
    data = {**{f: getattr(ModelSpec(), f) for f in MODEL_SPEC_FIELDS}, **data}
    problems = {}
    for key in ("name", "model_path", "revision", "api_base", "rubric_prompt"):
        data[key] = (data.get(key) or "").strip()
    if not data["name"]:
        problems["name"] = "is required"
    if data["backend"] not in Backend.values:
        problems["backend"] = f"{data['backend']!r} is not one of {', '.join(Backend.values)}"
    if not data["model_path"]:
        problems["model_path"] = "is required (hub id, local path or served model name)"
    if data["backend"] == Backend.OPENAI and not data["api_base"]:
        problems["api_base"] = "is required for an OpenAI-compatible server (e.g. http://gpu:8000/v1)"
    if data["api_base"]:
        # Not Django's URLValidator: it refuses the bare host names of docker services (http://vllm:8000/v1).
        url = urlsplit(data["api_base"])
        if url.scheme not in ("http", "https") or not url.hostname or " " in data["api_base"]:
            problems["api_base"] = "must be an http(s) URL such as http://gpu:8000/v1"
    for key, integer in (("temperature", False), ("top_p", False), ("max_tokens", True), ("seed", True),
                         ("samples_per_prompt", True)):
        data[key] = _number(data[key], key, integer=integer, problems=problems)
    if not isinstance(data["engine_options"], dict):
        problems["engine_options"] = "must be an object of engine arguments"
    data["is_judge"] = bool(data["is_judge"])
    if data["is_judge"] and not data["rubric_prompt"]:
        problems["rubric_prompt"] = "is required for a judge"
    if problems:
        raise ApplicationError(
            "Invalid model spec: " + "; ".join(f"{k} {v}" for k, v in problems.items()), extra={"fields": problems}
        )
    return data


@transaction.atomic
def model_spec_create(**fields) -> ModelSpec:
    data = model_spec_clean(fields)
    if ModelSpec.objects.filter(name=data["name"]).exists():
        raise ApplicationError(f"A model spec named '{data['name']}' exists already.")
    return ModelSpec.objects.create(**data)


def model_spec_is_frozen(spec: ModelSpec) -> bool:
    return (spec.responses.exists() or spec.judge_scores.exists()
            or spec.studies.exclude(status=StudyStatus.DRAFT).exists()
            or spec.judged_studies.exclude(status=StudyStatus.DRAFT).exists())


def model_spec_check_update(spec: ModelSpec, changes: dict) -> tuple[dict, list[str]]:
    """(validated fields, names that change); refuses changes to what stored outputs depend on."""
    data = model_spec_clean({**{f: getattr(spec, f) for f in MODEL_SPEC_FIELDS}, **changes})
    changed = [f for f in MODEL_SPEC_FIELDS if getattr(spec, f) != data[f]]
    frozen = [f for f in changed if f in MODEL_SPEC_OUTPUT_FIELDS]
    if frozen and model_spec_is_frozen(spec):
        raise ApplicationError(
            f"'{spec.name}' has produced responses or belongs to a running study, so {', '.join(frozen)} cannot "
            "change (the stored outputs depend on them). Create a new model spec instead.",
            extra={"fields": {f: "frozen: create a new model spec" for f in frozen}},
        )
    if "name" in changed and ModelSpec.objects.filter(name=data["name"]).exclude(pk=spec.pk).exists():
        raise ApplicationError(f"A model spec named '{data['name']}' exists already.",
                               extra={"fields": {"name": "is taken"}})
    return data, changed


@transaction.atomic
def model_spec_update(*, model_spec: ModelSpec, **changes) -> ModelSpec:
    unknown = sorted(set(changes) - set(MODEL_SPEC_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown model spec field(s): {', '.join(unknown)}.")
    spec = ModelSpec.objects.select_for_update().get(pk=model_spec.pk)
    data, changed = model_spec_check_update(spec, changes)
    for key in changed:
        setattr(spec, key, data[key])
    if changed:
        spec.save()
    return spec


# --------------------------------------------------------------------------------------------- studies

STUDY_TRANSITIONS = {
    StudyStatus.DRAFT: (StudyStatus.GENERATING,),
    StudyStatus.GENERATING: (StudyStatus.RATING, StudyStatus.DRAFT),
    StudyStatus.RATING: (StudyStatus.CLOSED,),
    StudyStatus.CLOSED: (),
}
OPTION_FIELDS = ("description", "raters_per_response", "anchor_items", "pairwise_overlap", "retest_fraction",
                 "eligibility", "preference_mode", "leak_policy", "assignment_seed", "safety_lead_email")
GRID_FIELDS = ("case_sets", "personas", "model_specs", "rating_schema", "task_instructions")
STUDY_FIELDS = ("name", *OPTION_FIELDS, *GRID_FIELDS, "judge")
EDITABLE_BY_STATUS = {
    StudyStatus.DRAFT: STUDY_FIELDS,
    StudyStatus.GENERATING: ("name", *OPTION_FIELDS, "judge"),
    StudyStatus.RATING: ("name", "description", "safety_lead_email", "judge"),
    StudyStatus.CLOSED: ("name", "description"),
}
M2M_FIELDS = ("case_sets", "personas", "model_specs")


def rating_schema_problems(schema: dict) -> list[str]:
    """What is wrong with a rating schema (see studies/schema.py for the shape); [] when valid."""
    if not isinstance(schema, dict):
        return ["the rating schema must be an object"]
    dims = schema.get("dimensions")
    if not isinstance(dims, list) or not dims:
        return ["dimensions must be a non-empty list"]
    problems, keys = [], set()
    for i, dim in enumerate(dims, start=1):
        if not isinstance(dim, dict):
            problems.append(f"dimension {i} must be an object")
            continue
        key = dim.get("key")
        if not isinstance(key, str) or not key.isidentifier():
            problems.append(f"dimension {i}: key must be an identifier such as 'safety'")
        elif key in keys:
            problems.append(f"dimension {i}: key {key!r} is used twice")
        keys.add(key)
        if not isinstance(dim.get("label"), str) or not dim["label"].strip():
            problems.append(f"dimension {i}: label is required")
        if dim.get("kind") not in ("categorical", "ordinal"):
            problems.append(f"dimension {i}: kind must be categorical or ordinal")
        choices = dim.get("choices")
        values = [c.get("value") for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
        if len(values) < 2 or len(values) != len(choices) or not all(isinstance(v, str) and v for v in values):
            problems.append(f"dimension {i}: choices must be at least two {{value, label}} objects")
        elif len(set(values)) != len(values):
            problems.append(f"dimension {i}: choice values must be distinct")
        for flag in ("confidence", "cannot_assess"):
            if not isinstance(dim.get(flag, False), bool):
                problems.append(f"dimension {i}: {flag} must be true or false")
    levels = schema.get("confidence_levels", CONFIDENCE_LEVELS)
    if not isinstance(levels, list) or len(levels) < 2 or not all(isinstance(v, str) and v for v in levels):
        problems.append("confidence_levels must be a list of at least two labels")
    if not isinstance(schema.get("comment", True), bool):
        problems.append("comment must be true or false")
    return problems


def study_clean(data: dict) -> dict:
    problems = {}
    if "name" in data:
        data["name"] = (data["name"] or "").strip()
        if not data["name"] or len(data["name"]) > 200:
            problems["name"] = "is required (at most 200 characters)"
    for key, low in (("raters_per_response", 1), ("anchor_items", 0)):
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < low
                            or data[key] > 32767):
            problems[key] = f"must be a whole number of at least {low}"
    if "assignment_seed" in data and (isinstance(data["assignment_seed"], bool)
                                      or not isinstance(data["assignment_seed"], int)
                                      or not 0 <= data["assignment_seed"] < 2**63):
        problems["assignment_seed"] = "must be a whole number from 0"
    if "retest_fraction" in data:
        value = data["retest_fraction"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.5:
            problems["retest_fraction"] = "must be between 0 and 0.5"
    if "leak_policy" in data and data["leak_policy"] not in LeakPolicy.values:
        problems["leak_policy"] = f"must be one of {', '.join(LeakPolicy.values)}"
    if data.get("safety_lead_email"):
        try:
            validate_email(data["safety_lead_email"])
        except ValidationError:
            problems["safety_lead_email"] = "is not an email address"
    if "eligibility" in data:
        problem = _eligibility_problem(data["eligibility"])
        if problem:
            problems["eligibility"] = problem
    if "task_instructions" in data:
        ti = data["task_instructions"]
        if not isinstance(ti, dict) or any(k not in TaskType.values or not isinstance(v, str) for k, v in ti.items()):
            problems["task_instructions"] = f"must map task types ({', '.join(TaskType.values)}) to text"
    if data.get("rating_schema"):
        schema_problems = rating_schema_problems(data["rating_schema"])
        if schema_problems:
            problems["rating_schema"] = "; ".join(schema_problems)
    if data.get("judge") is not None and not data["judge"].is_judge:
        problems["judge"] = f"'{data['judge'].name}' is not a judge model spec (is_judge with a rubric prompt)"
    if problems:
        raise ApplicationError(
            "Invalid study: " + "; ".join(f"{k} {v}" for k, v in problems.items()), extra={"fields": problems}
        )
    return data


def _eligibility_problem(value) -> str | None:
    shape = "must map task types to {\"specialties\": [...], \"min_years\": n}"
    if not isinstance(value, dict):
        return shape
    for task_type, rule in value.items():
        if task_type not in TaskType.values or not isinstance(rule, dict) or set(rule) - {"specialties", "min_years"}:
            return shape
        specialties = rule.get("specialties", [])
        if not isinstance(specialties, list) or any(s not in Specialty.values for s in specialties):
            return f"{task_type}: specialties must be among {', '.join(Specialty.values)}"
        years = rule.get("min_years", 0)
        if isinstance(years, bool) or not isinstance(years, int) or years < 0:
            return f"{task_type}: min_years must be a whole number from 0"
    return None


def _apply(study: Study, data: dict) -> None:
    for key, value in data.items():
        if key not in M2M_FIELDS:
            setattr(study, key, value)
    try:
        with transaction.atomic():
            study.save()
    except IntegrityError:
        raise ApplicationError(f"A study named '{study.name}' exists already.") from None
    for key in M2M_FIELDS:
        if key in data:
            getattr(study, key).set(list(data[key]))
    study_ensure_baseline(study=study)


def study_ensure_baseline(*, study: Study) -> None:
    """Every study compares its personas with the no-persona baseline."""
    if not study.personas.filter(is_baseline=True).exists():
        study.personas.add(persona_baseline())


@transaction.atomic
def study_create(*, name: str, owner=None, **fields) -> Study:
    unknown = sorted(set(fields) - set(STUDY_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown study field(s): {', '.join(unknown)}.")
    data = study_clean({"name": name, **fields})
    study = Study(owner=owner)
    _apply(study, data)
    return study


@transaction.atomic
def study_update(*, study: Study, **fields) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    unknown = sorted(set(fields) - set(STUDY_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown study field(s): {', '.join(unknown)}.")
    locked = sorted(set(fields) - set(EDITABLE_BY_STATUS[study.status]))
    if locked:
        raise ApplicationError(
            f"'{study.name}' is {study.get_status_display().lower()}: {', '.join(locked)} can no longer change.",
            extra={"fields": {f: "locked" for f in locked}},
        )
    _apply(study, study_clean(dict(fields)))
    return study


def _transition_problem(study: Study, to_status: str) -> str | None:
    if to_status == StudyStatus.GENERATING:
        missing = [what for what, ok in (
            ("a case set with cases", study.case_sets.filter(cases__isnull=False).exists()),
            ("a model", study.model_specs.exists()),
        ) if not ok]
        if missing:
            return f"the study needs {' and '.join(missing)} before generation"
        return None
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
    if not user_has_role(user, ADMIN):
        raise ApplicationError("Only study admins can change a study's status.", status_code=403)
    study = Study.objects.select_for_update().get(pk=study.pk)
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
    return study


# --------------------------------------------------------------------------------------------- export/import

EXPORT_FORMAT = "persona-paradox-lab/study"
EXPORT_VERSION = 1


def _persona_dict(persona: Persona) -> dict:
    return {"slug": persona.slug, "version": persona.version, **{f: getattr(persona, f) for f in PERSONA_FIELDS}}


def _spec_dict(spec: ModelSpec) -> dict:
    return {f: getattr(spec, f) for f in MODEL_SPEC_FIELDS}


def study_export(*, study: Study) -> dict:
    """The study as plain data: everything needed to set it up again on another server."""
    study = Study.objects.select_related("judge").get(pk=study.pk)  # plain values, not in-memory enum members
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "study": {"name": study.name, **{f: getattr(study, f) for f in OPTION_FIELDS},
                  "task_instructions": study.task_instructions, "rating_schema": study_schema(study)},
        "case_sets": [{"name": cs.name, "version": cs.version, "content_hash": cs.content_hash,
                       "cases": cs.cases.count()} for cs in study.case_sets.order_by("name", "version")],
        "personas": [_persona_dict(p) for p in study.personas.order_by("slug", "version")],
        "model_specs": [_spec_dict(m) for m in study.model_specs.order_by("name")],
        "judge": _spec_dict(study.judge) if study.judge else None,
    }


def study_export_text(*, study: Study, fmt: str = "yaml") -> str:
    data = study_export(study=study)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _load(data) -> dict:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApplicationError("The study file is not UTF-8 text.") from None
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)  # JSON is YAML too
        except yaml.YAMLError as exc:
            raise ApplicationError(f"The study file is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ApplicationError(f"This is not a study file (expected format: {EXPORT_FORMAT}).")
    if data.get("format_version") != EXPORT_VERSION:
        raise ApplicationError(f"Unsupported study file version {data.get('format_version')!r}; "
                               f"this server reads version {EXPORT_VERSION}.")
    for key, kind in (("study", dict), ("case_sets", list), ("personas", list), ("model_specs", list)):
        if not isinstance(data.get(key), kind):
            raise ApplicationError(f"The study file's '{key}' must be {'an object' if kind is dict else 'a list'}.")
    return data


def _import_case_set(entry: dict, problems: list) -> CaseSet | None:
    try:
        name, version, digest = entry["name"], entry["version"], entry["content_hash"]
    except (KeyError, TypeError):
        problems.append("each case set needs name, version and content_hash")
        return None
    found = (CaseSet.objects.filter(name=name, version=version, content_hash=digest).first()
             or CaseSet.objects.filter(content_hash=digest).order_by("name", "version").first())
    if found is None:
        problems.append(f"case set '{name}' v{version} (content hash {str(digest)[:12]}...) is not on this server; "
                        f"import its file first: manage.py import_cases FILE --set \"{name}\"")
    return found


def _import_persona(entry: dict, problems: list) -> Persona | None:
    try:
        slug = entry["slug"]
        data = persona_clean({f: entry.get(f) for f in PERSONA_FIELDS})
    except (KeyError, TypeError):
        problems.append("each persona needs a slug and its fields")
        return None
    except ApplicationError as exc:
        problems.append(f"persona '{entry.get('slug')}': {exc.message}")
        return None
    same = [p for p in Persona.objects.filter(slug=slug) if all(getattr(p, f) == data[f] for f in PERSONA_FIELDS)]
    if same:
        return next((p for p in same if p.version == entry.get("version")), same[0])
    if data["is_baseline"]:
        return persona_baseline()  # this server's baseline: an empty system prompt is the same everywhere
    current = Persona.objects.filter(slug=slug, is_current=True).first()
    if current is None:
        version = entry.get("version") if isinstance(entry.get("version"), int) and entry["version"] > 0 else 1
        return Persona.objects.create(slug=slug, version=version, is_current=True, **data)
    latest = Persona.objects.filter(slug=slug).aggregate(v=Max("version"))["v"]
    Persona.objects.filter(pk=current.pk).update(is_current=False)
    return Persona.objects.create(slug=slug, version=latest + 1, previous=current, is_current=True, **data)


def _import_spec(entry: dict, problems: list) -> ModelSpec | None:
    try:
        data = model_spec_clean({f: entry[f] for f in MODEL_SPEC_FIELDS if f in entry})
    except ApplicationError as exc:
        problems.append(f"model spec '{entry.get('name')}': {exc.message}")
        return None
    existing = ModelSpec.objects.filter(name=data["name"]).first()
    if existing is None:
        return ModelSpec.objects.create(**data)
    differ = [f for f in MODEL_SPEC_OUTPUT_FIELDS if getattr(existing, f) != data[f]]
    if differ:
        problems.append(f"model spec '{data['name']}' exists here with other settings ({', '.join(differ)}); "
                        "rename one of them")
        return None
    return existing


@transaction.atomic
def study_import(*, data, owner=None, name: str | None = None) -> Study:
    """Create a draft study from an exported file (dict, or YAML/JSON text); all-or-nothing."""
    data = _load(data)
    problems: list[str] = []
    case_sets = [_import_case_set(e, problems) for e in data["case_sets"]]
    personas = [_import_persona(e, problems) for e in data["personas"]]
    specs = [_import_spec(e, problems) for e in data["model_specs"]]
    judge = _import_spec(data["judge"], problems) if data.get("judge") else None
    if problems:
        raise ApplicationError("The study cannot be imported: " + "; ".join(problems) + ".",
                               extra={"problems": problems})
    options = {k: v for k, v in data["study"].items() if k in (*OPTION_FIELDS, "task_instructions", "rating_schema")}
    name = name or data["study"].get("name")
    if Study.objects.filter(name=name).exists():
        raise ApplicationError(f"A study named '{name}' exists already; import it under another name.")
    return study_create(name=name, owner=owner, case_sets=case_sets, personas=personas, model_specs=specs,
                        judge=judge, **options)
