"""The items clinicians rate: one generated (or imported) response per grid cell and sample."""
from django.db import models

from .base import TimeStampedModel, opaque_code
from .setup import Case, ModelSpec, Persona, Study


class ParseStatus(models.TextChoices):
    NOT_APPLICABLE = "n/a", "Not a discrete-answer task"
    PARSED = "parsed", "Parsed"
    PARTIAL = "partial", "Level parsed, no confidence"
    UNPARSEABLE = "unparseable", "Unparseable"


class Response(TimeStampedModel):
    """One model answer. The unique key makes generation idempotent; `code` is all a rater sees."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="responses")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="responses")
    persona = models.ForeignKey(Persona, on_delete=models.PROTECT, related_name="responses")
    model = models.ForeignKey(ModelSpec, on_delete=models.PROTECT, related_name="responses")
    sample_index = models.PositiveSmallIntegerField(default=0)
    code = models.CharField(max_length=32, unique=True, default=opaque_code, editable=False)

    text = models.TextField()
    # Reproducibility: exactly what was sent and how it was sampled.
    prompt_messages = models.JSONField(help_text="The chat messages sent, system prompt included")
    rendered_prompt = models.TextField(blank=True, help_text="The prompt after the chat template, where known")
    prompt_hash = models.CharField(max_length=64, blank=True)
    sampling = models.JSONField(default=dict, help_text="temperature, top_p, max_tokens, n, ...")
    seed = models.BigIntegerField(null=True, blank=True)
    backend = models.CharField(max_length=16)
    model_revision = models.CharField(max_length=200, blank=True)
    provenance = models.JSONField(default=dict, blank=True, help_text="Engine and software versions, hardware, job")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    latency_seconds = models.FloatField(null=True, blank=True)

    # Discrete-answer tasks (triage): the level and stated confidence parsed from the answer.
    parsed_label = models.CharField(max_length=32, blank=True)
    parsed_confidence = models.FloatField(null=True, blank=True, help_text="0-1")
    parse_status = models.CharField(max_length=16, choices=ParseStatus.choices, default=ParseStatus.NOT_APPLICABLE)

    # Blinding: responses whose text reveals the persona, and the phrases that do.
    leaks_persona = models.BooleanField(default=False)
    leak_spans = models.JSONField(default=list, blank=True, help_text="[[start, end], ...] of revealing phrases")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "case", "persona", "model", "sample_index"], name="response_grid_cell_unique"
            )
        ]
        indexes = [models.Index(fields=["study", "persona"]), models.Index(fields=["study", "case"])]
        ordering = ["id"]

    def __str__(self):
        return f"response {self.code}"
