from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .models import RaterProfile, Specialty
from .roles import ADMIN, ROLES, roles_ensure

User = get_user_model()


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "",
                specialty: str = Specialty.OTHER, years_in_practice: int = 0) -> User:
    """Create (or update) a user with exactly one role; clinicians also get a rater profile."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    roles_ensure()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.email = email or user.email
    user.is_staff = role == ADMIN
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    if role == "clinician":
        RaterProfile.objects.update_or_create(
            user=user, defaults={"specialty": specialty, "years_in_practice": years_in_practice}
        )
    return user
