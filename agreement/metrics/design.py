"""Order effects (display position) and confidence-level helpers.

* ``order_effect``: ratings grouped into blocks of ``bucket_size`` consecutive display positions
  (block j holds positions first_position + j*size .. first_position + (j+1)*size - 1) with the mean
  and SD of the score per block, plus the ordinary least-squares slope of score on position
  (scipy ``linregress``) with its t(n - 2) confidence interval. The slope treats ratings as
  independent; ratings by one clinician are not, so read it as a screen for fatigue or position
  bias, not as a test. Fewer than three scored ratings or a single position: ``insufficient_data``.
* ``confidence_distribution``: counts and shares of each declared confidence level (e.g. "95.9 %
  low"); missing values are counted in ``n_missing`` and excluded from the shares.
* ``mask_below_confidence``: agreement restricted to ratings made with at least a given confidence:
  pass the masked matrix to any coefficient. A rating with unknown confidence is masked too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from ._core import as_vector, check_confidence, insufficient, n_categories
from .results import (
    REASON_EMPTY,
    REASON_NO_PAIRABLE,
    STATUS_OK,
    Coefficient,
    Distribution,
    OrderEffect,
    PositionBucket,
)


def order_effect(
    positions: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    bucket_size: int = 10,
    confidence: float = 0.95,
    first_position: int = 1,
) -> OrderEffect:
    """Mean score per block of ``bucket_size`` display positions and the OLS slope of score on position."""
    check_confidence(confidence)
    if bucket_size < 1:
        raise ValueError("bucket_size must be >= 1")
    pos, score = as_vector(positions), as_vector(scores)
    if pos.shape != score.shape:
        raise ValueError("positions and scores must have the same length")
    keep = ~np.isnan(pos) & ~np.isnan(score)
    if np.any(pos[keep] < first_position):
        raise ValueError("positions must be >= first_position")
    pos, score = pos[keep], score[keep]
    block = ((pos - first_position) // bucket_size).astype(int)
    # Scores sorted by block, in their original order within one: each block is a slice (thousands of blocks).
    order = np.argsort(block, kind="stable")
    blocks, starts, sizes = np.unique(block[order], return_index=True, return_counts=True)
    ordered = score[order]
    buckets = []
    for j, start, size in zip(blocks.tolist(), starts.tolist(), sizes.tolist(), strict=True):
        sel = ordered[start:start + size]
        buckets.append(PositionBucket(first=int(first_position + j * bucket_size),
                                      last=int(first_position + (j + 1) * bucket_size - 1), n=int(sel.size),
                                      mean=float(sel.mean()), sd=float(sel.std(ddof=1)) if sel.size > 1 else None))
    totals = {"n_items_total": int(keep.size), "n_ratings_total": int(keep.size)}
    if pos.size < 3 or np.ptp(pos) == 0:
        reason = REASON_EMPTY if pos.size == 0 else REASON_NO_PAIRABLE
        return OrderEffect(buckets=tuple(buckets), slope=insufficient("slope_per_position", reason, **totals),
                           intercept=None)
    fit = stats.linregress(pos, score)
    t = stats.t.ppf((1 + confidence) / 2, df=pos.size - 2)
    slope = Coefficient(name="slope_per_position", value=float(fit.slope), status=STATUS_OK, n_items=int(pos.size),
                        n_ratings=int(pos.size), **totals, se=float(fit.stderr),
                        ci_low=float(fit.slope - t * fit.stderr), ci_high=float(fit.slope + t * fit.stderr),
                        ci_method="t", ci_level=confidence,
                        extra={"p_value": float(fit.pvalue), "se_method": "ols", "bucket_size": bucket_size})
    return OrderEffect(buckets=tuple(buckets), slope=slope, intercept=float(fit.intercept))


def confidence_distribution(values: Sequence | np.ndarray, *, levels: Sequence) -> Distribution:
    """Counts and shares of each declared confidence level (values are indices into ``levels``)."""
    k = n_categories(levels)
    v = as_vector(values, k)
    observed = v[~np.isnan(v)].astype(int)
    counts = np.bincount(observed, minlength=k)
    n = int(observed.size)
    return Distribution(
        levels=tuple(levels),
        counts={str(lv): int(c) for lv, c in zip(levels, counts, strict=True)},
        proportions={str(lv): (float(c / n) if n else None) for lv, c in zip(levels, counts, strict=True)},
        n=n,
        n_missing=int(v.size - n),
    )


def mask_below_confidence(ratings: np.ndarray, confidence: np.ndarray, min_level: int) -> np.ndarray:
    """Copy of ``ratings`` with NaN wherever ``confidence`` (same shape, level indices) < ``min_level``."""
    r = np.array(ratings, dtype=float)
    c = np.asarray(confidence, dtype=float)
    if r.shape != c.shape:
        raise ValueError("ratings and confidence must have the same shape")
    with np.errstate(invalid="ignore"):
        r[~(c >= min_level)] = np.nan
    return r
