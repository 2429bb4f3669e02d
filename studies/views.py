"""Admin pages for study setup: studies, case sets, personas with a prompt preview (the case-set upload is in
views_imports, models and judges in views_models).

Thin: forms check shapes, the services (the same ones as the API, the Django admin and the commands)
do the work, ApplicationError messages are shown as they are.
"""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message

from . import selectors
from .forms import PersonaForm, PersonaPreviewForm, StudyForm, StudyImportForm
from .models import Case, CaseSet, MemberRole, Persona, Study, StudyStatus
from .permissions import studies_for, study_can, study_for
from .schema import study_schema
from .services import members, personas, studies, study_files

FINAL_TRANSITIONS = {
    StudyStatus.CLOSED: ["Clinicians can no longer rate, revise or flag its items.",
                         "It cannot be reopened: closed is final.",
                         "Its ratings stay, and reports can still be built."],
}


# ------------------------------------------------------------------------------------------------ studies

@role_required(ADMIN)
def study_list(request):
    return render(request, "studies/study_list.html", {"studies": selectors.study_list(user=request.user)})


def _study_form_initial(study: Study) -> dict:
    initial = {name: getattr(study, name) for name in ("name", *studies.OPTION_FIELDS, "task_instructions")}
    initial.update(case_sets=study.case_sets.all(), personas=study.personas.filter(is_baseline=False),
                   model_specs=study.model_specs.all(), judge=study.judge, extra_judges=study.extra_judges.all(),
                   rating_schema=study.rating_schema)
    return initial


@role_required(ADMIN)
def study_create(request):
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request) as outcome:
            study = studies.study_create(owner=request.user, **form.changed_values())
        if outcome.ok:
            messages.success(request, f"Created study '{study.name}' (draft) with the no-persona baseline.")
            return redirect("studies:study_detail", study.pk)
    return render(request, "studies/study_form.html", {"form": form, "study": None})


@role_required(ADMIN)
def study_edit(request, pk: int):
    study = study_for(request.user, pk, "manage")
    form = StudyForm(request.POST or None, study=study, initial=_study_form_initial(study))
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request) as outcome:
            studies.study_update(study=study, actor=request.user, **form.changed_values())
        if outcome.ok:
            messages.success(request, "Saved.")
            return redirect("studies:study_detail", study.pk)
    return render(request, "studies/study_form.html", {"form": form, "study": study})


@role_required(ADMIN)
def study_detail(request, pk: int):
    study = study_for(request.user, pk, "view", queryset=Study.objects.select_related("judge", "owner"))
    return render(request, "studies/study_detail.html", {
        "study": study,
        "can_manage": study_can(request.user, study, "manage"),
        "can_change_members": study_can(request.user, study, "members"),
        "members": study.members.select_related("user").order_by("role", "user__username"),
        "member_roles": MemberRole.choices,
        "grid": selectors.study_grid(study=study),
        "transitions": selectors.study_allowed_transitions(study=study),
        "case_sets": study.case_sets.order_by("name", "version"),
        "personas": study.personas.order_by("-is_baseline", "-is_medical", "slug"),
        "model_specs": study.model_specs.order_by("name"),
        "extra_judges": study.extra_judges.order_by("name"),
        "schema": study_schema(study),
        "audit_events": selectors.study_audit_events(study=study),
    })


@role_required(ADMIN)
@require_POST
def study_transition(request, pk: int):
    study = study_for(request.user, pk, "manage")
    to_status = request.POST.get("to_status", "")
    if to_status in FINAL_TRANSITIONS and request.POST.get("confirm_name") != study.name:
        # A final step is confirmed by typing the study's name, on a page that says what cannot be undone.
        return render(request, "studies/study_transition_confirm.html", {
            "study": study, "to_status": to_status, "consequences": FINAL_TRANSITIONS[to_status],
            "mismatch": "confirm_name" in request.POST,
        })
    with shown_as_message(request) as outcome:
        study = studies.study_transition(study=study, to_status=to_status, user=request.user)
    if outcome.ok:
        messages.success(request, f"'{study.name}' is now {study.get_status_display().lower()}.")
    return redirect("studies:study_detail", study.pk)


@role_required(ADMIN)
def study_export(request, pk: int):
    study = study_for(request.user, pk, "view")
    fmt = "json" if request.GET.get("as") == "json" else "yaml"
    response = HttpResponse(study_files.study_export_text(study=study, fmt=fmt, actor=request.user),
                            content_type="application/json" if fmt == "json" else "application/yaml")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}.{fmt}"'
    return response


@role_required(ADMIN)
@require_POST
def study_member_set(request, pk: int):
    study = study_for(request.user, pk, "members")
    with shown_as_message(request) as outcome:
        member = members.study_member_set(study=study, user=members.user_by_username(request.POST.get("username", "")),
                                          role=request.POST.get("role", ""), by=request.user)
    if outcome.ok:
        messages.success(request, f"{member.user.get_username()} is now {member.get_role_display().lower()} of "
                                  f"'{study.name}'.")
    return redirect("studies:study_detail", study.pk)


