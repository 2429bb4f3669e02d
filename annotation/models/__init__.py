"""annotation's models, split by sub-domain: study setup, the items rated, and rating itself."""
from .base import TimeStampedModel, opaque_code
from .items import ParseStatus, Response
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
from .setup import (
    Backend,
    CareSetting,
    Case,
    CaseSet,
    InteractionStyle,
    LeakPolicy,
    ModelSpec,
    Persona,
    Study,
    StudyStatus,
    TaskType,
)

__all__ = [
    "Assignment", "AssignmentStatus", "Backend", "CareSetting", "Case", "CaseSet", "InteractionStyle",
    "LeakPolicy", "ModelSpec", "ParseStatus", "Persona", "Rating", "RatingRevision", "RatingValue", "Response",
    "Study", "StudyStatus", "TaskType", "TimeStampedModel", "opaque_code",
    "Comparison", "FlagKind", "ItemFlag", "Preference", "PreferenceAssignment", "PreferenceChoice",
    "PreferenceRevision", "RaterTask", "StudyRater",
]
