"""Persona-leak flags of stored responses, checked again with the current detector (studies.leak).

A response's `leaks_persona` / `leak_spans` are computed when it is stored; when the detector
improves, older responses keep the old answer until they are checked again here.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from studies.models import Response, Study

BATCH_SIZE = 500


@dataclass
class LeakRecheck:
    checked: int = 0
    changed: int = 0
    newly_flagged: int = 0
    cleared: int = 0

    def as_dict(self) -> dict:
        return {"checked": self.checked, "changed": self.changed, "newly_flagged": self.newly_flagged,
                "cleared": self.cleared}


def _leak_fields(response: Response) -> tuple[bool, list]:
    from studies.leak import detect_persona_leak

    spans = [list(span) for span in detect_persona_leak(response.text, persona=response.persona)]
    return bool(spans), spans


def leaks_recheck(*, study: Study | None = None, batch_size: int = BATCH_SIZE, dry_run: bool = False,
                  progress=None) -> LeakRecheck:
    """Run the leak detector over stored responses (one study's or all), in batches of `batch_size`, and
    store the flags and spans that differ. Counts what changed; a dry run writes nothing."""
    found = LeakRecheck()
    responses = Response.objects.all() if study is None else Response.objects.filter(study=study)
    last_pk = 0
    while True:
        batch = list(responses.filter(pk__gt=last_pk).select_related("persona").order_by("pk")[:batch_size])
        if not batch:
            return found
        last_pk = batch[-1].pk
        changed = []
        for response in batch:
            leaks, spans = _leak_fields(response)
            if (leaks, spans) != (response.leaks_persona, list(response.leak_spans or [])):
                found.newly_flagged += leaks and not response.leaks_persona
                found.cleared += response.leaks_persona and not leaks
                response.leaks_persona, response.leak_spans = leaks, spans
                changed.append(response)
        found.checked += len(batch)
        found.changed += len(changed)
        if changed and not dry_run:
            with transaction.atomic():
                Response.objects.bulk_update(changed, ["leaks_persona", "leak_spans"])
        if progress is not None:
            progress(found)
