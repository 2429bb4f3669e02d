"""Built reports, cached by (study, format, parameters, data snapshot hash), and locked analysis plans."""
import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.crypto import constant_time_compare, salted_hmac

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


# Names what the signature is for, so that no other HMAC of the same SECRET_KEY can stand in for it.
SIGNATURE_SALT = "agreement.Preregistration.content_hash"


def canonical_json(document) -> bytes:
    """The one byte form a plan is hashed in: sorted keys, no whitespace, UTF-8 (not \\u escapes)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def document_hash(document) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def hash_signature(content_hash: str) -> str:
    """HMAC-SHA256 of the hash with this deployment's SECRET_KEY: only this installation can have issued it."""
    return salted_hmac(SIGNATURE_SALT, content_hash, algorithm="sha256").hexdigest()


class Preregistration(models.Model):
    """A study's analysis plan, locked before the study opens. Written once: there is no update path, so a
    report can tell whether it follows what was planned before any rating was seen."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="preregistration")
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    locked_at = models.DateTimeField()
    document = models.JSONField(help_text="Hypotheses, outcomes, report parameters and the design as locked")
    content_hash = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of the document")
    signature = models.CharField(max_length=64, help_text="HMAC-SHA256 of content_hash with the SECRET_KEY")

    class Meta:
        ordering = ["-locked_at"]

    def __str__(self):
        return f"Pre-registration of {self.study} ({self.content_hash[:12]})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A pre-registration is locked: it is never changed")
        super().save(*args, **kwargs)

    def verify(self) -> dict:
        """Recompute the hash from the stored document and the signature from the stored hash."""
        hash_ok = constant_time_compare(document_hash(self.document), self.content_hash)
        signature_ok = constant_time_compare(hash_signature(self.content_hash), self.signature)
        return {"content_hash_matches": hash_ok, "signature_valid": signature_ok, "valid": hash_ok and signature_ok}
