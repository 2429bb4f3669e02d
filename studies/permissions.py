"""Who may do what with a study: the one place where study-level roles are checked.

A site role (accounts.roles: admin, researcher, clinician, as groups) says what a user may do at
all; a study role (StudyMember: owner, admin, researcher) says in which studies. Both must hold:
an admin of study A manages A, not B; a researcher reads and reports only the studies they are a
member of. A site superuser may do everything everywhere. Creating a study, uploading case sets and
editing the shared persona and model library are site-wide admin actions. Clinicians take part
through their enrolment (annotation) and reach only their own items, by opaque code.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.roles import ADMIN, RESEARCHER, user_has_role

from .choices import MemberRole
from .models import Study

# action -> (study roles that may do it, site roles that may do it with such a study role)
ACTIONS: dict[str, tuple[frozenset, tuple[str, ...]]] = {
    "view": (frozenset({MemberRole.OWNER, MemberRole.ADMIN, MemberRole.RESEARCHER}), (ADMIN, RESEARCHER)),
    "report": (frozenset({MemberRole.OWNER, MemberRole.ADMIN, MemberRole.RESEARCHER}), (ADMIN, RESEARCHER)),
    "manage": (frozenset({MemberRole.OWNER, MemberRole.ADMIN}), (ADMIN,)),
    "members": (frozenset({MemberRole.OWNER}), (ADMIN,)),
    # Locking the analysis plan commits the study: its owner's decision, whatever their site role.
    "preregister": (frozenset({MemberRole.OWNER}), (ADMIN, RESEARCHER)),
}


def _roles(action: str) -> tuple[frozenset, tuple[str, ...]]:
    if action not in ACTIONS:
        raise ValueError(f"unknown study action {action!r}")
    return ACTIONS[action]


def study_role(user, study: Study) -> str | None:
    if not user.is_authenticated:
        return None
    return study.members.filter(user=user).values_list("role", flat=True).first()


def study_can(user, study: Study, action: str) -> bool:
    study_roles, site_roles = _roles(action)
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user_has_role(user, *site_roles) and study_role(user, study) in study_roles


def studies_for(user, action: str = "view", queryset: QuerySet | None = None) -> QuerySet[Study]:
    """The studies `user` may do `action` with (all of them for a superuser)."""
    study_roles, site_roles = _roles(action)
    queryset = Study.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    if not user_has_role(user, *site_roles):
        return queryset.none()
    return queryset.filter(members__user=user, members__role__in=study_roles)


def study_for(user, pk, action: str = "view", queryset: QuerySet | None = None) -> Study:
    """The study for a page or an API call: 404 when the user may not even see it, 403 when they may see
    it but not do `action` (so a non-member cannot learn which study ids exist)."""
    queryset = Study.objects.all() if queryset is None else queryset
    try:
        study = studies_for(user, "view", queryset).get(pk=pk)
    except (Study.DoesNotExist, ValueError, TypeError):
        raise Http404("No such study.") from None
    if action != "view" and not study_can(user, study, action):
        raise PermissionDenied(f"You may not {action} this study.")
    return study
