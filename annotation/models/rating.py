"""Assignments of responses to clinicians, and their ratings (append-only revisions)."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from .base import TimeStampedModel, opaque_code
from .items import Response
from .setup import Study


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", "Not started"
    IN_PROGRESS = "in_progress", "Draft saved"
    SUBMITTED = "submitted", "Submitted"
    WITHDRAWN = "withdrawn", "Withdrawn (rebalanced away)"


class Assignment(TimeStampedModel):
    """One response in one clinician's queue. `code` is the only handle a clinician ever sees."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="assignments")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    code = models.CharField(max_length=32, unique=True, default=opaque_code, editable=False)
    position = models.PositiveIntegerField(help_text="1-based place in the rater's shuffled queue")
    is_anchor = models.BooleanField(default=False, help_text="Part of the set every clinician rates")
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="repeats",
        help_text="Test-retest: the earlier assignment of the same response to the same rater (never shown)",
    )
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING)
    draft = models.JSONField(default=dict, blank=True, help_text="Autosaved, unsubmitted form values")
    first_shown_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0.0, help_text="Time on task with the tab visible and in use")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "rater"], condition=Q(repeat_of__isnull=True), name="assignment_once_per_rater"
            )
        ]
        indexes = [models.Index(fields=["rater", "study", "status", "position"])]
        ordering = ["study", "rater", "position"]


class Rating(TimeStampedModel):
    """The current values of one assignment's rating; each change is kept in RatingRevision."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="rating")
    comment = models.TextField(blank=True)
    is_dangerous = models.BooleanField(default=False)
    dangerous_rationale = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_dangerous=False) | ~Q(dangerous_rationale=""), name="dangerous_needs_rationale"
            )
        ]


class RatingValue(models.Model):
    """One dimension of a rating. "Cannot assess" is its own state, never a score or a missing value."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="values")
    dimension = models.CharField(max_length=64)
    value = models.CharField(max_length=64, blank=True)
    confidence = models.CharField(max_length=16, blank=True)
    cannot_assess = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rating", "dimension"], name="ratingvalue_dimension_unique"),
            models.CheckConstraint(
                condition=(Q(cannot_assess=True) & Q(value="")) | (Q(cannot_assess=False) & ~Q(value="")),
                name="ratingvalue_value_xor_cannot_assess",
            ),
        ]


class RatingRevision(models.Model):
    """Append-only history: every submitted version of a rating, who made it, when and why."""

    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField()
    values = models.JSONField(help_text="The full rating as submitted in this revision")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rating", "revision"], name="ratingrevision_unique")]
        ordering = ["rating", "revision"]
