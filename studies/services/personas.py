"""Personas: the default library, create, edit (new versions once used), and the prompt preview.

A persona that generated responses, or belongs to a study past "draft", is never changed in place:
editing it creates version n+1 (`previous` points back, `is_current` moves), and draft studies
that used it move to the new version. The prompt preview is `studies.prompts.build_messages`,
the same function generation uses, so what the admin sees is what the model receives.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Max

from config.exceptions import ApplicationError
from config.services import model_update

from ..models import Case, InteractionStyle, Persona, StudyStatus
from ..prompts import PromptTemplateError, build_messages, render_system_prompt
from .audit import audit_record_for_studies

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "personas.yaml"
BASELINE_SLUG = "no-persona"
CONTENT_FIELDS = ("name", "role", "style", "is_medical", "is_baseline", "system_prompt_template", "description")
EDITABLE_FIELDS = ("name", "role", "style", "is_medical", "system_prompt_template", "description")


def persona_clean(data: dict) -> dict:
    """Validated, stripped persona fields; raises ApplicationError listing every problem."""
    data = {**data}
    for key in ("name", "role", "system_prompt_template", "description"):
        data[key] = (data.get(key) or "").strip()
    data["is_medical"] = bool(data.get("is_medical"))
    data["is_baseline"] = bool(data.get("is_baseline"))
    data["style"] = data.get("style") or InteractionStyle.PLAIN
    problems = {}
    if not data["name"]:
        problems["name"] = "is required"
    elif len(data["name"]) > 200:
        problems["name"] = "can be at most 200 characters"
    if len(data["role"]) > 200:
        problems["role"] = "can be at most 200 characters"
    if data["style"] not in InteractionStyle.values:
        problems["style"] = f"{data['style']!r} is not one of {', '.join(InteractionStyle.values)}"
    template = data["system_prompt_template"]
    if data["is_baseline"]:
        if template or data["role"]:
            problems["system_prompt_template"] = "the no-persona baseline has no role and an empty system prompt"
    elif not template:
        problems["system_prompt_template"] = "is required (only the no-persona baseline has an empty system prompt)"
    else:
        try:
            render_system_prompt(Persona(**{k: data[k] for k in CONTENT_FIELDS}),
                                 Case(task_type="triage", care_setting="critical_care"))
        except PromptTemplateError as exc:
            problems["system_prompt_template"] = str(exc)
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            problems["system_prompt_template"] = f"cannot be filled in: {exc}"
        if "{role}" in template and not data["role"]:
            problems["role"] = "is required: the template uses {role}"
    if problems:
        raise ApplicationError(
            "Invalid persona: " + "; ".join(f"{k} {v}" for k, v in problems.items()), extra={"fields": problems}
        )
    return data


def persona_is_frozen(persona: Persona) -> bool:
    """Used by generated responses, or by a study past draft: edits must create a new version."""
    return persona.responses.exists() or persona.studies.exclude(status=StudyStatus.DRAFT).exists()


@transaction.atomic
def persona_create(*, slug: str, name: str, role: str = "", style: str = InteractionStyle.PLAIN,
                   is_medical: bool = False, system_prompt_template: str = "", description: str = "",
                   is_baseline: bool = False, version: int = 1) -> Persona:
    slug = (slug or "").strip()
    try:
        validate_slug(slug)
    except ValidationError:
        raise ApplicationError(f"Invalid persona: slug {slug!r} may only hold letters, digits, - and _.") from None
    if len(slug) > 100:
        raise ApplicationError("Invalid persona: slug can be at most 100 characters.")
    data = persona_clean(dict(name=name, role=role, style=style, is_medical=is_medical, is_baseline=is_baseline,
                       system_prompt_template=system_prompt_template, description=description))
    if Persona.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A persona with slug '{slug}' exists already; edit it to make a new version.")
    if is_baseline and Persona.objects.filter(is_baseline=True, is_current=True).exists():
        raise ApplicationError("There is a no-persona baseline already; a study has exactly one.")
    return Persona.objects.create(slug=slug, version=version, is_current=True, **data)


@transaction.atomic
def persona_update(*, persona: Persona, actor=None, **changes) -> Persona:
    """Apply edits; returns the persona that is now current (the same row, or a new version)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ApplicationError(f"These persona fields cannot be edited: {', '.join(unknown)}.")
    persona = Persona.objects.select_for_update().get(pk=persona.pk)
    if not persona.is_current:
        current = Persona.objects.filter(slug=persona.slug, is_current=True).first()
        raise ApplicationError(
            f"{persona} is an old version; edit the current one"
            + (f" (v{current.version})." if current else ".")
        )
    data = persona_clean({**{f: getattr(persona, f) for f in CONTENT_FIELDS}, **changes})
    if all(getattr(persona, f) == data[f] for f in CONTENT_FIELDS):
        return persona
    changed = [f for f in CONTENT_FIELDS if getattr(persona, f) != data[f]]
    studies = list(persona.studies.order_by("pk"))
    if persona_is_frozen(persona):
        saved = _persona_new_version(persona, data)
    else:
        saved = model_update(instance=persona, fields=CONTENT_FIELDS, data=data)[0]
    audit_record_for_studies(studies=studies, actor=actor, action="persona_updated", detail={
        "slug": persona.slug, "from_version": persona.version, "to_version": saved.version, "changed": changed})
    return saved


