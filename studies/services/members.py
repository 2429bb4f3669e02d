"""Study membership: who owns, runs and reads a study (studies.permissions decides what each may do)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.roles import ADMIN, RESEARCHER, user_has_role
from config.exceptions import ApplicationError

from ..choices import MemberRole
from ..models import Study, StudyMember
from ..permissions import study_can

# The site role a user needs before they can hold a study role.
SITE_ROLE_FOR = {MemberRole.OWNER: ADMIN, MemberRole.ADMIN: ADMIN, MemberRole.RESEARCHER: RESEARCHER}


def study_member_set(*, study: Study, user, role: str, by=None) -> StudyMember:
    """Add `user` to the study with `role`, or change their role. `by` (when given) must own the study."""
    if role not in MemberRole.values:
        raise ApplicationError(f"role must be one of {', '.join(MemberRole.values)}",
                               extra={"fields": {"role": "unknown role"}})
    if by is not None and not study_can(by, study, "members"):
        raise ApplicationError("Only the study's owner can change its members.", status_code=403)
    if not user_has_role(user, SITE_ROLE_FOR[role]):
        raise ApplicationError(f"{user.get_username()} is not a site {SITE_ROLE_FOR[role]}, so cannot be a study "
                               f"{role}.", extra={"fields": {"user": f"needs the site role {SITE_ROLE_FOR[role]}"}})
    with transaction.atomic():
        member, _ = StudyMember.objects.select_for_update().get_or_create(
            study=study, user=user, defaults={"role": role, "added_by": by})
        if member.role != role:
            if member.role == MemberRole.OWNER and not study.members.filter(role=MemberRole.OWNER).exclude(
                    pk=member.pk).exists():
                raise ApplicationError("A study keeps at least one owner; add another owner first.", status_code=409)
            member.role = role
            member.save(update_fields=["role", "updated_at"])
    return member


def study_member_remove(*, study: Study, username: str, by=None) -> None:
    if by is not None and not study_can(by, study, "members"):
        raise ApplicationError("Only the study's owner can change its members.", status_code=403)
    with transaction.atomic():
        member = study.members.select_for_update().filter(user__username=username).first()
        if member is None:
            raise ApplicationError(f"{username} is not a member of this study.", status_code=404)
        if member.role == MemberRole.OWNER and study.members.filter(role=MemberRole.OWNER).count() == 1:
            raise ApplicationError("A study keeps at least one owner; add another owner first.", status_code=409)
        member.delete()


def user_by_username(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApplicationError(f"There is no user {username!r}.", extra={"fields": {"user": "unknown user"}})
    return user
