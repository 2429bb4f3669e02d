"""Reads for the study team's flag queue: open flags (dangerous first, then those nobody acknowledged),
resolved ones, and the counts the dashboard shows."""
from __future__ import annotations

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from studies.models import Study

from ..models import ItemFlag, Rating, SafetyAlert
from ..models.rating import DANGEROUS_FLAG
from .alerts import UNDELIVERED

RELATED = (
    "rater", "acknowledged_by", "resolved_by",
    "assignment__rating", "assignment__response__case", "assignment__response__persona", "assignment__response__model",
    "preference_assignment__comparison__case", "preference_assignment__comparison__response_a__persona",
    "preference_assignment__comparison__response_a__model", "preference_assignment__comparison__response_b__persona",
    "preference_assignment__comparison__response_b__model",
)


def study_flags(*, study: Study, resolved: bool = False) -> QuerySet[ItemFlag]:
    flags = ItemFlag.objects.filter(study=study, resolved_at__isnull=not resolved).select_related(*RELATED)
    if resolved:
        return flags.order_by("-resolved_at", "-id")
    dangerous_first = Case(When(kind=DANGEROUS_FLAG, then=Value(0)), default=Value(1), output_field=IntegerField())
    unacknowledged_first = Case(When(acknowledged_at__isnull=True, then=Value(0)), default=Value(1),
                                output_field=IntegerField())
    return flags.order_by(dangerous_first, unacknowledged_first, "-created_at", "-id")


def study_undelivered_alerts(*, study: Study) -> QuerySet[SafetyAlert]:
    return (SafetyAlert.objects.filter(study=study, status__in=UNDELIVERED)
            .select_related("rating__assignment__response").order_by("created_at", "id"))


def study_flag_counts(*, study: Study) -> dict[str, int]:
    """Open flags, of which dangerous and not yet acknowledged; dangerous ratings not yet listed count as open
    and unacknowledged. Two queries."""
    counts = ItemFlag.objects.filter(study=study, resolved_at__isnull=True).aggregate(
        open=Count("id"), dangerous=Count("id", filter=Q(kind=DANGEROUS_FLAG)),
        unacknowledged=Count("id", filter=Q(acknowledged_at__isnull=True)),
    )
    listed = ItemFlag.objects.filter(assignment_id=OuterRef("assignment_id"), kind=DANGEROUS_FLAG)
    unlisted = Rating.objects.filter(assignment__study=study, is_dangerous=True).exclude(Exists(listed)).count()
    return {key: value + unlisted for key, value in counts.items()}
