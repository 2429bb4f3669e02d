"""Triage answers and references on the case sets' declared scale (data side of the evaluation).

A case set declares its triage scale (`CaseSet.triage_scale`: levels in scale order, whether they are
ordered, which end is the most urgent; ESI 1-5 by default). Answers and references are indices into
those levels; a value that is not a declared level is missing and counted. No level is ever inferred
from the values that occur in the data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studies.models import CaseSet, ParseStatus
from studies.schema import default_triage_scale

# Parse statuses whose label is usable for metric-based evaluation.
USABLE_PARSE = ("parsed", "partial")


def index_of(values: np.ndarray, labels) -> np.ndarray:
    """Category index of each string value in `labels`; nan where it is not one of them."""
    lookup = {label: float(i) for i, label in enumerate(labels)}
    return np.array([lookup.get(v, np.nan) for v in values.tolist()], dtype=float)



@dataclass(frozen=True)
class TriageScale:
    """A case set's declared triage scale: levels in scale order, whether they are ordered, and which end
    is the most urgent. Indices into `labels` are what `Triage.predicted` and `.reference` hold."""

    name: str
    labels: tuple[str, ...]
    label_names: tuple[str, ...]
    ordered: bool
    most_urgent: str  # "first" | "last"

    @classmethod
    def from_declaration(cls, spec: dict | None) -> TriageScale:
        spec = spec or default_triage_scale()
        levels = spec.get("levels") or []
        return cls(
            name=str(spec.get("name", "")), labels=tuple(str(lv["value"]).strip() for lv in levels),
            label_names=tuple(str(lv.get("label") or lv["value"]) for lv in levels),
            ordered=bool(spec.get("ordered", True)), most_urgent=spec.get("most_urgent", "first"),
        )

    @property
    def higher_is_more_urgent(self) -> bool:
        return self.most_urgent == "last"

    @property
    def most_urgent_index(self) -> int:
        return len(self.labels) - 1 if self.higher_is_more_urgent else 0

    def to_dict(self) -> dict:
        return {"name": self.name, "levels": list(self.labels), "level_names": list(self.label_names),
                "ordered": self.ordered, "most_urgent": self.most_urgent}


@dataclass
class Triage:
    """Parsed discrete answers vs the cases' reference levels, on the case sets' declared scale.

    For ESI (the default) index 0 is the MOST urgent level and a predicted index above the reference
    is under-triage; `scale.most_urgent` says which end is most urgent for other scales. `scale` is
    None when the study's case sets declare different scales (`mixed_scales` names them): nothing is
    then compared across scales.
    """

    scale: TriageScale | None
    mixed_scales: tuple[str, ...]
    labels: tuple[str, ...]
    predicted: np.ndarray  # per item, index into labels; nan when unparsed or off-scale
    reference: np.ndarray  # per item, nan when the case has no (on-scale) reference
    confidence: np.ndarray  # per item, stated confidence 0-1, nan when none
    is_discrete: np.ndarray  # items whose task asks for a discrete answer (parse status not n/a)
    prompt_group: np.ndarray  # per item: same case x persona x model (repeated samples)
    n_unparseable: int
    n_reference_off_scale: int = 0  # discrete items whose reference is not a declared level
    n_answer_off_scale: int = 0  # parsed answers that are not a declared level


def _declared_scale(items, is_discrete: np.ndarray) -> tuple[TriageScale | None, tuple[str, ...]]:
    """The one triage scale the study's discrete-answer case sets declare; None (and their names) if they differ."""
    ids = sorted(set(items.case_set_id[is_discrete].tolist()))
    declared = dict(CaseSet.objects.filter(id__in=ids).values_list("id", "triage_scale")) if ids else {}
    scales = {i: TriageScale.from_declaration(declared.get(i)) for i in ids}
    distinct = set(scales.values())
    if len(distinct) > 1:
        names = {i: n for i, n in zip(items.case_set_id.tolist(), items.case_set.tolist(), strict=True)}
        return None, tuple(f"{names[i]}: {scales[i].name}" for i in ids)
    return (distinct.pop() if distinct else TriageScale.from_declaration(None)), ()


def triage_load(items) -> Triage:
    is_discrete = (items.task_type == "triage") | (items.parse_status != "n/a")
    usable = np.isin(items.parse_status, USABLE_PARSE)
    scale, mixed = _declared_scale(items, is_discrete)
    labels = scale.labels if scale is not None else ()
    predicted = index_of(items.parsed_label, labels)
    predicted[~usable] = np.nan
    reference = index_of(items.reference_answer, labels)
    reference[~is_discrete] = np.nan
    keys = list(zip(items.case_id.tolist(), items.persona_id.tolist(), items.model_id.tolist(), strict=True))
    group_of = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    has_ref = is_discrete & (items.reference_answer != "")
    answered = usable & (items.parsed_label != "")
    return Triage(
        scale=scale, mixed_scales=mixed, labels=labels, predicted=predicted, reference=reference,
        confidence=np.where(usable, items.parsed_confidence, np.nan), is_discrete=is_discrete,
        prompt_group=np.array([group_of[k] for k in keys], dtype=np.int64),
        n_unparseable=int(np.count_nonzero(items.parse_status == ParseStatus.UNPARSEABLE)),
        n_reference_off_scale=int(np.count_nonzero(has_ref & np.isnan(reference))) if scale else 0,
        n_answer_off_scale=int(np.count_nonzero(answered & np.isnan(predicted))) if scale else 0,
    )
