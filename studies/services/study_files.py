"""A study as one file ("configuration as code"): export and import.

Case sets travel by name + version + content hash (their cases as their own files), personas by
slug + version with their full text, model specs in full, the rating schema and every option.
Import recreates the study as a draft elsewhere, all or nothing.
"""
from __future__ import annotations

import json

import yaml
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from config.exceptions import ApplicationError

from ..models import CaseSet, ModelSpec, Persona, Study
from ..schema import study_schema
from .audit import audit_record
from .model_specs import MODEL_SPEC_FIELDS, MODEL_SPEC_OUTPUT_FIELDS, model_spec_clean
from .personas import CONTENT_FIELDS as PERSONA_FIELDS
from .personas import persona_baseline, persona_clean
from .studies import OPTION_FIELDS, study_create

EXPORT_FORMAT = "persona-paradox-lab/study"
EXPORT_VERSION = 1


def _persona_dict(persona: Persona) -> dict:
    return {"slug": persona.slug, "version": persona.version, **{f: getattr(persona, f) for f in PERSONA_FIELDS}}


def _spec_dict(spec: ModelSpec) -> dict:
    return {f: getattr(spec, f) for f in MODEL_SPEC_FIELDS}


def study_export(*, study: Study, actor=None) -> dict:
    """The study as plain data: everything needed to set it up again on another server."""
    audit_record(study=study, actor=actor, action="study_exported", detail={"format": "data"})
    return _export_data(study)


def _export_data(study: Study) -> dict:
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
        "extra_judges": [_spec_dict(j) for j in study.extra_judges.order_by("name")],
    }


def study_export_text(*, study: Study, fmt: str = "yaml", actor=None) -> str:
    audit_record(study=study, actor=actor, action="study_exported", detail={"format": fmt})
    data = _export_data(study)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: an export never writes them, and a few lines of
    nested aliases expand a million-fold ("billion laughs")."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name, *name) are not allowed in a study file", event.start_mark)
        return super().compose_node(parent, index)


def _load_text(data) -> object:
    size = len(data.encode() if isinstance(data, str) else data)
    limit = settings.STUDY_FILE_MAX_BYTES
    if size > limit:
        raise ApplicationError(f"The study file is {size:,} bytes; the limit is {limit:,} (STUDY_FILE_MAX_BYTES).")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApplicationError("The study file is not UTF-8 text.") from None
    try:
        return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader); JSON is YAML too
    except yaml.YAMLError as exc:
        raise ApplicationError(f"The study file is not valid YAML/JSON: {exc}") from None
    except RecursionError:
        raise ApplicationError("The study file is not valid YAML/JSON: nested too deeply.") from None


def _load(data) -> dict:
    if isinstance(data, bytes | str):
        data = _load_text(data)
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ApplicationError(f"This is not a study file (expected format: {EXPORT_FORMAT}).")
    if data.get("format_version") != EXPORT_VERSION:
        raise ApplicationError(f"Unsupported study file version {data.get('format_version')!r}; "
                               f"this server reads version {EXPORT_VERSION}.")
    data.setdefault("extra_judges", [])  # files from before studies had several judges
    for key, kind in (("study", dict), ("case_sets", list), ("personas", list), ("model_specs", list),
                      ("extra_judges", list)):
        if not isinstance(data.get(key), kind):
            raise ApplicationError(f"The study file's '{key}' must be {'an object' if kind is dict else 'a list'}.")
        if kind is list and not all(isinstance(entry, dict) for entry in data[key]):
            raise ApplicationError(f"Every entry of the study file's '{key}' must be an object.")
    if data.get("judge") is not None and not isinstance(data["judge"], dict):
        raise ApplicationError("The study file's 'judge' must be an object (a model spec) or null.")
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
    extra_judges = [_import_spec(e, problems) for e in data["extra_judges"]]
    if problems:
        raise ApplicationError("The study cannot be imported: " + "; ".join(problems) + ".",
                               extra={"problems": problems})
    options = {k: v for k, v in data["study"].items() if k in (*OPTION_FIELDS, "task_instructions", "rating_schema")}
    name = name or data["study"].get("name")
    if Study.objects.filter(name=name).exists():
        raise ApplicationError(f"A study named '{name}' exists already; import it under another name.")
    return study_create(name=name, owner=owner, case_sets=case_sets, personas=personas, model_specs=specs,
                        judge=judge, extra_judges=extra_judges, **options)
