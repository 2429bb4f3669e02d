"""The enumerations of what a study is made of, apart from the models so that shapes.py can use them."""
from django.db import models


class TaskType(models.TextChoices):
    TRIAGE = "triage", "Triage"
    PATIENT_SAFETY = "patient_safety", "Patient safety"
    OTHER = "other", "Other"


class CareSetting(models.TextChoices):
    CRITICAL_CARE = "critical_care", "Critical care / emergency"
    PRIMARY_CARE = "primary_care", "Primary care"
    OTHER = "other", "Other"


class InteractionStyle(models.TextChoices):
    PLAIN = "plain", "Plain"
    CAUTIOUS = "cautious", "Cautious"
    BOLD = "bold", "Bold"


class Backend(models.TextChoices):
    VLLM = "vllm", "vLLM offline engine"
    OPENAI = "openai", "OpenAI-compatible server"
    IMPORTED = "imported", "Imported responses"


class StudyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    GENERATING = "generating", "Generating"
    RATING = "rating", "Rating"
    CLOSED = "closed", "Closed"


class LeakPolicy(models.TextChoices):
    """What raters see of a response whose text reveals its persona ("As an ED physician...")."""

    SHOW = "show", "Show as generated"
    HIDE = "hide", "Do not assign it"
    REDACT = "redact", "Redact the revealing phrase"


class MemberRole(models.TextChoices):
    """A user's role in one study. Clinicians take part through their enrolment (annotation)."""

    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    RESEARCHER = "researcher", "Researcher"
