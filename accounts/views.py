from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .roles import ADMIN, CLINICIAN, RESEARCHER, primary_role

ROLE_HOME = {
    CLINICIAN: "annotation:rater_home",
    RESEARCHER: "agreement:report_list",
    ADMIN: "annotation:study_list",
}


@login_required
def home(request):
    """Send each role to its work."""
    role = primary_role(request.user)
    if role is None:
        return render(request, "accounts/no_role.html", status=403)
    return redirect(ROLE_HOME[role])
