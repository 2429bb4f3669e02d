"""Who rates what (enrolments, assignments), the ratings themselves (append-only revisions), and flags."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from studies.models import Response, Study, TimeStampedModel, opaque_code


class StudyRater(TimeStampedModel):
    """A clinician enrolled in a study. `code` names the study in the clinician's URLs (never its id)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="enrolments")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments")
    code = models.CharField(max_length=32, unique=True, default=opaque_code, editable=False)
    is_active = models.BooleanField(default=True, help_text="Off: left the study; their unseen work was moved")
    instructions_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When the clinician read the study's instructions and went on")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "rater"], name="studyrater_unique")]
        ordering = ["study", "rater"]

    def __str__(self):
        return f"{self.rater} in {self.study}"

    @property
    def study_title(self) -> str:
        """The study's title as clinicians see it: never the internal name, which may state the hypothesis."""
        title = self.study.rater_title.strip()
        if title:
            return title
        number = getattr(self, "_number", None)  # read along with the enrolment where the page needs it
        if number is None:
            number = StudyRater.objects.filter(rater_id=self.rater_id, pk__lte=self.pk).count()
        return f"Study {number}"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", "Not started"
    IN_PROGRESS = "in_progress", "Draft saved"
    SUBMITTED = "submitted", "Submitted"
    WITHDRAWN = "withdrawn", "Withdrawn (rebalanced away)"


def task_indexes(prefix: str) -> list[models.Index]:
    """The queue's index, and two that a clinician's item pages read in order instead of scanning all of the
    clinician's items: the pace window of their progress (the latest submissions with time on task,
    annotation.selectors.rating._PROGRESS_SQL) and the last place given in their viewing order
    (annotation.services.ratings.task_mark_shown)."""
    return [
        models.Index(fields=["rater", "study", "status", "position"]),
        models.Index(fields=["rater", "study", "-submitted_at"], name=f"{prefix}_paced",
                     condition=Q(status=AssignmentStatus.SUBMITTED, active_seconds__gt=0)),
        models.Index(fields=["rater", "study", "-display_position"], name=f"{prefix}_shown",
                     condition=Q(display_position__isnull=False)),
    ]


class RaterTask(TimeStampedModel):
    """What a rating task and a side-by-side preference task share: a place in one clinician's queue."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="%(class)ss")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="%(class)ss")
    code = models.CharField(max_length=32, unique=True, default=opaque_code, editable=False)
    position = models.PositiveIntegerField(help_text="1-based place in the rater's shuffled queue")
    display_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="The how-many-th item this rater was shown when first shown this one"
    )
    is_anchor = models.BooleanField(default=False, help_text="Part of the set every clinician rates")
    is_calibration = models.BooleanField(
        default=False, help_text="Practice item with feedback; left out of every agreement figure")
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING)
    draft = models.JSONField(default=dict, blank=True, help_text="Autosaved, unsubmitted form values")
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    first_shown_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0.0, help_text="Time on task with the tab visible and in use")

    class Meta:
        abstract = True
        ordering = ["study", "rater", "position"]


class Assignment(RaterTask):
    """One response in one clinician's queue. `code` is the only handle a clinician ever sees."""

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="assignments")
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="repeats",
        help_text="Test-retest: the earlier assignment of the same response to the same rater (never shown)",
    )

    class Meta(RaterTask.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["response", "rater"],
                condition=Q(repeat_of__isnull=True) & ~Q(status=AssignmentStatus.WITHDRAWN),
                name="assignment_once_per_rater",
            )
        ]
        indexes = task_indexes("assignment")


class Rating(TimeStampedModel):
    """The current values of one assignment's rating; each change is kept in RatingRevision."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="rating")
    comment = models.TextField(blank=True)
    is_dangerous = models.BooleanField(default=False)
    dangerous_rationale = models.TextField(blank=True)
    dangerous_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the safety contact was emailed (see SafetyAlert)")
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


class AppendOnly(models.Model):
    """Rows that are written once and never changed or deleted through the ORM's instance methods."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} is append-only: add a new revision instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} is append-only")


class RatingRevision(AppendOnly):
    """Append-only history: every submitted version of a rating, who made it, when and why."""

    rating = models.ForeignKey(Rating, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField()
    values = models.JSONField(help_text="The full rating as submitted in this revision")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True, help_text="The client's key for this submission")
    body_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the normalised submission")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rating", "revision"], name="ratingrevision_unique")]
        ordering = ["rating", "revision"]


class FlagKind(models.TextChoices):
    GARBLED = "garbled", "Text is garbled, cut off or empty"
    REVEALS_SOURCE = "reveals_source", "The text reveals who or what wrote it"
    WRONG_CASE = "wrong_case", "The response does not answer this case"
    OTHER = "other", "Something else"


# An ItemFlag of this kind stands for a rating that marks its response dangerous (written for the study team's
# queue, annotation.services.flags); clinicians raise it through the rating form, never as a FlagKind.
DANGEROUS_FLAG = "dangerous"


class ItemFlag(TimeStampedModel):
    """"Flag a problem with this item": for the study team to look at; the rater can still rate. The team
    acknowledges a flag (someone is on it) and resolves it with a note, each with who and when."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="item_flags")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="item_flags")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    preference_assignment = models.ForeignKey(
        "annotation.PreferenceAssignment", null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    kind = models.CharField(max_length=32, choices=[*FlagKind.choices, (DANGEROUS_FLAG, "Flagged dangerous")])
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True, help_text="What the study team did about it")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(assignment__isnull=True) ^ Q(preference_assignment__isnull=True),
                name="itemflag_one_task",
            ),
            models.UniqueConstraint(fields=["assignment"], condition=Q(kind=DANGEROUS_FLAG),
                                    name="itemflag_one_dangerous_per_assignment"),
        ]
        ordering = ["-created_at"]
