"""Jobs (a kind: generate responses, or judge them), the judge's scores and its pairwise verdicts.

Responses live in studies."""
from django.conf import settings
from django.db import models

from studies.models import Case, ModelSpec, Persona, Response, Study, TimeStampedModel


class JobKind(models.TextChoices):
    GENERATE = "generate", "Generate responses"
    JUDGE = "judge", "Judge responses"
    JUDGE_PAIRWISE = "judge_pairwise", "Judge pairs of responses"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Finished with failures"
    CANCELLED = "cancelled", "Cancelled"


class Job(TimeStampedModel):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices, default=JobKind.GENERATE)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    chunk_size = models.PositiveIntegerField(default=0, help_text="Rows per Celery task when planned")

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    def __str__(self):
        return f"{self.get_kind_display()} job {self.pk} ({self.status})"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobItem(TimeStampedModel):
    """One planned row of a job, in one chunk (one Celery task).

    Generation: a grid cell (case, persona, model, sample) and its seed. Judging: the response scored.
    Pairwise judging: the pair (`response`, `response_b`, in canonical order) and the judge (`model`).
    Its status is the job's progress; a failed row keeps its error and is retried alone.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    chunk = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(ModelSpec, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sample_index = models.PositiveSmallIntegerField(default=0)
    seed = models.BigIntegerField(null=True, blank=True)
    response = models.ForeignKey(Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["job", "chunk", "status"]), models.Index(fields=["job", "status"])]
        ordering = ["id"]


class JudgeScore(TimeStampedModel):
    """The judge's rating of one response, on the study's rating schema (same shape as a clinician's).

    `values`: {dimension: {"value": str, "confidence": str, "cannot_assess": bool}} (like RatingValue:
    "cannot assess" is its own state with an empty value); empty when the answer was unparseable.
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="judge_scores")
    judge = models.ForeignKey(ModelSpec, on_delete=models.PROTECT, related_name="judge_scores")
    values = models.JSONField(default=dict, blank=True)
    raw_text = models.TextField(blank=True)
    parse_ok = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    prompt_messages = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the last attempt gave no valid score (parse or backend)")
    provenance = models.JSONField(default=dict, blank=True, help_text="Judge backend, sampling, seed, tokens")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "judge"], name="judgescore_once_per_judge")]


class PairwiseOrder(models.TextChoices):
    AB = "ab", "Response a shown first"
    BA = "ba", "Response b shown first"


class PairwiseChoice(models.TextChoices):
    A = "a", "Response a is better"
    B = "b", "Response b is better"
    TIE = "tie", "Tie"


class PairwiseVerdict(TimeStampedModel):
    """The judge's choice between two responses to the same case, shown in one order.

    (response_a, response_b) is the pair in canonical order (lower id first) whatever was shown first;
    `order` says which was "Answer 1", and `choice` is in canonical terms (null when unparseable).
    Every pair is asked in both orders; inference.pairwise turns the two into the pair's verdict.
    """

    judge = models.ForeignKey(ModelSpec, on_delete=models.PROTECT, related_name="pairwise_verdicts")
    response_a = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    order = models.CharField(max_length=2, choices=PairwiseOrder.choices)
    choice = models.CharField(max_length=3, choices=PairwiseChoice.choices, null=True, blank=True)
    raw_text = models.TextField(blank=True)
    parse_ok = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    prompt_messages = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the last attempt gave no valid choice (parse or backend)")
    provenance = models.JSONField(default=dict, blank=True, help_text="Judge backend, sampling, seed, tokens")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["judge", "response_a", "response_b", "order"],
                                    name="pairwiseverdict_once_per_order"),
            models.CheckConstraint(condition=models.Q(response_a__lt=models.F("response_b")),
                                   name="pairwiseverdict_canonical_order"),
        ]
        ordering = ["id"]
