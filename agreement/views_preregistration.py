"""The pre-registration page: the locked plan and its downloads, or the owner's lock form for a draft study."""
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import role_required
from accounts.roles import ADMIN, RESEARCHER
from config.pages import shown_as_message
from studies.models import StudyStatus
from studies.permissions import study_can, study_for
from studies.schema import study_schema

from .forms_preregistration import PreregistrationForm
from .reports.preregistration import labelled_outcomes
from .selectors_preregistration import preregistration_of
from .services_preregistration import preregistration_export, preregistration_lock


def _refusal(study, user, locked) -> tuple[str, int] | None:
    """Why this user cannot lock the plan now (message, status), or None when they can."""
    if not study_can(user, study, "preregister"):
        return "Only the study's owner can lock its analysis plan.", 403
    if locked is not None:
        return "The analysis plan is already locked; it never changes.", 409
    if study.status != StudyStatus.DRAFT:
        return "The analysis plan can only be locked while the study is a draft.", 409
    return None


@role_required(RESEARCHER, ADMIN)
def preregistration(request, study_id: int):
    study = study_for(request.user, study_id, "report")
    locked = preregistration_of(study=study)
    refusal = _refusal(study, request.user, locked)
    form, status = None, 200
    if refusal is None:
        schema = study_schema(study)
        form = PreregistrationForm(request.POST if request.method == "POST" else None, schema=schema,
                                   has_judge=study.judge_id is not None)
    if request.method == "POST":
        if refusal is not None:
            messages.error(request, refusal[0])
            return redirect("agreement:preregistration", study_id=study.pk)
        status = 400
        if form.is_valid():
            with shown_as_message(request) as outcome:
                preregistration_lock(study=study, user=request.user, **form.plan())
            if outcome.ok:
                messages.success(request, f"The analysis plan of '{study.name}' is locked.")
                return redirect("agreement:preregistration", study_id=study.pk)
    context = {
        "study": study, "locked": locked, "form": form, "refusal": refusal and refusal[0],
        "verification": locked.verify() if locked else None,
        "primary": labelled_outcomes(locked.document["primary_outcomes"]) if locked else None,
        "secondary": labelled_outcomes(locked.document["secondary_outcomes"]) if locked else None,
    }
    return render(request, "agreement/preregistration.html", context, status=status)


@role_required(RESEARCHER, ADMIN)
def preregistration_download(request, study_id: int):
    locked = preregistration_of(study=study_for(request.user, study_id, "report"))
    if locked is None:
        raise Http404("This study's analysis plan is not locked.")
    fmt = "html" if request.GET.get("as") == "html" else "json"
    content, content_type, filename = preregistration_export(preregistration=locked, fmt=fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
