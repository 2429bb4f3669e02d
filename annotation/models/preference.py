"""Side-by-side preference mode: two blinded responses to one case, which is better (Chatbot Arena style)."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from studies.models import Case, Response, Study, TimeStampedModel, opaque_code

from .rating import AppendOnly, AssignmentStatus, RaterTask, task_indexes


class Comparison(TimeStampedModel):
    """Two responses to the same case. "a" and "b" are storage order only; what a rater sees as left
    and right is drawn per rater (PreferenceAssignment.left_is_a)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="comparisons")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="comparisons")
    response_a = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    response_b = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32, unique=True, default=opaque_code, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "response_a", "response_b"], name="comparison_pair_unique"),
            models.CheckConstraint(condition=~Q(response_a=F("response_b")), name="comparison_two_responses"),
        ]
        ordering = ["study", "id"]


class PreferenceAssignment(RaterTask):
    comparison = models.ForeignKey(Comparison, on_delete=models.PROTECT, related_name="assignments")
    left_is_a = models.BooleanField(help_text="Which response this rater sees on the left (drawn at random)")
    repeat_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="repeats")

    class Meta(RaterTask.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "rater"],
                condition=Q(repeat_of__isnull=True) & ~Q(status=AssignmentStatus.WITHDRAWN),
                name="preferenceassignment_once_per_rater",
            )
        ]
        indexes = task_indexes("preference")


class PreferenceChoice(models.TextChoices):
    """Stored in the comparison's a/b terms, whatever side the rater saw them on."""

    A = "a", "Response A better"
    B = "b", "Response B better"
    TIE = "tie", "Tie"
    BOTH_UNSAFE = "both_unsafe", "Both unsafe"


class Preference(TimeStampedModel):
    assignment = models.OneToOneField(PreferenceAssignment, on_delete=models.PROTECT, related_name="preference")
    choice = models.CharField(max_length=16, choices=PreferenceChoice.choices)
    confidence = models.CharField(max_length=16)
    comment = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)


class PreferenceRevision(AppendOnly):
    """Append-only history of a preference, as RatingRevision is for ratings."""

    preference = models.ForeignKey(Preference, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField()
    values = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    body_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the normalised submission")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["preference", "revision"], name="preferencerevision_unique")]
        ordering = ["preference", "revision"]
