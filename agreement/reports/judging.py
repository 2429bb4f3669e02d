"""The LLM judges against the clinicians, compared like for like, and against each other.

Leading figure: the judge's kappa against EACH clinician (on the items both rated) and its mean over
clinicians, beside the clinicians' own average pairwise kappa with the same weights: two averages of
one-rater-vs-one-rater kappas. A consensus is more reliable than any single rater and, with two
clinicians per response, exists only where they agreed (the easy items), so "judge vs consensus" is
shown after it, with its tie rule and tie count, and the leave-one-clinician-out comparison (judge
and clinician c against the consensus of the other clinicians, on the same items) beside it.

With several judges on a study, each is compared with the clinicians (the study's own judge first),
and the judges with each other: whether judges agree among themselves tells how much of "judge vs
clinicians" belongs to one judge model rather than to judging by a model at all.
"""
from __future__ import annotations

import numpy as np

from agreement import metrics
from agreement.data import DimensionData

from .scores import scale_of


def judge_weights(dim: DimensionData) -> str | None:
    return "quadratic" if dim.dimension.is_ordinal else None


def judge_order(data) -> list[int]:
    """Judge columns with the study's own judge first, then the others in column order."""
    primary = [] if data.primary_judge is None else [data.primary_judge]
    return primary + [j for j in range(len(data.judges)) if j != data.primary_judge]


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
    for j in judge_order(data):
        name = data.judges[j]
        column = dim.judge[:, j] if mask is None else dim.judge[mask, j]
        # Breakdowns keep Wald intervals (named as such): one bootstrap per subset and clinician costs seconds.
        boot = builder.boot if full else {**builder.boot, "n_boot": 0}
        result = metrics.judge_agreement(
            ratings, column, labels=dim.dimension.labels, weights=weights, rater_ids=builder.raters,
            per_rater=full, **options, **boot,
        ).to_dict()
        result.update(judge=name, is_primary=j == data.primary_judge,
                      n_items_judged=int(np.count_nonzero(~np.isnan(column))), clinicians_average=human)
        if full:
            result["leave_one_out"] = metrics.judge_vs_leave_one_out(
                ratings, column, labels=dim.dimension.labels, weights=weights, rater_ids=builder.raters,
                seed=p["seed"], confidence=p["ci_level"], **options,
            ).to_dict()
        out[name] = result
    return out


def judges_among_themselves(builder, dim: DimensionData) -> dict:
    """The judges' agreement with each other, as raters like the clinicians: Cohen's kappa for every pair
    of judges on the items both scored (the judge-vs-clinician weights), their average, and with 3+ judges
    Fleiss' kappa (nominal) and Krippendorff's alpha (ordinal level on ordinal scales) over the items at
    least two judges scored. Judges without a score on this dimension are named, not counted."""
    data, p = builder.data, builder.p
    order = judge_order(data)
    scored = [j for j in order if np.any(~np.isnan(dim.judge[:, j]))]
    out = {"judges": [data.judges[j] for j in scored],
           "without_scores": [data.judges[j] for j in order if j not in scored],
           "weights": judge_weights(dim), "pairwise": None, "fleiss_kappa": None, "krippendorff_alpha": None}
    if len(scored) < 2:
        return out
    matrix, labels = dim.judge[:, scored], dim.dimension.labels
    # Per pair: Wald intervals; the average: jackknife over items (metrics.pairwise_cohen_kappa).
    out["pairwise"] = metrics.pairwise_cohen_kappa(matrix, labels=labels, weights=out["weights"],
                                                   rater_ids=out["judges"], confidence=p["ci_level"]).to_dict()
    if len(scored) >= 3:
        out["fleiss_kappa"] = metrics.fleiss_kappa(matrix, labels=labels, **builder.boot).to_dict()
        level = "ordinal" if dim.dimension.is_ordinal else "nominal"
        out["krippendorff_alpha"] = {"level": level, **metrics.krippendorff_alpha(
            matrix, labels=labels, level=level, **builder.boot).to_dict()}
    return out
