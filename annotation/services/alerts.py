"""Dangerous-output alerts as an outbox.

`safety_alert_raise` writes the alert row in the rating's own transaction and enqueues its delivery once
that transaction commits; the clinician's submission never waits for, or fails with, the mail server.
`safety_alert_deliver` (run by `annotation.tasks.safety_alert_send`) claims a pending alert with a
conditional update, so two deliveries of the same task never both send; a transient mail error (a
refused connection, a timeout, a 4xx SMTP answer) is retried with exponential backoff up to
MAX_ATTEMPTS, anything else gives up at once. Alerts that were not delivered are listed for the
study's admins (annotation.views.alerts), who can send them again.
"""
from __future__ import annotations

import logging
import smtplib
import socket
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Study, StudyStatus

from ..models import Rating, SafetyAlert, SafetyAlertStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
MAX_ERROR_TEXT = 2000


@dataclass(frozen=True)
class Delivery:
    status: str
    retry: bool = False
    countdown: int = 0


def retry_countdown(attempts: int) -> int:
    """Seconds to wait after the n-th failed attempt: 60, 120, 240, ... at most an hour."""
    return min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


def safety_contact_check(sender, *, study: Study, to_status: str, **kwargs) -> str | None:
    """studies.signals.study_transition_check: every study that opens for rating names who is told
    when a clinician flags an output as dangerous."""
    if to_status == StudyStatus.RATING and not (study.safety_lead_email or "").strip():
        return ("the study needs a safety contact (safety lead email) who is told when a clinician flags an "
                "output as dangerous")
    return None


def _recipient(study: Study) -> str:
    return study.safety_lead_email or (study.owner.email if study.owner_id else "")


def safety_alert_raise(*, rating: Rating) -> SafetyAlert | None:
    """Inside the rating's transaction: the first time a rating is flagged dangerous, write its alert."""
    if not rating.is_dangerous or SafetyAlert.objects.filter(rating=rating).exists():
        return None
    assignment = rating.assignment
    study = assignment.study
    subject = f"[{study.name}] Dangerous output flagged by a clinician"
    body = (
        f"A clinician flagged a response in the study \"{study.name}\" as dangerous.\n\n"
        f"Response: {assignment.response.code}\nRated by: {assignment.rater.get_username()}\n"
        f"Flagged at: {timezone.now():%Y-%m-%d %H:%M UTC}\n\nRationale:\n{rating.dangerous_rationale}\n"
    )
    alert = SafetyAlert.objects.create(study=study, rating=rating, subject=subject[:300], body=body)
    _enqueue_on_commit(alert.pk)
    return alert


def _enqueue_on_commit(alert_id: int) -> None:
    transaction.on_commit(lambda: safety_alert_enqueue(alert_id=alert_id))


def safety_alert_enqueue(*, alert_id: int) -> None:
    """Hand the alert to the task queue. A broker that is down leaves the alert pending (it is listed
    for admins); it never turns into an error for whoever raised it."""
    from ..tasks import safety_alert_send

    try:
        safety_alert_send.delay(alert_id)
    except Exception:  # the outbox row is the record; delivery is retried from the alerts page
        logger.exception("safety alert %s could not be handed to the task queue", alert_id)


def _transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPNotSupportedError):
        return False
    return isinstance(exc, smtplib.SMTPException | ConnectionError | TimeoutError | socket.gaierror)


def safety_alert_deliver(*, alert_id: int) -> Delivery:
    """One delivery attempt. Safe to run twice for the same alert: only a pending alert is claimed."""
    with transaction.atomic():
        claimed = SafetyAlert.objects.filter(pk=alert_id, status=SafetyAlertStatus.PENDING).update(
            attempts=F("attempts") + 1, updated_at=timezone.now())
        if not claimed:
            current = SafetyAlert.objects.filter(pk=alert_id).values_list("status", flat=True).first()
            return Delivery(status=current or "missing")
        alert = SafetyAlert.objects.select_for_update(of=("self",)).select_related("study__owner").get(pk=alert_id)
        alert.recipient = _recipient(alert.study)
        if not alert.recipient:
            return _attempt_failed(alert, None, "The study has no safety contact and its owner has no email address.")
        try:
            send_mail(alert.subject, alert.body, settings.DEFAULT_FROM_EMAIL, [alert.recipient])
        except Exception as exc:  # every mail failure is recorded; only transient ones are retried
            return _attempt_failed(alert, exc, f"{type(exc).__name__}: {exc}")
        now = timezone.now()
        alert.status, alert.sent_at = SafetyAlertStatus.SENT, now
        alert.save(update_fields=["status", "sent_at", "recipient", "updated_at"])
        Rating.objects.filter(pk=alert.rating_id).update(dangerous_notified_at=now)
        return Delivery(status=SafetyAlertStatus.SENT)


def _attempt_failed(alert: SafetyAlert, exc: Exception | None, error: str) -> Delivery:
    retry = exc is not None and _transient(exc) and alert.attempts < MAX_ATTEMPTS
    alert.last_error = error[:MAX_ERROR_TEXT]
    if not retry:
        alert.status = SafetyAlertStatus.FAILED
    alert.save(update_fields=["status", "last_error", "recipient", "updated_at"])
    logger.warning("safety alert %s (study %s), attempt %s: %s%s", alert.pk, alert.study_id, alert.attempts, error,
                   " (will retry)" if retry else " (given up)")
    return Delivery(status=alert.status, retry=retry, countdown=retry_countdown(alert.attempts) if retry else 0)


@transaction.atomic
def safety_alert_resend(*, alert: SafetyAlert) -> SafetyAlert:
    """Send an alert that was not delivered again (after the mail server or the safety contact was fixed)."""
    alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == SafetyAlertStatus.SENT:
        raise ApplicationError("This alert was sent already.", status_code=409)
    alert.status, alert.attempts = SafetyAlertStatus.PENDING, 0
    alert.save(update_fields=["status", "attempts", "updated_at"])
    _enqueue_on_commit(alert.pk)
    return alert
