"""Writes: lock a study's analysis plan (its pre-registration), and render it for download.

The plan is one JSON document: hypotheses, primary and secondary outcomes (from the declared list in
agreement.reports.preregistration), the report parameters, notes, and a snapshot of the design. Its
sha256 over the canonical JSON (sorted keys, no whitespace, UTF-8) and an HMAC of that hash with the
deployment's SECRET_KEY are stored beside it; nothing is ever updated (Preregistration.verify checks both).
"""
from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from config.downloads import download_filename
from config.exceptions import ApplicationError
from studies.models import AuditAction, Study, StudyStatus
from studies.permissions import study_can
from studies.schema import study_schema
from studies.services.audit import audit_record

from .models import Preregistration, canonical_json, document_hash, hash_signature
from .reports.methods import software_versions
from .reports.preregistration import labelled_outcomes, outcome_choices, study_design
from .services import report_parameters_for_study

DOCUMENT_VERSION = 1
MAX_HYPOTHESES, MAX_TEXT, MAX_NOTES = 50, 2000, 20_000
EXPORT_FORMATS = ("json", "html")


def _texts(value, field: str, errors: dict) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors[field] = "must be a list of texts"
        return []
    texts = [v.strip() for v in value if v.strip()]
    if not texts:
        errors[field] = "state at least one"
    elif len(texts) > MAX_HYPOTHESES or any(len(t) > MAX_TEXT for t in texts):
        errors[field] = f"at most {MAX_HYPOTHESES}, each at most {MAX_TEXT} characters"
    return texts


def _outcomes(value, field: str, allowed: set, errors: dict, *, required: bool) -> list[dict]:
    """[{"dimension", "coefficient"}], each a pair reports compute for this study, none twice."""
    if not isinstance(value, list | tuple) or not all(
            isinstance(o, dict) and isinstance(o.get("dimension"), str) and isinstance(o.get("coefficient"), str)
            for o in value):
        errors[field] = 'must be a list of {"dimension": ..., "coefficient": ...}'
        return []
    pairs = [(o["dimension"], o["coefficient"]) for o in value]
    unknown = [f"{d} {c}" for d, c in pairs if (d, c) not in allowed]
    if unknown:
        errors[field] = f"not computed for this study: {', '.join(unknown)}"
    elif len(set(pairs)) != len(pairs):
        errors[field] = "names an outcome twice"
    elif required and not pairs:
        errors[field] = "name at least one"
    return [{"dimension": d, "coefficient": c} for d, c in pairs]


def _plan(study: Study, *, hypotheses, primary_outcomes, secondary_outcomes, report_parameters, notes) -> dict:
    """The validated plan; every problem reported at once, per field."""
    errors: dict = {}
    allowed = set(outcome_choices(study_schema(study), has_judge=study.judge_id is not None))
    plan = {
        "hypotheses": _texts(hypotheses, "hypotheses", errors),
        "primary_outcomes": _outcomes(primary_outcomes, "primary_outcomes", allowed, errors, required=True),
        "secondary_outcomes": _outcomes(secondary_outcomes, "secondary_outcomes", allowed, errors, required=False),
    }
    both = {tuple(o.values()) for o in plan["primary_outcomes"]} & {tuple(o.values()) for o in
                                                                    plan["secondary_outcomes"]}
    if both:
        errors["secondary_outcomes"] = "repeats a primary outcome"
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        errors["notes"] = f"must be text of at most {MAX_NOTES} characters"
    plan["notes"] = notes.strip() if isinstance(notes, str) else ""
    try:
        plan["report_parameters"] = report_parameters_for_study(study=study, parameters=report_parameters)
    except ApplicationError as exc:
        errors["report_parameters"] = exc.extra.get("fields", exc.message)
    if errors:
        raise ApplicationError("Invalid analysis plan", extra={"fields": errors})
    return plan


@transaction.atomic
def preregistration_lock(*, study: Study, user, hypotheses, primary_outcomes, secondary_outcomes=(),
                         report_parameters: dict | None = None, notes: str = "") -> Preregistration:
    """Lock the analysis plan of a draft study: its owner only, once."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if not study_can(user, study, "preregister"):
        raise ApplicationError("Only the study's owner can lock its analysis plan.", status_code=403)
    if study.status != StudyStatus.DRAFT:
        raise ApplicationError(f"'{study.name}' is {study.get_status_display().lower()}: the analysis plan can only "
                               "be locked while the study is a draft.", status_code=409)
    if Preregistration.objects.filter(study=study).exists():
        raise ApplicationError(f"The analysis plan of '{study.name}' is already locked; it never changes.",
                               status_code=409)
    plan = _plan(study, hypotheses=hypotheses, primary_outcomes=primary_outcomes,
                 secondary_outcomes=secondary_outcomes, report_parameters=report_parameters, notes=notes)
    locked_at = timezone.now()
    document = {
        "document_version": DOCUMENT_VERSION,
        "study": {"id": study.pk, "name": study.name},
        "locked_at": locked_at.isoformat(),
        "locked_by": user.get_username(),
        **plan,
        "design": study_design(study),
        "software": software_versions(),
    }
    document = json.loads(canonical_json(document))  # exactly what the JSON column gives back
    content_hash = document_hash(document)
    try:
        with transaction.atomic():
            preregistration = Preregistration.objects.create(
                study=study, locked_by=user, locked_at=locked_at, document=document, content_hash=content_hash,
                signature=hash_signature(content_hash))
    except IntegrityError:
        raise ApplicationError(f"The analysis plan of '{study.name}' is already locked; it never changes.",
                               status_code=409) from None
    audit_record(study=study, actor=user, action=AuditAction.STUDY_UPDATED,
                 detail={"preregistration": "locked", "content_hash": content_hash})
    return preregistration


def preregistration_export_data(*, preregistration: Preregistration) -> dict:
    """What the JSON download holds: the document and what attests it."""
    return {
        "document": preregistration.document,
        "content_hash": preregistration.content_hash,
        "content_hash_method": "sha256 of the document as JSON with sorted keys, no whitespace, UTF-8",
        "signature": preregistration.signature,
        "signature_method": "HMAC-SHA256 of content_hash with this installation's secret key",
        "locked_at": preregistration.locked_at.isoformat(),
        "locked_by": preregistration.document.get("locked_by"),
        "verification": preregistration.verify(),
    }


def preregistration_export(*, preregistration: Preregistration, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the JSON or the standalone HTML download."""
    if fmt not in EXPORT_FORMATS:
        raise ApplicationError(f"Unknown format {fmt!r}", extra={"fields": {"as": list(EXPORT_FORMATS)}})
    data = preregistration_export_data(preregistration=preregistration)
    name = download_filename(f"{preregistration.study.name}-preregistration-{preregistration.content_hash[:12]}", fmt)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False).encode(), "application/json", name
    document = preregistration.document
    html = render_to_string("agreement/preregistration_document.html", {
        "export": data, "document": document,
        "primary": labelled_outcomes(document["primary_outcomes"]),
        "secondary": labelled_outcomes(document["secondary_outcomes"]),
    })
    return html.encode(), "text/html; charset=utf-8", name
