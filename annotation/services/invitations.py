"""New clinician accounts made from a study's clinicians page: created (site admins only) and enrolled in
one transaction; the invitation (accounts.services.invitation_issue) goes out after it commits."""
from __future__ import annotations

from django.db import transaction

from accounts.services import clinician_account_create, invitations_by_email, user_can_create_accounts
from config.exceptions import ApplicationError
from studies.models import Study

from .assignments import study_rater_add


@transaction.atomic
def study_clinician_create(*, study: Study, actor, username: str, email: str, specialty: str,
                           years_in_practice: int, enrol: bool = True):
    if not user_can_create_accounts(actor):
        raise ApplicationError("Only site admins can create accounts.", status_code=403)
    if invitations_by_email() and not (email or "").strip():
        raise ApplicationError("The invitation is sent by email: give an email address.",
                               extra={"fields": {"email": "required"}})
    user = clinician_account_create(username=username, email=email, specialty=specialty,
                                    years_in_practice=years_in_practice)
    if enrol:
        study_rater_add(study=study, rater=user, actor=actor)
    return user
