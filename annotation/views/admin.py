"""The rating side of a study, for its owners and admins: the dashboard (progress per clinician, drift by
week, items short of raters, generation and judge jobs), the flag queue (acknowledge, resolve) and the
clinicians page (enrol, withdraw; site admins also create accounts and invite). Linked from the study page by
URL name."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import role_required
from accounts.models import Specialty
from accounts.roles import ADMIN, CLINICIAN
from accounts.services import invitation_issue, invitations_by_email, user_can_create_accounts
from config.exceptions import ApplicationError
from config.pages import shown_as_message
from studies.permissions import study_for

from ..models import ItemFlag, StudyRater
from ..selectors.alerts import study_alerts_undelivered_count
from ..selectors.dashboard import (
    clinicians_not_enrolled,
    items_below_target,
    safety_dimension,
    study_enrolments,
    study_rater_rows,
)
from ..selectors.drift import study_drift
from ..selectors.flags import study_flag_counts, study_flags, study_undelivered_alerts
from ..services.assignments import study_rater_add, study_rater_remove
from ..services.flags import dangerous_flags_sync, item_flag_acknowledge, item_flag_resolve
from ..services.invitations import study_clinician_create

PAGE_SIZE = 50


def _study(request, pk: int):
    return study_for(request.user, pk, "manage")  # the study's owners and admins; others 403 or 404


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


# --------------------------------------------------------------------------------------------- dashboard


@require_GET
@role_required(ADMIN)
def study_dashboard(request, pk: int):
    study = _study(request, pk)
    return render(request, "annotation/admin/dashboard.html", {
        "study": study, "rows": study_rater_rows(study=study), "short": items_below_target(study=study),
        "dimension": safety_dimension(study), "flag_counts": study_flag_counts(study=study),
        "undelivered": study_alerts_undelivered_count(study=study), "drift": study_drift(study=study),
    })


# --------------------------------------------------------------------------------------------- flags


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def study_flag_queue(request, pk: int):
    study = _study(request, pk)
    if request.method == "POST":
        flag = get_object_or_404(ItemFlag, pk=_int_or_404(request.POST.get("flag")), study=study)
        action = request.POST.get("action")
        with shown_as_message(request) as outcome:
            if action == "acknowledge":
                item_flag_acknowledge(flag=flag, actor=request.user)
            elif action == "resolve":
                item_flag_resolve(flag=flag, actor=request.user, note=request.POST.get("resolution_note", ""))
            else:
                raise ApplicationError("Choose acknowledge or resolve.")
        if outcome.ok:
            messages.success(request, "Flag acknowledged." if action == "acknowledge" else "Flag resolved.")
        return redirect(reverse("annotation:study_flags", kwargs={"pk": study.pk}) + _query(request))
    dangerous_flags_sync(study=study)
    resolved = request.GET.get("show") == "resolved"
    page = Paginator(study_flags(study=study, resolved=resolved), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotation/admin/flags.html", {
        "study": study, "page": page, "resolved": resolved, "reveal": request.GET.get("reveal") == "1",
        "alerts": study_undelivered_alerts(study=study), "counts": study_flag_counts(study=study),
    })


def _query(request) -> str:
    """Back to the same view of the queue (open or resolved, with or without persona and model)."""
    keep = {key: request.GET[key] for key in ("show", "reveal", "page") if request.GET.get(key)}
    return "?" + "&".join(f"{key}={value}" for key, value in keep.items() if value.isalnum()) if keep else ""


# --------------------------------------------------------------------------------------------- clinicians


class ClinicianAccountForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"}),
                               help_text="Letters, digits and @ . + - _ only.")
    email = forms.EmailField(required=False, help_text="Where the invitation goes when mail is on.")
    specialty = forms.ChoiceField(choices=Specialty.choices)
    years_in_practice = forms.IntegerField(min_value=0, max_value=80, initial=0)
    enrol = forms.BooleanField(required=False, initial=True, label="Enrol in this study")


def _clinician(username: str):
    user = get_user_model().objects.filter(username=username, groups__name=CLINICIAN).first()
    if user is None:
        raise ApplicationError(f"No clinician is called {username or '(no username)'}.", status_code=404)
    return user


def _set_password_url(request):
    def build(uidb64: str, token: str) -> str:
        return request.build_absolute_uri(reverse("password_set_confirm", kwargs={"uidb64": uidb64, "token": token}))
    return build


def _invite(request, user):
    """Send or show an invitation; returns it when it is to be shown once on this page."""
    with shown_as_message(request) as outcome:
        invitation = invitation_issue(user=user, set_password_url=_set_password_url(request))
    if not outcome.ok:
        return None
    if invitation.emailed_to:
        messages.success(request, f"An invitation to choose a password was emailed to {invitation.emailed_to}.")
        return None
    return invitation


def _enrol(request, study):
    with shown_as_message(request) as outcome:
        user = _clinician(request.POST.get("username", ""))
        study_rater_add(study=study, rater=user, actor=request.user)
    if outcome.ok:
        messages.success(request, f"{user.get_username()} is enrolled.")


def _withdraw(request, study):
    with shown_as_message(request) as outcome:
        user = _clinician(request.POST.get("username", ""))
        study_rater_remove(study=study, rater=user, actor=request.user)
    if outcome.ok:
        messages.success(request, f"{user.get_username()} is withdrawn; their unseen items were moved to others.")


def _create(request, study, form):
    """(created, the invitation to show once or None)."""
    if not form.is_valid():
        return False, None
    with shown_as_message(request) as outcome:
        user = study_clinician_create(study=study, actor=request.user, **form.cleaned_data)
    if not outcome.ok:
        for field, problem in outcome.error.extra.get("fields", {}).items():
            if field in form.fields:
                form.add_error(field, str(problem))
        return False, None
    messages.success(request, f"Account {user.get_username()} created"
                     + (" and enrolled." if form.cleaned_data["enrol"] else "."))
    return True, _invite(request, user)


def _reinvite(request, study):
    enrolment = (StudyRater.objects.select_related("rater")
                 .filter(study=study, rater__username=request.POST.get("username", "")).first())
    if enrolment is None:
        messages.error(request, "Only a clinician of this study can be invited from here.")
        return None
    return _invite(request, enrolment.rater)


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def study_raters(request, pk: int):
    study = _study(request, pk)
    can_create = user_can_create_accounts(request.user)
    blank = ClinicianAccountForm(prefix="new")
    if request.method == "GET":
        return _raters_page(request, study, blank, can_create)
    action = request.POST.get("action")
    if action in ("create", "invite") and not can_create:
        raise PermissionDenied("Only site admins can create accounts and invite.")
    if action == "create":
        form = ClinicianAccountForm(request.POST, prefix="new")
        created, invitation = _create(request, study, form)
        if not created:
            return _raters_page(request, study, form, can_create, status=400)
        if invitation is not None:  # mail is off: shown on this response only, never stored
            return _raters_page(request, study, blank, can_create, invitation=invitation)
    elif action == "invite":
        invitation = _reinvite(request, study)
        if invitation is not None:
            return _raters_page(request, study, blank, can_create, invitation=invitation)
    elif action in ("enrol", "withdraw"):
        (_enrol if action == "enrol" else _withdraw)(request, study)
    else:
        messages.error(request, "Unknown action.")
    return redirect("annotation:study_raters", pk=study.pk)


def _raters_page(request, study, form, can_create, *, invitation=None, status=200):
    return render(request, "annotation/admin/raters.html", {
        "study": study, "enrolments": study_enrolments(study=study),
        "candidates": clinicians_not_enrolled(study=study), "form": form, "can_create": can_create,
        "invitation": invitation, "by_email": invitations_by_email(),
        "invitation_days": max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400)),
        "set_password_url": request.build_absolute_uri(reverse("password_set")),
    }, status=status)
