"""Metric-based evaluation of discrete (triage) answers on the case sets' declared scale.

Accuracy (exact; unparsed = wrong) needs no order. Everything that reads a direction needs an ordered
scale and is refused with status ``invalid_for_scale`` on an unordered one: accuracy within one
level, under-/over-triage, risk sensitivity (accuracy on cases whose reference is the scale's most
urgent declared level, named) and risk propensity (the mean signed error in levels, positive = more
urgent than the reference). Splits: persona, medical vs non-medical persona, model, persona x model,
care setting, persona x care setting and, when asked for, a case metadata key. ECE carries a
case-clustered bootstrap interval overall and per persona, and each persona's ECE minus the
baseline's on the cases both answered.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from agreement import metrics
from agreement.metrics.clustered import ece_clustered, ece_difference

REASON_UNORDERED = "the declared triage scale is not ordered"


def _refused(name: str, n: int) -> dict:
    return {"name": name, "value": None, "status": metrics.STATUS_INVALID_FOR_SCALE, "n_items": 0, "n_ratings": 0,
            "n_items_total": n, "n_ratings_total": n, "extra": {"reason": REASON_UNORDERED}}


def _insufficient(name: str, n: int, reason: str) -> dict:
    return {"name": name, "value": None, "status": metrics.STATUS_INSUFFICIENT, "n_items": 0, "n_ratings": 0,
            "n_items_total": n, "n_ratings_total": n, "extra": {"reason": reason}}


def risk_propensity(signed: np.ndarray, n_total: int, confidence: float) -> dict:
    """Mean signed triage error in levels (positive = more urgent than the reference), t interval over answers."""
    n = signed.size
    if n == 0:
        return _insufficient("risk_propensity", n_total, metrics.REASON_EMPTY)
    mean = float(signed.mean())
    out = {"name": "risk_propensity", "value": mean, "status": "ok", "n_items": n, "n_ratings": n,
           "n_items_total": n_total, "n_ratings_total": n_total, "se": None, "ci_low": None, "ci_high": None,
           "ci_method": None, "ci_level": None, "extra": {"unit": "levels; positive = more urgent than the reference"}}
    if n >= 2:
        se = float(signed.std(ddof=1) / np.sqrt(n))
        half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * se)
        out.update(se=se, ci_low=mean - half, ci_high=mean + half, ci_method="t", ci_level=confidence)
    return out


class Evaluation:
    def __init__(self, builder):
        self.b = builder
        self.tri = builder.data.triage
        self.scale = self.tri.scale

    def block(self, mask: np.ndarray) -> dict:
        tri, scale, level = self.tri, self.scale, self.b.p["ci_level"]
        m = mask & tri.is_discrete & ~np.isnan(tri.reference)
        pred, ref = tri.predicted[m], tri.reference[m]
        parsed = ~np.isnan(pred)
        n = int(np.count_nonzero(m))
        # An unparsed answer counts as wrong for accuracy: an index off the scale by more than any tolerance.
        scored = np.where(parsed, pred, float(len(tri.labels) + 2))
        conf_ok = parsed & ~np.isnan(tri.confidence[m])
        out = {
            "n_answers": n, "n_parsed": int(np.count_nonzero(parsed)),
            "accuracy": metrics.accuracy(scored, ref, tolerance=0, confidence=level).to_dict(),
            "accuracy_parsed_only": metrics.accuracy(pred, ref, tolerance=0, confidence=level).to_dict(),
            "calibration": metrics.calibration(
                tri.confidence[m][conf_ok], (pred[conf_ok] == ref[conf_ok]).astype(float), n_bins=self.b.p["ece_bins"]
            ).to_dict(),
            "consistency": metrics.consistency_rate(tri.prompt_group[m][parsed], pred[parsed]).to_dict(),
        }
        if not scale.ordered:
            out.update(accuracy_within_one=_refused("accuracy_within_one", n),
                       triage_rates={k: _refused(k, n) for k in ("under_triage", "over_triage", "exact")},
                       risk_sensitivity=_refused("risk_sensitivity", n), risk_propensity=_refused("risk_propensity", n))
            return out
        urgent = ref == scale.most_urgent_index
        direction = -1.0 if not scale.higher_is_more_urgent else 1.0
        out.update(
            accuracy_within_one=metrics.accuracy(scored, ref, tolerance=1, confidence=level).to_dict(),
            triage_rates=metrics.triage_rates(pred[parsed], ref[parsed], confidence=level,
                                              higher_is_more_urgent=scale.higher_is_more_urgent).to_dict(),
            risk_sensitivity=(metrics.accuracy(scored[urgent], ref[urgent], tolerance=0, confidence=level).to_dict()
                              if urgent.any() else
                              _insufficient("risk_sensitivity", n, "no case has the most urgent level as reference")),
            risk_propensity=risk_propensity(direction * (pred[parsed] - ref[parsed]), n, level),
        )
        return out

    def ece(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tri = self.tri
        m = mask & tri.is_discrete & ~np.isnan(tri.reference) & ~np.isnan(tri.predicted) & ~np.isnan(tri.confidence)
        return tri.confidence[m], (tri.predicted[m] == tri.reference[m]).astype(float), self.b.data.items.case_id[m]

    def ece_rows(self, personas: dict) -> dict:
        p = self.b.p
        opts = {"n_bins": p["ece_bins"], "n_boot": p["n_boot"], "seed": p["seed"]}
        items = self.b.data.items
        base = self.ece(items.is_baseline)
        out = {"overall": ece_clustered(*self.ece(np.ones(len(items), bool)), confidence_level=p["ci_level"],
                                        **opts).to_dict(), "by_persona": {}, "vs_baseline": {}}
        for name, mask in personas.items():
            out["by_persona"][name] = ece_clustered(*self.ece(mask), confidence_level=p["ci_level"], **opts).to_dict()
            if items.is_baseline[mask].any():
                continue
            out["vs_baseline"][name] = ece_difference(self.ece(mask), base, confidence_level=p["ci_level"],
                                                      **opts).to_dict()
        return out


def _splits(items, meta_key: str) -> dict:
    out = {"by_persona": items.groups("persona"), "by_persona_kind": items.groups("persona_kind"),
           "by_model": items.groups("model"), "by_care_setting": items.groups("care_setting")}
    if meta_key:
        out["by_metadata"] = items.metadata_groups(meta_key)
    return out


def evaluation_section(builder) -> dict:
    tri, items = builder.data.triage, builder.data.items
    if tri.scale is None:
        return {"available": False, "reason": "the study's case sets declare different triage scales ("
                + "; ".join(tri.mixed_scales) + "): answers are not compared across scales"}
    if not np.any(tri.is_discrete & ~np.isnan(tri.reference)):
        return {"available": False, "reason": "no discrete-answer responses with a reference on the declared scale",
                "scale": tri.scale.to_dict(), "n_reference_off_scale": tri.n_reference_off_scale}
    ev = Evaluation(builder)
    scale = tri.scale
    urgent = scale.label_names[scale.most_urgent_index]
    out = {
        "available": True, "scale": scale.to_dict(),
        "direction": (f"{urgent} is the most urgent level; a less urgent answer is under-triage" if scale.ordered
                      else "unordered scale: only exact accuracy, calibration and consistency apply"),
        "risk_sensitivity_level": urgent if scale.ordered else None,
        "n_unparseable": tri.n_unparseable, "n_reference_off_scale": tri.n_reference_off_scale,
        "n_answer_off_scale": tri.n_answer_off_scale,
        "overall": ev.block(np.ones(len(items), bool)),
        "metadata_key": builder.p["metadata_key"] or None,
    }
    splits = _splits(items, builder.p["metadata_key"])
    for name, groups in splits.items():
        out[name] = {value: ev.block(mask) for value, mask in groups.items()}
    out["by_persona_and_model"] = {}
    out["by_persona_and_care_setting"] = {}
    for p_name, pm in splits["by_persona"].items():
        for key, other in (("by_persona_and_model", splits["by_model"]),
                           ("by_persona_and_care_setting", splits["by_care_setting"])):
            for value, vm in other.items():
                if np.any(pm & vm & tri.is_discrete):
                    out[key].setdefault(p_name, {})[value] = ev.block(pm & vm)
    out["ece"] = ev.ece_rows(splits["by_persona"])
    return out
