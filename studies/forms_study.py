"""The study form's parts that are not one field each: eligibility and task instructions per task type, the
rating schema as rows (studies.schema_rows), and the warnings shown before saving an incomplete study."""
from __future__ import annotations

from django import forms

from accounts.models import Specialty

from .choices import TaskType
from .schema_rows import (
    attach_problems,
    rows_for_display,
    rows_from_post,
    rows_from_schema,
    schema_from_rows,
    schema_options_from_post,
    schema_options_from_schema,
)
from .services.studies import rating_schema_problems

ELIGIBILITY_PREFIX = "elig_"
INSTRUCTIONS_PREFIX = "instr_"
# Fields that store no setting of their own: always enabled ("name" can change in every status).
ALWAYS_ENABLED = {"save_anyway": "name"}


def task_field_owner(name: str) -> str:
    """The stored study setting a form field belongs to (per-task fields belong to their JSON setting)."""
    if name.startswith(ELIGIBILITY_PREFIX):
        return "eligibility"
    if name.startswith(INSTRUCTIONS_PREFIX):
        return "task_instructions"
    return ALWAYS_ENABLED.get(name, name)


def add_task_fields(form) -> None:
    """Per task type: the specialties and minimum years that make a clinician eligible, and the instructions
    appended to the question; initial values from the study's JSON settings."""
    eligibility = form.initial.get("eligibility") or {}
    instructions = form.initial.get("task_instructions") or {}
    for task, label in TaskType.choices:
        rule = eligibility.get(task) if isinstance(eligibility.get(task), dict) else {}
        form.fields[f"{ELIGIBILITY_PREFIX}{task}_specialties"] = forms.MultipleChoiceField(
            choices=Specialty.choices, required=False, widget=forms.CheckboxSelectMultiple,
            label=f"{label}: specialties", initial=rule.get("specialties", []),
            help_text="None ticked: any specialty.")
        form.fields[f"{ELIGIBILITY_PREFIX}{task}_min_years"] = forms.IntegerField(
            min_value=0, required=False, label=f"{label}: minimum years of experience",
            initial=rule.get("min_years"), help_text="Empty: no minimum.")
        form.fields[f"{INSTRUCTIONS_PREFIX}{task}"] = forms.CharField(
            required=False, widget=forms.Textarea(attrs={"rows": 2}), label=f"{label}: instructions to the model",
            initial=instructions.get(task, ""), help_text="Appended to the question; empty: the default.")


def task_field_groups(form) -> list[dict]:
    """The per-task fields grouped for the page, one group per task type."""
    return [{"task": task, "label": label,
             "specialties": form[f"{ELIGIBILITY_PREFIX}{task}_specialties"],
             "min_years": form[f"{ELIGIBILITY_PREFIX}{task}_min_years"],
             "instructions": form[f"{INSTRUCTIONS_PREFIX}{task}"]}
            for task, label in TaskType.choices]


def schema_rows_for(form) -> tuple[list, dict]:
    """The rating schema's rows as the page shows them: as posted, else (or when locked) the study's schema."""
    if form.is_bound and form.as_fields and not form.fields["rating_schema"].disabled:
        rows, options = rows_from_post(form.data), schema_options_from_post(form.data)
    else:
        schema = form.initial.get("rating_schema") or {}
        rows, options = rows_from_schema(schema), schema_options_from_schema(schema)
    return rows_for_display(rows), options


def _eligibility(cleaned: dict) -> dict:
    rules = {}
    for task in TaskType.values:
        rule = {}
        specialties = cleaned.get(f"{ELIGIBILITY_PREFIX}{task}_specialties") or []
        years = cleaned.get(f"{ELIGIBILITY_PREFIX}{task}_min_years")
        if specialties:
            rule["specialties"] = list(specialties)
        if years is not None:
            rule["min_years"] = years
        if rule:
            rules[task] = rule
    return rules


def _task_instructions(cleaned: dict) -> dict:
    texts = {task: (cleaned.get(f"{INSTRUCTIONS_PREFIX}{task}") or "").strip() for task in TaskType.values}
    return {task: text for task, text in texts.items() if text}


def _rating_schema(form) -> dict | None:
    """The schema the rows describe; None (and the problems on the rows and the field) when it is not valid."""
    schema = schema_from_rows(form.schema_rows, form.schema_options)
    general = attach_problems(form.schema_rows, rating_schema_problems(schema) if schema else [])
    if general or any(row.errors for row in form.schema_rows):
        form.add_error("rating_schema", ["Fix the problems marked in the rating dimensions below.", *general])
        return None
    return schema


def fields_to_json(form, cleaned: dict) -> dict:
    """The JSON settings built from the page's fields (enabled settings only)."""
    built = {}
    if not form.fields["eligibility"].disabled:
        built["eligibility"] = _eligibility(cleaned)
    if not form.fields["task_instructions"].disabled:
        built["task_instructions"] = _task_instructions(cleaned)
    if not form.fields["rating_schema"].disabled:
        schema = _rating_schema(form)
        if schema is not None:
            built["rating_schema"] = schema
    return built


def setup_warnings(form, cleaned: dict) -> list[str]:
    """What is probably missing from a study being set up; the page asks for "save anyway" before saving."""
    if not form.as_fields:
        return []
    checks = (
        ("case_sets", "No case set is chosen: there are no cases to generate answers for."),
        ("model_specs", "No model is chosen: nothing can be generated."),
        ("personas", "Only the no-persona baseline is chosen: there is no persona to compare with it."),
    )
    return [message for name, message in checks
            if not form.fields[name].disabled and name in cleaned and not cleaned[name]]