def _persona_new_version(persona: Persona, data: dict) -> Persona:
    """A used persona stays as it was: the edit becomes version n+1, and draft studies move to it."""
    latest = Persona.objects.filter(slug=persona.slug).aggregate(v=Max("version"))["v"]
    Persona.objects.filter(pk=persona.pk).update(is_current=False)
    new = Persona.objects.create(slug=persona.slug, version=latest + 1, previous=persona, is_current=True, **data)
    for study in persona.studies.filter(status=StudyStatus.DRAFT):
        study.personas.remove(persona)
        study.personas.add(new)
    return new


def persona_library(*, include_extras: bool = False, path: Path = LIBRARY_PATH) -> list[dict]:
    """The shipped library's entries: the published design, plus the extras when asked."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["personas"]
    return [
        {k: v for k, v in entry.items() if k != "default"}
        for entry in entries if include_extras or entry.get("default", False)
    ]


@dataclass
class LibraryLoadResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)  # edited here since; left alone unless update=True
    updated: list[str] = field(default_factory=list)


@transaction.atomic
def persona_library_load(*, include_extras: bool = False, update: bool = False) -> LibraryLoadResult:
    """Idempotent: creates the library's personas that are missing; leaves admins' edits alone
    unless `update` (then a differing persona is edited to the library text, versioned if used)."""
    result = LibraryLoadResult()
    for entry in persona_library(include_extras=include_extras):
        current = Persona.objects.filter(slug=entry["slug"], is_current=True).first()
        if current is None:
            persona_create(**entry)
            result.created.append(entry["slug"])
            continue
        wanted = persona_clean({f: entry.get(f, getattr(current, f)) for f in CONTENT_FIELDS})
        if all(getattr(current, f) == wanted[f] for f in CONTENT_FIELDS):
            result.unchanged.append(entry["slug"])
        elif update:
            persona_update(persona=current, **{f: wanted[f] for f in EDITABLE_FIELDS})
            result.updated.append(entry["slug"])
        else:
            result.differing.append(entry["slug"])
    return result


def persona_baseline() -> Persona:
    """The current no-persona baseline; loaded from the library the first time it is needed."""
    baseline = Persona.objects.filter(is_baseline=True, is_current=True).order_by("slug").first()
    if baseline is None:
        entry = next(e for e in persona_library() if e.get("is_baseline"))
        baseline = persona_create(**entry)
    return baseline


def persona_preview(*, persona: Persona, case: Case, study=None) -> list[dict]:
    """The exact chat messages the model receives for this case (baseline: an explicit empty system message)."""
    try:
        return build_messages(persona=persona, case=case,
                              task_instructions=study.task_instructions if study is not None else None)
    except PromptTemplateError as exc:
        raise ApplicationError(f"The persona's template cannot be used: {exc}") from None
