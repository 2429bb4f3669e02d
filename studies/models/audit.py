"""The audit log: what changed a study, who did it and when. Rows are written once and never changed."""
from django.conf import settings
from django.db import models

from .setup import Study


class AuditAction(models.TextChoices):
    STUDY_CREATED = "study_created", "Created"
    STUDY_UPDATED = "study_updated", "Settings edited"
    RATING_SCHEMA_CHANGED = "rating_schema_changed", "Rating schema changed"
    STUDY_TRANSITION = "study_transition", "Status changed"
    STUDY_EXPORTED = "study_exported", "Exported"
    MODEL_SPEC_UPDATED = "model_spec_updated", "Model spec edited"
    PERSONA_UPDATED = "persona_updated", "Persona edited"
    RATER_ENROLLED = "rater_enrolled", "Clinician enrolled"
    RATER_WITHDRAWN = "rater_withdrawn", "Clinician withdrawn"


class AuditEvent(models.Model):
    """One change. `study` is empty for a change to something no study uses (a model spec, a persona)."""

    study = models.ForeignKey(Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Empty: a command, a task or the system")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["study", "-created_at"])]

    def __str__(self):
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.action

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("AuditEvent is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("AuditEvent is append-only")
