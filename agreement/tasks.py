"""Celery tasks: thin, take ids, re-read the database, call a service."""
from celery import shared_task
from celery.signals import worker_init
from django.conf import settings

from . import services
from .metrics.mixed import import_fitting_libraries


@shared_task(acks_late=True)
def report_build_task(report_id: int) -> str:
    """Build (or reuse) one report. Failures, the soft time limit included, are recorded on the report."""
    return services.report_build(report_id=report_id).status


@worker_init.connect
def preload_report_libraries(sender, **kwargs) -> bool:
    """A worker that builds reports (it consumes the default queue) imports the model-fitting libraries before
    it forks its processes: they share them, and no process's first report waits for them."""
    if settings.CELERY_TASK_DEFAULT_QUEUE not in sender.app.amqp.queues.consume_from:
        return False
    import_fitting_libraries()
    return True
