from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .roles import ADMIN, CLINICIAN, RESEARCHER, primary_role
from .services import invitation_tokens, invitation_user

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


class InvitationPasswordSetView(auth_views.PasswordResetConfirmView):
    """An invited user's one-time set-password link: a new password that passes the validators. The link
    works once (it is void as soon as a password is set) and expires after settings.PASSWORD_RESET_TIMEOUT."""

    template_name = "accounts/password_set.html"
    token_generator = invitation_tokens
    reset_url_token = "set-password"
    success_url = reverse_lazy("password_set_done")


class OneTimePasswordSetForm(SetPasswordForm):
    """The username and the one-time password an admin handed over (mail off), then a password of one's own."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    one_time_password = forms.CharField(
        max_length=100, strip=True, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        help_text="As your study's admin gave it to you. It works once.")
    field_order = ["username", "one_time_password", "new_password1", "new_password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(None, *args, **kwargs)

    def clean(self):
        self.user = invitation_user(username=self.cleaned_data.get("username", ""),
                                    one_time_password=self.cleaned_data.get("one_time_password", ""))
        if self.user is None:
            raise forms.ValidationError(
                "This username and one-time password do not match, or the one-time password was used or has "
                "expired. Ask your study's admin for a new one.", code="invalid_one_time_password")
        return super().clean()


@never_cache
def password_set_one_time(request):
    form = OneTimePasswordSetForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("password_set_done")
    return render(request, "accounts/password_set.html", {"form": form, "validlink": True, "one_time": True})


def password_set_done(request):
    return render(request, "accounts/password_set_done.html")
