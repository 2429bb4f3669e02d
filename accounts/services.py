from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from config.exceptions import ApplicationError

from .models import RaterProfile, Specialty
from .roles import ADMIN, ROLES, roles_ensure

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
    user.groups.set([Group.objects.get(name=role)])
    if role == "clinician":
        RaterProfile.objects.update_or_create(
            user=user, defaults={"specialty": specialty, "years_in_practice": years_in_practice}
        )
    return user


def password_validate(password: str, *, user=None) -> None:
    """Every configured validator's verdict at once, as {"password": [problem, ...]}."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        problems = list(exc.messages)
        raise ApplicationError("Password rejected: " + " ".join(problems), extra={"password": problems}) from exc
