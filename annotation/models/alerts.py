"""The outbox of dangerous-output alerts: written in the rating's transaction, sent by a task."""
from django.db import models

from studies.models import Study, TimeStampedModel

from .rating import Rating


class SafetyAlertStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not delivered"


class SafetyAlert(TimeStampedModel):
    """One email to the study's safety contact about a response flagged dangerous. The subject and body
    are fixed when the flag is raised (opaque response code only); the recipient is read when sending,
    so a corrected safety contact receives an alert sent again."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="safety_alerts")
    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="safety_alert")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=SafetyAlertStatus.choices, default=SafetyAlertStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    recipient = models.EmailField(blank=True, help_text="Where the last attempt was addressed")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["study", "status"])]

    def __str__(self):
        return f"Safety alert {self.pk} ({self.status})"
