"""What a study is made of: case sets and cases, personas, model specs, the study, and its responses."""
from .base import TimeStampedModel, opaque_code
from .responses import ParseStatus, Response
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
    "Backend", "CareSetting", "Case", "CaseSet", "InteractionStyle", "LeakPolicy", "ModelSpec", "ParseStatus",
    "Persona", "Response", "Study", "StudyStatus", "TaskType", "TimeStampedModel", "opaque_code",
]
