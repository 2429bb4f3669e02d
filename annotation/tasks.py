"""Background work of the rating side: delivering dangerous-output alerts (annotation.services.alerts)."""
from celery import shared_task

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
