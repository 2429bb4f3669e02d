"""The coefficients beside the summary panel, each where its design applies (otherwise the reason).

* ICC (Shrout & Fleiss, six forms): ordinal dimensions whose levels are numbers (e.g. reasoning 1-5),
  on the scale's own numbers. A crossed design (every clinician rated every rated item) gives all six
  forms; otherwise (raters differ between items, e.g. two of many clinicians per response) only the
  one-way forms ICC(1,1) and ICC(1,k) apply, computed on the items with the most common number k >= 2
  of ratings; ICC(2,.) and ICC(3,.) are then "not applicable" with the reason.
* Conger's kappa (every design; with the report's kappa weights, quadratic for ordinal scales).
* Krippendorff's alpha at ratio level: scales whose levels are non-negative numbers.
* n-weighted average of pairwise kappas beside Light's average (jackknife intervals).
* Light's average with a two-way (items and raters) bootstrap interval, when the report asks for it.
* Pairwise kappas with a user-given weight matrix, when the report gives one for the dimension.
"""
from __future__ import annotations

import numpy as np

from agreement import metrics
from agreement.data import DimensionData
from agreement.metrics.kappa_bootstrap import pairwise_average_with_matrix, two_way_bootstrap_average

from .scores import numeric_levels

NOT_NUMERIC = "the scale's levels are not numbers"
NOT_ORDINAL = "the dimension is not ordinal"
TWO_WAY_MAX_COST = 2e10  # items x (raters x K)^2 x resamples: about a minute of matrix products
NOT_CROSSED = "raters differ between items (not a crossed design): only the one-way forms apply"


def _not_applicable(reason: str) -> dict:
    return {"status": "not_applicable", "reason": reason}


def icc(dim: DimensionData, confidence: float) -> dict:
    values = numeric_levels(dim.dimension.labels)
    if not dim.dimension.is_ordinal:
        return _not_applicable(NOT_ORDINAL)
    if values is None:
        return _not_applicable(NOT_NUMERIC)
    rated_cols = ~np.isnan(dim.ratings).all(axis=0)
    matrix = dim.ratings[:, rated_cols]
    counts = np.count_nonzero(~np.isnan(matrix), axis=1)
    rated = counts > 0
    if rated.sum() >= 2 and np.all(counts[rated] == matrix.shape[1]) and matrix.shape[1] >= 2:
        scores = values[matrix[rated].astype(int)]
        result = metrics.intraclass_correlation(scores, confidence=confidence)
        return {"status": "ok", "design": "crossed", "k": int(matrix.shape[1]),
                "forms": {name: c.to_dict() for name, c in result.forms().items()}, "not_applicable": {}}
    multi = counts[counts >= 2]
    if multi.size < 2:
        return _not_applicable("fewer than two items with two or more ratings")
    k = int(np.bincount(multi).argmax())
    rows = matrix[counts == k]
    slots = np.sort(rows, axis=1)[:, :k]  # the k ratings of each item; which rater gave them is not used
    result = metrics.intraclass_correlation(values[slots.astype(int)], confidence=confidence)
    forms = result.forms()
    return {"status": "ok", "design": "one-way", "k": k, "n_items_other_k": int(rated.sum() - rows.shape[0]),
            "forms": {name: forms[name].to_dict() for name in ("ICC(1,1)", "ICC(1,k)") if name in forms},
            "not_applicable": {name: NOT_CROSSED for name in ("ICC(2,1)", "ICC(3,1)", "ICC(2,k)", "ICC(3,k)")}}


def extra_coefficients(builder, dim: DimensionData) -> dict:
    p, d = builder.p, dim.dimension
    weights = "quadratic" if d.is_ordinal else None
    out = {
        "icc": icc(dim, p["ci_level"]),
        "conger": metrics.conger_kappa(dim.ratings, labels=d.labels, weights=weights, **builder.item_boot(
            int(np.count_nonzero((~np.isnan(dim.ratings)).any(axis=1))), f"{d.label}: Conger's kappa")).to_dict(),
        "n_weighted_average": metrics.n_weighted_kappa_average(dim.ratings, labels=d.labels, weights=weights,
                                                                confidence=p["ci_level"]).to_dict(),
        "alpha_ratio": _not_applicable(NOT_NUMERIC),
        "two_way_average": None,
        "custom_weights": None,
    }
    values = numeric_levels(d.labels)
    if d.is_ordinal and values is not None and np.all(values >= 0):
        out["alpha_ratio"] = metrics.krippendorff_alpha(
            dim.ratings, labels=values.tolist(), level="ratio", **builder.boot).to_dict()
    if p["kappa_average_ci"] == "two_way_bootstrap":
        pairable = int(np.count_nonzero(np.count_nonzero(~np.isnan(dim.ratings), axis=1) >= 2))
        cost = pairable * (dim.ratings.shape[1] * len(d.labels)) ** 2 * max(p["n_boot"], 1)
        if cost > TWO_WAY_MAX_COST:
            out["two_way_average"] = _not_applicable(
                f"too large for the items x raters bootstrap here ({pairable} items, {dim.ratings.shape[1]} raters, "
                f"{p['n_boot']} resamples); the jackknife interval is given")
        else:
            out["two_way_average"] = two_way_bootstrap_average(dim.ratings, labels=d.labels, weights=weights,
                                                               **builder.boot).to_dict()
    matrix = (p["weight_matrices"] or {}).get(d.key)
    if matrix is not None:
        try:
            out["custom_weights"] = pairwise_average_with_matrix(dim.ratings, labels=d.labels, matrix=matrix,
                                                                 rater_ids=builder.raters)
        except ValueError as exc:  # not K x K for this scale, or not valid agreement weights
            out["custom_weights"] = {"status": "invalid_weight_matrix", "reason": str(exc)}
    return out
