from django.conf import settings
from django.db import models


class Specialty(models.TextChoices):
    EMERGENCY = "emergency", "Emergency medicine"
    CRITICAL_CARE = "critical_care", "Critical care"
    PRIMARY_CARE = "primary_care", "Primary care"
    NURSING = "nursing", "Nursing"
    OTHER = "other", "Other"


class RaterProfile(models.Model):
    """What a clinician's eligibility for a study's items is decided on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rater_profile")
    specialty = models.CharField(max_length=32, choices=Specialty.choices, default=Specialty.OTHER)
    years_in_practice = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user} ({self.get_specialty_display()}, {self.years_in_practice}y)"
