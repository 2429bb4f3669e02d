"""Who may see and run a study: its members, each with a role in it (studies.permissions decides)."""
from django.conf import settings
from django.db import models

from ..choices import MemberRole
from .base import TimeStampedModel
from .setup import Study


class StudyMember(TimeStampedModel):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships")
    role = models.CharField(max_length=16, choices=MemberRole.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="studymember_once_per_study")]
        ordering = ["study", "role", "user__username"]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}) in {self.study}"
