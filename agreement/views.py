from django.shortcuts import render

from accounts.decorators import role_required
from accounts.roles import ADMIN, RESEARCHER
from annotation.models import Study


@role_required(RESEARCHER, ADMIN)
def report_list(request):
    return render(request, "agreement/report_list.html", {"studies": Study.objects.all()})
