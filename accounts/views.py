from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
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


@never_cache
@require_GET
def healthz(request):
    """Readiness probe: 200 "ok" when the database answers one trivial query, else 503 in the API's error
    shape. No session, no login; the cheap view load benchmarks compare against."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # Connection details stay in the server log; the probe's caller is anonymous.
        return JsonResponse({"message": "Database unavailable.", "extra": {"database": "unavailable"}}, status=503)
    return HttpResponse("ok", content_type="text/plain")


class PasswordChangeView(auth_views.PasswordChangeView):
    """The logged-in user's own password: the old one, then a new one that passes the validators."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password_change_done")  # this session stays logged in; the user's others end


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
