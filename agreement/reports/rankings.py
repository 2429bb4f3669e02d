"""Persona rankings by the clinicians and by the judge, on matched items only.

Both sides' persona means are taken over the SAME responses (case x persona x model x sample cells
the clinicians rated and the judge scored); a response only one side scored is left out of both and
counted. Intervals resample cases (every case appears under every persona); Kendall's tau-b gets an
exact permutation p-value for rankings of up to eight personas; rank-biased overlap sits beside the
correlations. Computed overall and per model (the models are never pooled silently), per task type
and per care setting.
"""
from __future__ import annotations

import numpy as np

from agreement.data import DimensionData
from agreement.metrics.clustered import matched_rank_agreement

from .scores import item_means, rating_scores, score_description

SPLITS = ("model", "task_type", "care_setting")


def rankings_section(builder, dim: DimensionData) -> dict:
    data, p = builder.data, builder.p
    if data.primary_judge is None:
        return {"available": False, "reason": "the study has no judge scores"}
    items = data.items
    clin = item_means(rating_scores(dim, dim.ratings))
    judge = rating_scores(dim, dim.judge[:, data.primary_judge])
    matched = ~np.isnan(clin) & ~np.isnan(judge)

    def rank(mask, n_boot):
        m = mask & matched
        result = matched_rank_agreement(items.persona[m], items.case_id[m], clin[m], judge[m], n_boot=n_boot,
                                        seed=p["seed"], confidence=p["ci_level"], rbo_p=p["rbo_p"]).to_dict()
        result.update(n_clinician_only=int(np.count_nonzero(mask & ~np.isnan(clin) & np.isnan(judge))),
                      n_judge_only=int(np.count_nonzero(mask & np.isnan(clin) & ~np.isnan(judge))))
        return result

    everything = np.ones(len(items), bool)
    out = {"available": True, "score": score_description(dim), "matching": "responses scored by both sides",
           "overall": rank(everything, p["n_boot"])}
    for key in SPLITS:
        groups = items.groups(key)
        # One interval per split value only when there are few of them (the report must stay fast).
        n_boot = p["n_boot"] if len(groups) <= 6 else 0
        out[f"by_{key}"] = {value: rank(m, n_boot) for value, m in groups.items()}
    return out
