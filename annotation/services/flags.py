"""The study team's queue of flagged items: problems clinicians report and responses rated dangerous.

A dangerous rating is raised through the rating form (and emailed to the safety contact, see
annotation.services.alerts); `dangerous_flags_sync` gives each such rating one ItemFlag of kind
"dangerous" so that the team acknowledges and resolves it like any other flag. Acknowledging says
someone is looking at it; resolving closes it with a note. Both record who and when and neither is
undone.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Study

from ..models import ItemFlag, Rating, SafetyAlert
from ..models.rating import DANGEROUS_FLAG

MAX_NOTE = 10_000


def dangerous_flags_sync(*, study: Study) -> int:
    """One flag per rating of the study that marks its response dangerous; idempotent. Returns how many
    were added. A flag stays when the rating is later revised (the page says so)."""
    existing = ItemFlag.objects.filter(assignment_id=OuterRef("assignment_id"), kind=DANGEROUS_FLAG)
    missing = list(Rating.objects.filter(assignment__study=study, is_dangerous=True).exclude(Exists(existing))
                   .values_list("assignment_id", "assignment__rater_id", "dangerous_rationale"))
    if not missing:
        return 0
    ItemFlag.objects.bulk_create(
        [ItemFlag(study=study, rater_id=rater_id, assignment_id=assignment_id, kind=DANGEROUS_FLAG, note=rationale)
         for assignment_id, rater_id, rationale in missing],
        ignore_conflicts=True,
    )
    # Dated when the clinician flagged the response (its alert was written then), not when it was listed.
    flagged_at = SafetyAlert.objects.filter(rating__assignment_id=OuterRef("assignment_id")).values("created_at")[:1]
    ItemFlag.objects.filter(kind=DANGEROUS_FLAG, assignment_id__in=[m[0] for m in missing]).update(
        created_at=Coalesce(Subquery(flagged_at), F("created_at")))
    return len(missing)


def _locked(flag: ItemFlag) -> ItemFlag:
    return ItemFlag.objects.select_for_update().get(pk=flag.pk)


@transaction.atomic
def item_flag_acknowledge(*, flag: ItemFlag, actor) -> ItemFlag:
    """Someone on the study team is looking at it. Acknowledging twice keeps the first."""
    flag = _locked(flag)
    if flag.resolved_at is not None:
        raise ApplicationError("This flag is resolved already.", status_code=409)
    if flag.acknowledged_at is None:
        flag.acknowledged_by, flag.acknowledged_at = actor, timezone.now()
        flag.save(update_fields=["acknowledged_by", "acknowledged_at", "updated_at"])
    return flag


@transaction.atomic
def item_flag_resolve(*, flag: ItemFlag, actor, note: str) -> ItemFlag:
    """Closed, with what was done about it. A flag nobody acknowledged is acknowledged by whoever resolves it."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Say how the flag was resolved.", extra={"fields": {"resolution_note": "required"}})
    if len(note) > MAX_NOTE:
        raise ApplicationError(f"The note is longer than {MAX_NOTE} characters.",
                               extra={"fields": {"resolution_note": "too long"}})
    flag = _locked(flag)
    if flag.resolved_at is not None:
        raise ApplicationError("This flag is resolved already.", status_code=409)
    now = timezone.now()
    if flag.acknowledged_at is None:
        flag.acknowledged_by, flag.acknowledged_at = actor, now
    flag.resolved_by, flag.resolved_at, flag.resolution_note = actor, now, note
    flag.save(update_fields=["acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "resolution_note",
                             "updated_at"])
    return flag
