"""Celery tasks: thin, take ids, re-read the database, call a service."""
from celery import shared_task

from . import services


@shared_task(acks_late=True)
def report_build_task(report_id: int) -> str:
    """Build (or reuse) one report. Failures, the soft time limit included, are recorded on the report."""
    return services.report_build(report_id=report_id).status
