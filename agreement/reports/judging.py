"""The LLM judge against the clinicians, compared like for like.

Leading figure: the judge's kappa against EACH clinician (on the items both rated) and its mean over
clinicians, beside the clinicians' own average pairwise kappa with the same weights: two averages of
one-rater-vs-one-rater kappas. A consensus is more reliable than any single rater and, with two
clinicians per response, exists only where they agreed (the easy items), so "judge vs consensus" is
shown after it, with its tie rule and tie count, and the leave-one-clinician-out comparison (judge
and clinician c against the consensus of the other clinicians, on the same items) beside it.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from agreement import metrics
from agreement.data import DimensionData

from .scores import scale_of


def judge_weights(dim: DimensionData) -> str | None:
    return "quadratic" if dim.dimension.is_ordinal else None


def judge_section(builder, dim: DimensionData, mask: np.ndarray | None = None, *, full: bool = True) -> dict:
    """{judge name: comparison}; `full=False` (breakdowns) keeps the averages, not every clinician."""
    data, p = builder.data, builder.p
    ratings = dim.ratings if mask is None else dim.ratings[mask]
    weights = judge_weights(dim)
    options = {"consensus": p["consensus"], "tie": p["consensus_tie"], "scale": scale_of(dim)}
    human = None
    if full:
        human = metrics.pairwise_cohen_kappa(ratings, labels=dim.dimension.labels, weights=weights,
                                             n_boot=0, confidence=p["ci_level"]).average.to_dict()
    out = {}
    for j, name in enumerate(data.judges):
        column = dim.judge[:, j] if mask is None else dim.judge[mask, j]
        # Breakdowns keep Wald intervals (named as such): one bootstrap per subset and clinician costs seconds.
        boot = builder.boot if full else {**builder.boot, "n_boot": 0}
        agreement = metrics.judge_agreement(
            ratings, column, labels=dim.dimension.labels, weights=weights, rater_ids=builder.raters,
            **options, **boot,
        )
        result = (agreement if full else replace(agreement, per_rater=())).to_dict()
        result.update(judge=name, is_primary=j == data.primary_judge,
                      n_items_judged=int(np.count_nonzero(~np.isnan(column))), clinicians_average=human)
        if full:
            result["leave_one_out"] = metrics.judge_vs_leave_one_out(
                ratings, column, labels=dim.dimension.labels, weights=weights, rater_ids=builder.raters,
                seed=p["seed"], confidence=p["ci_level"], **options,
            ).to_dict()
        out[name] = result
    return out
