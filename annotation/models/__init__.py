"""The rating side: enrolments, assignments, ratings and preferences, with their revision history."""
from .alerts import SafetyAlert, SafetyAlertStatus
from .preference import Comparison, Preference, PreferenceAssignment, PreferenceChoice, PreferenceRevision
from .rating import (
    Assignment,
    AssignmentStatus,
    FlagKind,
    ItemFlag,
    RaterTask,
    Rating,
    RatingRevision,
    RatingValue,
    StudyRater,
)

__all__ = [
    "Assignment", "AssignmentStatus", "Comparison", "FlagKind", "ItemFlag", "Preference", "PreferenceAssignment",
    "PreferenceChoice", "PreferenceRevision", "RaterTask", "Rating", "RatingRevision", "RatingValue", "SafetyAlert",
    "SafetyAlertStatus", "StudyRater",
]
