"""Response rows from validated import rows: what is new, what conflicts, and storing the new ones."""
from __future__ import annotations

import hashlib

from studies.importers import RowError
from studies.importers.copy import copy_insert
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


RESPONSE_FIELDS = (
    "case_id", "persona_id", "model_id", "sample_index", "text", "prompt_messages", "rendered_prompt", "prompt_hash",
    "sampling", "seed", "model_revision", "provenance", "prompt_tokens", "completion_tokens", "finish_reason",
    "parsed_label", "parsed_confidence", "parse_status", "leaks_persona", "leak_spans",
)


def response_values(row: dict, provenance: dict) -> tuple:
    """One validated row as the values of RESPONSE_FIELDS."""
    rendered = row["rendered_prompt"] or ""
    prompt_hash = hashlib.sha256(rendered.encode()).hexdigest() if rendered else messages_hash(row["prompt_messages"])
    row_provenance = row["provenance"] or {}
    derived = annotate_response(row["text"], case=row["case"], persona=row["persona"])
    return (
        row["case"].pk, row["persona"].pk, row["model"].pk, row["sample_index"], row["text"], row["prompt_messages"],
        rendered, prompt_hash, row["sampling"] or {}, row["seed"],
        str(row_provenance.get("revision") or row_provenance.get("model_revision") or row["model"].revision)[:200],
        {**row_provenance, "import": {**provenance, "row": row["row"]}},
        row["prompt_tokens"], row["completion_tokens"], row["finish_reason"] or "",
        derived["parsed_label"], derived["parsed_confidence"], derived["parse_status"], derived["leaks_persona"],
        derived["leak_spans"],
    )


def insert_responses(rows: list[dict], *, study: Study, provenance: dict) -> int:
    """Store validated rows as imported responses of `study`; returns how many."""
    return copy_insert(Response, RESPONSE_FIELDS, (response_values(row, provenance) for row in rows),
                       constants={"study_id": study.pk, "backend": Backend.IMPORTED})
