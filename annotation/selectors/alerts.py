"""Reads for the study's admins: its dangerous-output alerts, undelivered first."""
from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from studies.models import Study

from ..models import SafetyAlert, SafetyAlertStatus

UNDELIVERED = (SafetyAlertStatus.PENDING, SafetyAlertStatus.FAILED)


def study_alerts(*, study: Study) -> QuerySet[SafetyAlert]:
    order = Case(When(status=SafetyAlertStatus.SENT, then=Value(1)), default=Value(0), output_field=IntegerField())
    return (SafetyAlert.objects.filter(study=study)
            .select_related("rating__assignment__response", "rating__assignment__rater")
            .order_by(order, "-created_at", "-id"))


def study_alerts_undelivered_count(*, study: Study) -> int:
    return SafetyAlert.objects.filter(study=study, status__in=UNDELIVERED).count()
