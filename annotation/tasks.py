"""Background work of the rating side: delivering dangerous-output alerts (annotation.services.alerts) and
rendering a study's texts when it opens for rating (annotation.blinding.study_texts_render)."""
from celery import shared_task

from studies.models import Study

from .blinding import study_texts_render
from .services.alerts import MAX_ATTEMPTS, safety_alert_deliver


@shared_task(bind=True, acks_late=True, max_retries=MAX_ATTEMPTS)
def safety_alert_send(self, alert_id: int) -> str:
    """Deliver one alert; a transient mail error schedules the next attempt with exponential backoff.
    Idempotent: an alert already sent (or given up) is left alone. Run inline (no broker), the attempts
    follow one another at once, still at most MAX_ATTEMPTS."""
    delivery = safety_alert_deliver(alert_id=alert_id)
    while delivery.retry and self.request.is_eager:
        delivery = safety_alert_deliver(alert_id=alert_id)
    if delivery.retry:
        raise self.retry(countdown=delivery.countdown)
    return str(delivery.status)


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def study_texts_prerender(study_id: int) -> int:
    """Idempotent (a rendering is a pure function of its text): a retry or a second run only renders again."""
    study = Study.objects.filter(pk=study_id).first()
    return study_texts_render(study=study) if study is not None else 0
