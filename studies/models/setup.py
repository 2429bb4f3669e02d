"""What admins set up: case sets and cases, personas, model specs and studies."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ..choices import Backend, CareSetting, InteractionStyle, LeakPolicy, StudyStatus, TaskType
from ..schema import default_triage_scale
from ..shapes import SAMPLING, STUDY_BOUNDED, STUDY_SETTINGS, range_constraints
from .base import TimeStampedModel


class CaseSet(TimeStampedModel):
    """An uploaded file of cases. A changed upload under the same name is a new version."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    content_hash = models.CharField(max_length=64, help_text="sha256 over the normalised cases")
    source_filename = models.CharField(max_length=255, blank=True)
    triage_scale = models.JSONField(
        default=default_triage_scale, blank=True,
        help_text="The ordered levels the cases' triage references and answers are read on (default ESI 1-5)",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="caseset_name_version_unique")]
        ordering = ["name", "-version"]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def clean(self):
        from ..importers.triage_scale import triage_scale_read  # the importers build on these models

        try:
            self.triage_scale = triage_scale_read(self.triage_scale)
        except ValueError as exc:
            raise ValidationError({"triage_scale": str(exc)}) from None


class Case(TimeStampedModel):
    case_set = models.ForeignKey(CaseSet, on_delete=models.CASCADE, related_name="cases")
    external_id = models.CharField(max_length=100)
    vignette = models.TextField()
    question = models.TextField()
    task_type = models.CharField(max_length=32, choices=TaskType.choices)
    care_setting = models.CharField(max_length=32, choices=CareSetting.choices)
    reference_answer = models.TextField(blank=True, help_text="For triage: the acuity level, e.g. ESI 1-5")
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case_set", "external_id"], name="case_external_id_unique")]
        ordering = ["case_set", "id"]

    def __str__(self):
        return f"{self.case_set.name}:{self.external_id}"


class Persona(TimeStampedModel):
    """A system-prompt persona. Editing one that responses used creates a new version instead."""

    slug = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=200, blank=True, help_text="Professional role; empty for the baseline")
    style = models.CharField(max_length=32, choices=InteractionStyle.choices, default=InteractionStyle.PLAIN)
    is_medical = models.BooleanField(default=False)
    is_baseline = models.BooleanField(default=False, help_text="The no-persona condition: no system message")
    system_prompt_template = models.TextField(
        blank=True, help_text="Placeholders: {role}, {style}, {task_type}, {care_setting}. Empty: no system message."
    )
    description = models.TextField(blank=True)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_current = models.BooleanField(default=True, help_text="The latest version of this slug")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slug", "version"], name="persona_slug_version_unique")]
        ordering = ["slug", "-version"]

    def __str__(self):
        return f"{self.name} (v{self.version})"


class ModelSpec(TimeStampedModel):
    """A model and how to sample from it; judges also carry the rubric prompt."""

    name = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.VLLM)
    model_path = models.CharField(max_length=500, help_text="Hub id, local path or served model name")
    revision = models.CharField(max_length=200, blank=True)
    api_base = models.URLField(blank=True, help_text="OpenAI-compatible servers: e.g. http://gpu:8000/v1")
    api_key_env = models.CharField(
        max_length=100, blank=True,
        help_text="The environment variable holding this server's API key (e.g. OPENAI_API_KEY); empty: no key",
    )
    temperature = models.FloatField(default=0.7)
    top_p = models.FloatField(default=1.0)
    max_tokens = models.PositiveIntegerField(default=512)
    seed = models.BigIntegerField(default=0, help_text="Base seed; each row's seed is derived from it")
    samples_per_prompt = models.PositiveSmallIntegerField(default=1)
    engine_options = models.JSONField(default=dict, blank=True, help_text="Extra engine arguments (dtype, ...)")
    is_judge = models.BooleanField(default=False)
    rubric_prompt = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = range_constraints(SAMPLING, tuple(SAMPLING["properties"]), prefix="modelspec")

    def __str__(self):
        return self.name


class Study(TimeStampedModel):
    name = models.CharField(max_length=200, unique=True, help_text="Internal: never shown to clinicians")
    description = models.TextField(blank=True)
    rater_title = models.CharField(
        max_length=200, blank=True, help_text="What clinicians see as the study's title; empty: a neutral \"Study N\"")
    rater_instructions = models.TextField(
        blank=True, help_text="Shown to each clinician once, before their first item")
    calibration_items = models.PositiveIntegerField(
        default=0, help_text="The first N anchor items are practice with feedback, left out of agreement")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=StudyStatus.choices, default=StudyStatus.DRAFT)
    case_sets = models.ManyToManyField(CaseSet, related_name="studies", blank=True)
    personas = models.ManyToManyField(Persona, related_name="studies", blank=True)
    model_specs = models.ManyToManyField(ModelSpec, related_name="studies", blank=True)
    judge = models.ForeignKey(ModelSpec, null=True, blank=True, on_delete=models.PROTECT, related_name="judged_studies")
    extra_judges = models.ManyToManyField(
        ModelSpec, related_name="extra_judged_studies", blank=True, limit_choices_to={"is_judge": True},
        help_text="Judges that score the responses besides the study's own judge, to compare judges with each other",
    )
    rating_schema = models.JSONField(default=dict, blank=True, help_text="Empty: the default clinician schema")
    task_instructions = models.JSONField(
        default=dict, blank=True, help_text="Per task type, text appended to the question (e.g. ESI + confidence)"
    )
    raters_per_response = models.PositiveSmallIntegerField(default=2)
    anchor_items = models.PositiveIntegerField(default=0, help_text="Items every clinician rates")
    pairwise_overlap = models.BooleanField(default=False, help_text="Guarantee overlap for every clinician pair")
    retest_fraction = models.FloatField(default=0.0, help_text="Share of items shown again for test-retest")
    eligibility = models.JSONField(default=dict, blank=True, help_text="Per task type: specialties, min years")
    preference_mode = models.BooleanField(default=False, help_text="Side-by-side A/B preference tasks")
    leak_policy = models.CharField(max_length=16, choices=LeakPolicy.choices, default=LeakPolicy.REDACT)
    assignment_seed = models.BigIntegerField(default=0)
    safety_lead_email = models.EmailField(blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]
        constraints = range_constraints(STUDY_SETTINGS, STUDY_BOUNDED, prefix="study")

    def __str__(self):
        return self.name

    def judges(self) -> list[ModelSpec]:
        """Every judge of the study: its own judge first, then the extra judges by name."""
        extra = list(self.extra_judges.exclude(pk=self.judge_id).order_by("name"))
        return ([self.judge] if self.judge_id else []) + extra
