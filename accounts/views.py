from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .roles import ADMIN, CLINICIAN, RESEARCHER, primary_role

ROLE_HOME = {
    CLINICIAN: "annotation:rater_home",
    RESEARCHER: "agreement:report_list",
    ADMIN: "studies:study_list",
}


@login_required
def home(request):
    """Send each role to its work."""
    role = primary_role(request.user)
    if role is None:
        return render(request, "accounts/no_role.html", status=403)
    return redirect(ROLE_HOME[role])


@require_GET
def healthz(request):
    """Liveness probe, and the trivial view load benchmarks compare against: no database, no session."""
    return HttpResponse("ok", content_type="text/plain")