@role_required(ADMIN)
@require_POST
def study_member_remove(request, pk: int, username: str):
    study = study_for(request.user, pk, "members")
    with shown_as_message(request) as outcome:
        members.study_member_remove(study=study, username=username, by=request.user)
    if outcome.ok:
        messages.success(request, f"{username} is no longer a member of '{study.name}'.")
    return redirect("studies:study_detail", study.pk)


@role_required(ADMIN)
def study_import(request):
    form = StudyImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request) as outcome:
            study = study_files.study_import(data=form.cleaned_data["file"].read(), owner=request.user,
                                 name=form.cleaned_data["name"] or None)
        if outcome.ok:
            messages.success(request, f"Imported study '{study.name}' as a draft.")
            return redirect("studies:study_detail", study.pk)
    return render(request, "studies/study_import.html", {"form": form})


# ------------------------------------------------------------------------------------------------ case sets

@role_required(ADMIN)
def case_set_list(request):
    return render(request, "studies/case_set_list.html", {"case_sets": selectors.case_set_list()})


@role_required(ADMIN)
def case_set_detail(request, pk: int):
    case_set = get_object_or_404(CaseSet, pk=pk)
    page = Paginator(selectors.case_set_cases(case_set=case_set), 100).get_page(request.GET.get("page"))
    return render(request, "studies/case_set_detail.html", {
        "case_set": case_set, "page": page, "studies": case_set.studies.order_by("name"),
    })


# ------------------------------------------------------------------------------------------------ personas

@role_required(ADMIN)
def persona_list(request):
    return render(request, "studies/persona_list.html", {
        "personas": selectors.persona_list(current_only=request.GET.get("all") != "1"),
        "show_all": request.GET.get("all") == "1",
        "model_specs": selectors.model_spec_list(),
    })


@role_required(ADMIN)
@require_POST
def persona_library_load(request):
    result = personas.persona_library_load(include_extras=request.POST.get("extras") == "1")
    messages.success(request, f"Persona library: {len(result.created)} created, "
                              f"{len(result.unchanged) + len(result.differing)} already there.")
    return redirect("studies:persona_list")


@role_required(ADMIN)
def persona_create(request):
    form = PersonaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request) as outcome:
            persona = personas.persona_create(**form.cleaned_data)
        if outcome.ok:
            messages.success(request, f"Created {persona}.")
            return redirect("studies:persona_detail", persona.pk)
    return render(request, "studies/persona_form.html", {"form": form, "persona": None})


@role_required(ADMIN)
def persona_edit(request, pk: int):
    persona = get_object_or_404(Persona, pk=pk)
    if not persona.is_current:
        current = Persona.objects.filter(slug=persona.slug, is_current=True).first()
        messages.info(request, f"{persona} is an old version; this is the current one.")
        return redirect("studies:persona_edit", current.pk) if current else redirect("studies:persona_list")
    fields = ("name", "role", "style", "is_medical", "system_prompt_template", "description")
    form = PersonaForm(request.POST or None, persona=persona, initial={f: getattr(persona, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if not form.fields[k].disabled}
        with shown_as_message(request) as outcome:
            saved = personas.persona_update(persona=persona, actor=request.user, **changes)
        if outcome.ok:
            if saved.pk != persona.pk:
                messages.success(request, f"Saved as version {saved.version}: version {persona.version} is used by "
                                          "generated responses or a running study and stays as it was.")
            else:
                messages.success(request, "Saved.")
            return redirect("studies:persona_detail", saved.pk)
    return render(request, "studies/persona_form.html", {
        "form": form, "persona": persona, "frozen": personas.persona_is_frozen(persona),
    })


@role_required(ADMIN)
def persona_detail(request, pk: int):
    """The persona, its versions, and the exact messages a model receives for a chosen case."""
    persona = get_object_or_404(Persona, pk=pk)
    cases = Case.objects.select_related("case_set").order_by("case_set__name", "case_set__version", "id")[:500]
    form = PersonaPreviewForm(request.GET or None, cases=Case.objects.select_related("case_set"),
                              studies=studies_for(request.user, "view").order_by("name"))
    form.fields["case"].choices = [("", "---------")] + [(c.pk, str(c)) for c in cases]
    preview = None
    if form.is_bound and form.is_valid():
        with shown_as_message(request):
            preview = personas.persona_preview(persona=persona, case=form.cleaned_data["case"],
                                      study=form.cleaned_data.get("study"))
    return render(request, "studies/persona_detail.html", {
        "persona": persona, "versions": selectors.persona_versions(persona=persona), "form": form, "preview": preview,
        "studies": persona.studies.order_by("name"),
    })
