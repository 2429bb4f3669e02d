"""The audit log's one write: `audit_record`, called by every service that changes a study."""
from __future__ import annotations

from collections.abc import Iterable

from ..models import AuditAction, AuditEvent, Study


def _actor_or_none(actor):
    """Only a saved, signed-in user is recorded; anonymous or missing actors are "the system"."""
    if actor is None or not getattr(actor, "is_authenticated", False) or getattr(actor, "pk", None) is None:
        return None
    return actor


def audit_record(*, study: Study | None, actor, action: str, detail: dict | None = None) -> AuditEvent:
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEvent.objects.create(study=study, actor=_actor_or_none(actor), action=action, detail=detail or {})


def audit_record_for_studies(*, studies: Iterable[Study], actor, action: str, detail: dict) -> None:
    """A change to something studies share (a model spec, a persona): one event per study using it, or one
    without a study when none does."""
    studies = list(studies)
    for study in studies or [None]:
        audit_record(study=study, actor=actor, action=action, detail=detail)
