"""Reads for the setup pages and API: lists with counts, a study's grid, the transitions it allows."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum

from .models import AuditEvent, Case, CaseSet, ModelSpec, Persona, Study
from .permissions import studies_for
from .services.studies import STUDY_TRANSITIONS


def case_set_list() -> QuerySet[CaseSet]:
    return (CaseSet.objects.select_related("owner").annotate(case_count=Count("cases", distinct=True))
            .order_by("name", "-version"))


def case_set_cases(*, case_set: CaseSet) -> QuerySet[Case]:
    return case_set.cases.order_by("id")


def persona_list(*, current_only: bool = True) -> QuerySet[Persona]:
    personas = Persona.objects.all()
    if current_only:
        personas = personas.filter(is_current=True)
    return personas.order_by("-is_baseline", "-is_medical", "slug", "-version")


def persona_versions(*, persona: Persona) -> QuerySet[Persona]:
    return Persona.objects.filter(slug=persona.slug).order_by("-version")


def model_spec_list() -> QuerySet[ModelSpec]:
    return ModelSpec.objects.order_by("-is_judge", "name")


def study_list(*, user) -> QuerySet[Study]:
    """The studies `user` may see (studies.permissions), with their grid's counts."""
    return studies_for(user, "view").select_related("owner", "judge").annotate(
        case_set_count=Count("case_sets", distinct=True),
        persona_count=Count("personas", distinct=True),
        model_count=Count("model_specs", distinct=True),
    ).order_by("-created_at", "-id")


@dataclass(frozen=True)
class StudyGrid:
    cases: int
    personas: int
    models: int
    responses: int  # cases x personas x (samples per prompt, summed over models)
    ratings: int  # responses x raters per response
    generated: int


def study_grid(*, study: Study) -> StudyGrid:
    cases = Case.objects.filter(case_set__in=study.case_sets.all()).count()
    personas = study.personas.count()
    samples = study.model_specs.aggregate(n=Sum("samples_per_prompt"))["n"] or 0
    responses = cases * personas * samples
    return StudyGrid(cases=cases, personas=personas, models=study.model_specs.count(), responses=responses,
                     ratings=responses * study.raters_per_response, generated=study.responses.count())


def study_allowed_transitions(*, study: Study) -> tuple[str, ...]:
    return STUDY_TRANSITIONS.get(study.status, ())


AUDIT_SHOWN = 50


def study_audit_events(*, study: Study, limit: int = AUDIT_SHOWN) -> list[AuditEvent]:
    """The study's most recent audit events, newest first."""
    return list(AuditEvent.objects.filter(study=study).select_related("actor").order_by("-created_at", "-id")[:limit])
