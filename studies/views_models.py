"""Admin pages for models and judges: list, create, edit, and a model's page (with "Try one prompt").

Thin, like the other setup pages: the form checks shapes and limits (studies.shapes), the service
(studies.services.model_specs) validates and refuses; its per-field problems are shown on the fields. A model
that produced outputs, or that a study past draft uses, is frozen: the fields its outputs depend on are shown
disabled, and the service refuses changes to them.
"""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message

from .forms_models import ModelSpecForm
from .models import ModelSpec, Study
from .services.model_specs import MODEL_SPEC_OUTPUT_FIELDS, model_spec_create, model_spec_is_frozen, model_spec_update


def _frozen_labels(form: ModelSpecForm) -> list[str]:
    return [str(form.fields[name].label or name.replace("_", " ").capitalize()) for name in form.frozen_fields]


@role_required(ADMIN)
def model_spec_list(request):
    specs = ModelSpec.objects.order_by("name")
    return render(request, "studies/model_spec_list.html", {
        "models": [s for s in specs if not s.is_judge], "judges": [s for s in specs if s.is_judge],
    })


def _create(request, *, judge: bool):
    initial = {"is_judge": True} if judge else {}
    form = ModelSpecForm(request.POST or None, judge=judge, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.changed_values()
        if judge:
            values["is_judge"] = True
        with shown_as_message(request) as outcome:
            spec = model_spec_create(**values)
        if outcome.ok:
            messages.success(request, f"Created {'judge' if spec.is_judge else 'model'} '{spec.name}'.")
            return redirect("studies:model_spec_detail", spec.pk)
        form.add_service_errors(outcome.error.extra.get("fields", {}))
    return render(request, "studies/model_spec_form.html", {"form": form, "spec": None, "judge": judge})


@role_required(ADMIN)
def model_spec_create_view(request):
    return _create(request, judge=request.GET.get("judge") == "1")


@role_required(ADMIN)
def judge_create_view(request):
    return _create(request, judge=True)


@role_required(ADMIN)
def model_spec_edit(request, pk: int):
    spec = get_object_or_404(ModelSpec, pk=pk)
    frozen = model_spec_is_frozen(spec)
    form = ModelSpecForm(request.POST or None, frozen=frozen, judge=spec.is_judge,
                         initial=ModelSpecForm.initial_for(spec))
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request) as outcome:
            spec = model_spec_update(model_spec=spec, actor=request.user, **form.changed_values())
        if outcome.ok:
            messages.success(request, "Saved.")
            return redirect("studies:model_spec_detail", spec.pk)
        form.add_service_errors(outcome.error.extra.get("fields", {}))
    return render(request, "studies/model_spec_form.html", {
        "form": form, "spec": spec, "judge": spec.is_judge, "frozen": frozen, "frozen_labels": _frozen_labels(form),
    })


@role_required(ADMIN)
def model_spec_detail(request, pk: int):
    spec = get_object_or_404(ModelSpec, pk=pk)
    frozen = model_spec_is_frozen(spec)
    form = ModelSpecForm(frozen=frozen)
    return render(request, "studies/model_spec_detail.html", {
        "spec": spec, "frozen": frozen, "frozen_labels": _frozen_labels(form) if frozen else [],
        "frozen_fields": MODEL_SPEC_OUTPUT_FIELDS if frozen else (),
        "response_count": spec.responses.count(),
        "judge_score_count": spec.judge_scores.count(),
        "studies": spec.studies.order_by("name"),
        "judged_studies": Study.objects.filter(Q(judge=spec) | Q(extra_judges=spec)).distinct().order_by("name"),
    })
