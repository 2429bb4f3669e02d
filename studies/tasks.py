"""Celery tasks of the default queue: ids in, services do the work."""
from celery import shared_task

from .services.imports import case_set_runner, import_run_execute


@shared_task(acks_late=True, ignore_result=True)
def case_set_import_task(run_id: int) -> None:
    """Check or import one stored case-set upload; the outcome is recorded on its ImportRun."""
    import_run_execute(run_id=run_id, runner=case_set_runner)
