"""Admin pages for study setup."""
from django.shortcuts import render

from accounts.decorators import role_required
from accounts.roles import ADMIN

from ..models import Study


@role_required(ADMIN)
def study_list(request):
    return render(request, "annotation/study_list.html", {"studies": Study.objects.all()})
