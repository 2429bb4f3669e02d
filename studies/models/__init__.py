"""What a study is made of: case sets and cases, personas, model specs, the study, and its responses."""
from ..choices import Backend, CareSetting, InteractionStyle, LeakPolicy, MemberRole, StudyStatus, TaskType
from .audit import AuditAction, AuditEvent
from .base import TimeStampedModel, opaque_code
from .imports import ImportKind, ImportRun, ImportStatus
from .membership import StudyMember
from .responses import ParseStatus, Response
from .setup import Case, CaseSet, ModelSpec, Persona, Study

__all__ = [
    "AuditAction", "AuditEvent", "ImportKind", "ImportRun", "ImportStatus",
    "Backend", "CareSetting", "Case", "CaseSet", "InteractionStyle", "LeakPolicy", "MemberRole", "ModelSpec",
    "ParseStatus", "Persona", "Response", "Study", "StudyMember", "StudyStatus", "TaskType", "TimeStampedModel",
    "opaque_code",
]
