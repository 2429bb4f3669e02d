"""Clinician pages. Only opaque codes and the case/response text ever reach these templates."""
from django.shortcuts import render

from accounts.decorators import role_required
from accounts.roles import CLINICIAN


@role_required(CLINICIAN)
def rater_home(request):
    return render(request, "annotation/rater_home.html", {})
