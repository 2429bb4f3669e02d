"""Response rows from validated import rows: what is new, what conflicts, and the model rows to insert."""
from __future__ import annotations

import hashlib

from studies.importers import RowError
from studies.models import Backend, Response, Study
from studies.prompts import messages_hash

from ..services.generation import annotate_response


def split_existing(rows: list[dict], *, study: Study, lock: bool) -> tuple[list[dict], list[RowError]]:
    """Rows for empty cells, and errors for cells whose stored text differs (the same text is a no-op)."""
    existing_qs = Response.objects.filter(study=study, model__in={r["model"].pk for r in rows})
    if lock:
        existing_qs = existing_qs.select_for_update()
    existing = {
        (c, p, m, s): text
        for c, p, m, s, text in existing_qs.values_list("case_id", "persona_id", "model_id", "sample_index", "text")
    }
    fresh, conflicts = [], []
    for row in rows:
        stored = existing.get(row["key"])
        if stored is None:
            fresh.append(row)
        elif stored != row["text"]:
            conflicts.append(RowError(row["row"], "text", "this cell (case, persona, model, sample_index) already "
                                                          "has a response with a different text"))
    return fresh, conflicts


def make_response(row: dict, study: Study, provenance: dict) -> Response:
    rendered = row["rendered_prompt"] or ""
    prompt_hash = hashlib.sha256(rendered.encode()).hexdigest() if rendered else messages_hash(row["prompt_messages"])
    row_provenance = row["provenance"] or {}
    return Response(
        study=study, case=row["case"], persona=row["persona"], model=row["model"], sample_index=row["sample_index"],
        text=row["text"], prompt_messages=row["prompt_messages"], rendered_prompt=rendered,
        prompt_hash=prompt_hash,
        sampling=row["sampling"] or {}, seed=row["seed"], backend=Backend.IMPORTED,
        model_revision=str(row_provenance.get("revision") or row_provenance.get("model_revision")
                           or row["model"].revision)[:200],
        provenance={**row_provenance, "import": {**provenance, "row": row["row"]}},
        prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
        finish_reason=row["finish_reason"] or "",
        **annotate_response(row["text"], case=row["case"], persona=row["persona"]),
    )
