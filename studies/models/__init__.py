"""What a study is made of: case sets and cases, personas, model specs, the study, and its responses."""
from ..choices import Backend, CareSetting, InteractionStyle, LeakPolicy, StudyStatus, TaskType
from .audit import AuditAction, AuditEvent
from .base import TimeStampedModel, opaque_code
from .responses import ParseStatus, Response
from .setup import Case, CaseSet, ModelSpec, Persona, Study

__all__ = [
    "AuditAction", "AuditEvent",
    "Backend", "CareSetting", "Case", "CaseSet", "InteractionStyle", "LeakPolicy", "ModelSpec", "ParseStatus",
    "Persona", "Response", "Study", "StudyStatus", "TaskType", "TimeStampedModel", "opaque_code",
]
