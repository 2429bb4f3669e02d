"""The study's dangerous-output alerts, for its owners and admins: which were not delivered, why, and sending them
again. Linked from the study page by URL name (studies never imports the rating side)."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import role_required
from accounts.roles import ADMIN
from config.pages import shown_as_message
from studies.permissions import study_for

from ..models import SafetyAlert
from ..selectors.alerts import study_alerts, study_alerts_undelivered_count
from ..services.alerts import safety_alert_resend

PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def study_alert_list(request, pk: int):
    study = study_for(request.user, pk, "manage")  # the study's owners and admins only
    if request.method == "POST":
        alert = get_object_or_404(SafetyAlert, pk=request.POST.get("alert") or 0, study=study)
        with shown_as_message(request) as outcome:
            safety_alert_resend(alert=alert)
        if outcome.ok:
            messages.success(request, "The alert is being sent again; this list shows the outcome.")
        return redirect("annotation:study_alerts", pk=study.pk)
    page = Paginator(study_alerts(study=study), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotation/study_alerts.html", {
        "study": study, "page": page, "undelivered": study_alerts_undelivered_count(study=study),
    })
