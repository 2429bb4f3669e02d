"""The sample-size planning page: how many items and raters an interval of the wanted width needs, what the
study's current design gives, and (study managers) applying the planned raters per response to the study."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.roles import ADMIN, RESEARCHER
from config.pages import shown_as_message
from studies.permissions import study_can, study_for
from studies.services.studies import study_update

from .forms_planning import ApplyPlanForm, SampleSizeForm
from .metrics.sample_size import STATISTICS, PlanInputError
from .selectors_planning import study_design, study_sample_size_plan


@role_required(RESEARCHER, ADMIN)
def sample_size(request, study_id: int):
    """GET: the form; with its inputs in the query string, the plan too (400 with the problems when invalid)."""
    study = study_for(request.user, study_id, "report")
    design = study_design(study=study)
    form = SampleSizeForm(request.GET or None, categories=design.categories,
                          raters_per_item=design.raters_per_response)
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = study_sample_size_plan(design=design, **form.cleaned_data)
        except PlanInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    context = {"study": study, "design": design, "form": form, "result": result, "statistics": STATISTICS,
               "can_apply": study_can(request.user, study, "manage")}
    return render(request, "agreement/sample_size.html", context, status=400 if form.is_bound and not result else 200)


@require_POST
@role_required(RESEARCHER, ADMIN)
def sample_size_apply(request, study_id: int):
    """Write the planned raters per response into the study (the study's managers only)."""
    study = study_for(request.user, study_id, "manage")
    form = ApplyPlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Raters per response: " + " ".join(form.errors["raters_per_response"]))
        return redirect("agreement:sample_size", study_id=study.pk)
    raters = form.cleaned_data["raters_per_response"]
    with shown_as_message(request) as outcome:
        study_update(study=study, actor=request.user, raters_per_response=raters)
    if not outcome.ok:
        return redirect("agreement:sample_size", study_id=study.pk)
    messages.success(request, f"'{study.name}' now asks for {raters} clinicians per response; the assignment "
                              "planner uses it when rating starts.")
    return redirect("studies:study_detail", pk=study.pk)
