"""Reads of locked analysis plans."""
from __future__ import annotations

from studies.models import Study

from .models import Preregistration


def preregistration_of(*, study: Study | int) -> Preregistration | None:
    """The study's locked plan (a study or its id), or None while it has none."""
    study_id = study.pk if isinstance(study, Study) else study
    return Preregistration.objects.select_related("study", "locked_by").filter(study_id=study_id).first()
