from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from config.exceptions import ApplicationError

from .models import RaterProfile, Specialty
from .roles import ADMIN, CLINICIAN, ROLES, roles_ensure

User = get_user_model()


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "",
                specialty: str = Specialty.OTHER, years_in_practice: int = 0) -> User:
    """Create (or update) a user with exactly one role; clinicians also get a rater profile.

    The password must pass settings.AUTH_PASSWORD_VALIDATORS: ApplicationError lists every problem.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    user = User.objects.filter(username=username).first() or User(username=username)
    user.email = email or user.email
    password_validate(password, user=user)
    roles_ensure()
    user.is_staff = role == ADMIN
    user.set_password(password)
    user.save()
    _role_set(user, role, specialty=specialty, years_in_practice=years_in_practice)
    return user


def _role_set(user, role: str, *, specialty: str, years_in_practice: int) -> None:
    user.groups.set([Group.objects.get(name=role)])
    if role == CLINICIAN:
        RaterProfile.objects.update_or_create(
            user=user, defaults={"specialty": specialty, "years_in_practice": years_in_practice}
        )


def password_validate(password: str, *, user=None) -> None:
    """Every configured validator's verdict at once, as {"password": [problem, ...]}."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        problems = list(exc.messages)
        raise ApplicationError("Password rejected: " + " ".join(problems), extra={"password": problems}) from exc


# --------------------------------------------------------------------------------------------- invitations
#
# An invited clinician's account has no usable password until they choose one. The invitation is a
# one-time password: a token from InvitationTokenGenerator (Django's password-reset tokens with their own
# salt, so neither kind opens the other's page), valid for settings.PASSWORD_RESET_TIMEOUT and void as soon
# as a password is set. It travels as a set-password link by email, or, when mail is off, is shown once to
# the admin who issued it and typed on the set-password page with the username.


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.services.InvitationTokenGenerator"


invitation_tokens = InvitationTokenGenerator()
MAIL_OFF_BACKENDS = ("console", "locmem", "dummy", "filebased")


def user_can_create_accounts(user) -> bool:
    """Site admins only (a superuser, or whoever holds Django's "add user" permission); running a study
    is not enough."""
    return bool(user.is_authenticated and user.is_active and user.has_perm("auth.add_user"))


def invitations_by_email() -> bool:
    """settings.INVITATIONS_BY_EMAIL when set; otherwise on unless mail goes to the console, memory or a file."""
    configured = getattr(settings, "INVITATIONS_BY_EMAIL", None)
    if configured is not None:
        return bool(configured)
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else ""
    return backend not in MAIL_OFF_BACKENDS


@transaction.atomic
def clinician_account_create(*, username: str, email: str, specialty: str = Specialty.OTHER,
                             years_in_practice: int = 0) -> User:
    """A new clinician with a rater profile and no usable password yet (see `invitation_issue`)."""
    username = (username or "").strip()
    errors = {}
    try:
        User.username_validator(username)
    except ValidationError as exc:
        errors["username"] = " ".join(exc.messages)
    if not username:
        errors["username"] = "required"
    elif User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(f"The username {username} is taken.", status_code=409,
                               extra={"fields": {"username": "taken"}})
    if specialty not in Specialty.values:
        errors["specialty"] = "unknown"
    if not isinstance(years_in_practice, int) or not 0 <= years_in_practice <= 80:
        errors["years_in_practice"] = "a whole number from 0 to 80"
    if errors:
        raise ApplicationError("The account could not be created.", extra={"fields": errors})
    roles_ensure()
    user = User(username=username, email=(email or "").strip())
    user.set_unusable_password()
    user.save()
    _role_set(user, CLINICIAN, specialty=specialty, years_in_practice=years_in_practice)
    return user


@dataclass(frozen=True)
class Invitation:
    user: object
    uidb64: str
    one_time_password: str
    emailed_to: str = ""  # empty: mail is off, show the one-time password once


def invitation_issue(*, user, set_password_url, by_email: bool | None = None) -> Invitation:
    """A one-time password for `user`. `set_password_url(uidb64, token)` is the absolute link to put in the
    email. By email when mail is on (`invitations_by_email`), else returned for the caller to show once.
    A user who chose a password already gets none (their password is theirs; they change it when logged in)."""
    if user.has_usable_password():
        raise ApplicationError(f"{user.get_username()} has set a password already.", status_code=409)
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_tokens.make_token(user)
    if not (invitations_by_email() if by_email is None else by_email):
        return Invitation(user=user, uidb64=uidb64, one_time_password=token)
    if not user.email:
        raise ApplicationError(f"{user.get_username()} has no email address; mail is on, so nothing can be sent.",
                               extra={"fields": {"email": "required"}})
    link = set_password_url(uidb64, token)
    days = max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400))
    try:
        send_mail(
            "Your Persona Paradox Lab account",
            f"An account was created for you (username: {user.get_username()}).\n\n"
            f"Choose your password here within {days} day{'s' if days != 1 else ''}; the link works once:\n{link}\n",
            settings.DEFAULT_FROM_EMAIL, [user.email],
        )
    except Exception as exc:  # any mail failure is the admin's to see; the account stays and can be invited again
        raise ApplicationError(f"The invitation could not be sent ({type(exc).__name__}); try again later.",
                               status_code=502) from exc
    return Invitation(user=user, uidb64=uidb64, one_time_password="", emailed_to=user.email)


def invitation_user(*, username: str, one_time_password: str):
    """The invited user whose one-time password this is, or None."""
    user = User.objects.filter(username=(username or "").strip(), is_active=True).first()
    if user is None or not invitation_tokens.check_token(user, (one_time_password or "").strip()):
        return None
    return user
