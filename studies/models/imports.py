"""Uploads parsed and imported off the request: one row per run, read by the page that polls it."""
from django.conf import settings
from django.db import models

from .setup import Study


class ImportKind(models.TextChoices):
    CASE_SET = "case_set", "Case set"
    RESPONSES = "responses", "Responses"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """A stored upload checked (dry run) or imported by a Celery task; `result` is the import's result as a dict
    (every row error included), `error` a failure of the run itself (the file was gone, the task crashed)."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    dry_run = models.BooleanField(default=True)
    study = models.ForeignKey(Study, null=True, blank=True, on_delete=models.CASCADE, related_name="import_runs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    path = models.CharField(max_length=500, help_text="The stored upload (default storage)")
    filename = models.CharField(max_length=255)
    options = models.JSONField(default=dict, blank=True, help_text="What the import is asked to do (name, model...)")
    stage = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} import #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def ok(self) -> bool:
        return self.status == ImportStatus.DONE and bool(self.result.get("ok"))
