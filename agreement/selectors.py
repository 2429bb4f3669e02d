"""Reads for the report pages and API."""
from __future__ import annotations

from django.db.models import Count, QuerySet

from studies.models import Study
from studies.permissions import studies_for

from .models import Report, ReportFormat, ReportStatus


def study_list_with_reports(*, user) -> QuerySet[Study]:
    """The studies `user` may report on (studies.permissions), with their report counts."""
    return studies_for(user, "report").annotate(n_reports=Count("reports")).order_by("name")


def reports_for(*, user) -> QuerySet[Report]:
    return Report.objects.filter(study__in=studies_for(user, "report"))


def report_list_for_study(*, study: Study, limit: int = 20) -> list[Report]:
    return list(Report.objects.filter(study=study).select_related("requested_by")[:limit])


def report_latest_with_figures(*, study: Study) -> Report | None:
    """The newest finished report whose summary holds the coefficients (HTML or JSON builds)."""
    return (
        Report.objects.filter(study=study, status=ReportStatus.DONE, format__in=[ReportFormat.HTML, ReportFormat.JSON])
        .order_by("-finished_at", "-id").first()
    )


def report_latest_done(*, study: Study, format: str) -> Report | None:
    return (
        Report.objects.filter(study=study, status=ReportStatus.DONE, format=format)
        .exclude(file="").order_by("-finished_at", "-id").first()
    )
