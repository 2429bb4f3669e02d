"""Built reports. A report is cached by (study, format, parameters, data snapshot hash)."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from studies.models import Study, TimeStampedModel


class ReportFormat(models.TextChoices):
    HTML = "html", "HTML report with plots"
    JSON = "json", "JSON with every coefficient"
    CSV = "csv", "Tidy CSV, one row per rating"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Building"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Report(TimeStampedModel):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="reports")
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0-1")
    progress_message = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, help_text="Seed, bootstrap resamples, cannot-assess rule, ...")
    parameters_key = models.CharField(max_length=64, help_text="sha256 of the canonical parameters")
    data_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the ratings and scores used")
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="The report's figures, for the study page")
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The earlier report whose file was reused because the data had not changed",
    )
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the process building it (every REPORT_HEARTBEAT_SECONDS)"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["study", "format", "parameters_key", "data_hash", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="report_progress_0_1"),
        ]

    def __str__(self):
        return f"{self.study} {self.format} report #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ReportStatus.DONE, ReportStatus.FAILED)
