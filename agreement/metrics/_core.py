"""Input validation, category counts, weight matrices and edge-case results shared by the modules.

Bad input (a value that is not a category index, a wrong shape, an unknown option) is a caller
error and raises ``ValueError``; data that merely cannot support a coefficient (empty, one rater,
nothing pairable, one category) is not an error and comes back as a status (see results.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy import special, stats

from .results import (
    REASON_EMPTY,
    REASON_NO_PAIRABLE,
    REASON_SINGLE_RATER,
    SMALL_N,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    WARN_SMALL_N,
    Coefficient,
)

WEIGHTS = (None, "linear", "quadratic")


def n_categories(labels: Sequence) -> int:
    k = len(labels)
    if k < 1:
        raise ValueError("labels must declare at least one category")
    return k


def _check_indices(values: np.ndarray, k: int) -> None:
    """Every non-NaN value an integer in 0..k-1: the smallest and largest ignoring NaN (fmin, fmax), and no value
    above its floor (false for NaN), without gathering the non-NaN values first (a report checks many matrices)."""
    if values.size == 0:
        return
    low = np.fmin.reduce(values, axis=None)
    if np.isnan(low):  # nothing but NaN
        return
    if low < 0 or np.fmax.reduce(values, axis=None) > k - 1 or np.any(np.floor(values) < values):
        raise ValueError(f"ratings must be category indices 0..{k - 1} or NaN")


def as_matrix(ratings, k: int) -> np.ndarray:
    """Items x raters float matrix of category indices (NaN = missing), validated."""
    arr = np.asarray(ratings, dtype=float)
    if arr.ndim != 2:
        if arr.size == 0:
            return arr.reshape(0, 0)
        raise ValueError("ratings must be a 2-D items x raters array")
    _check_indices(arr, k)
    return arr


def as_vector(values, k: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if k is not None:
        _check_indices(arr, k)
    return arr


def check_weights(weights: str | None) -> None:
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")


@functools.lru_cache(maxsize=64)
def normal_quantile(confidence: float) -> float:
    """z of a two-sided normal interval at `confidence` (scipy's norm.ppf, computed once per level)."""
    return float(stats.norm.ppf((1 + confidence) / 2))


@functools.lru_cache(maxsize=4096)
def _t_quantiles(confidence: float, df: int) -> tuple[float, float]:
    return tuple(float(q) for q in special.stdtrit(df, ((1.0 - confidence) / 2, (1.0 + confidence) / 2)))


def t_interval(confidence: float, df: int, value: float, se: float) -> tuple[float, float]:
    """scipy's ``stats.t.interval(confidence, df, loc=value, scale=se)`` for se > 0, to the last bit: the
    same quantiles (``stdtrit``, t's ppf) times se plus value, without its argument checks (about 0.4 ms
    a call; a report takes hundreds of these intervals)."""
    low, high = _t_quantiles(confidence, df)
    return low * se + value, high * se + value


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")


def agreement_weights(k: int, weights: str | None) -> np.ndarray:
    """K x K agreement weights on category INDICES: 1 on the diagonal, 1-|i-j|/(K-1) or 1-(i-j)^2/(K-1)^2.

    These are the weights of Cohen (1968) / Gwet (2014); scikit-learn's disagreement weights |i-j| and
    (i-j)^2 give the same kappa because kappa is invariant to rescaling them. Read-only: one array per (K,
    weighting) serves every caller (a report's panels ask for them thousands of times).
    """
    check_weights(weights)
    return _agreement_weights(k, weights)


@functools.lru_cache(maxsize=64)
def _agreement_weights(k: int, weights: str | None) -> np.ndarray:
    idx = np.arange(k, dtype=float)
    if weights is None or k == 1:
        out = np.eye(k)
    else:
        dist = np.abs(idx[:, None] - idx[None, :]) / (k - 1)
        out = 1.0 - (dist if weights == "linear" else dist**2)
    out.setflags(write=False)
    return out


def category_counts(ratings: np.ndarray, k: int) -> np.ndarray:
    """Items x K matrix: how many raters put each item in each category (validated indices: ``as_matrix``).

    One count of (item, category) over the rated cells: comparing the whole matrix with each category took
    twice as long where most cells are empty (5 of 20 clinicians per item)."""
    n, width = ratings.shape
    flat = ratings.reshape(-1)
    rated = np.flatnonzero(~np.isnan(flat))
    cells = (rated // max(width, 1)) * k + flat[rated].astype(np.intp)
    return np.bincount(cells, minlength=n * k).reshape(n, k)


def rater_count(ratings: np.ndarray) -> int:
    """Raters (columns) with at least one rating."""
    if ratings.size == 0:
        return 0
    return int(np.count_nonzero((~np.isnan(ratings)).any(axis=0)))


def insufficiency(ratings: np.ndarray) -> str | None:
    """Why no agreement can be computed on an items x raters matrix, checked in this order, or None."""
    observed = ~np.isnan(ratings)
    if not observed.any():
        return REASON_EMPTY
    if rater_count(ratings) < 2:
        return REASON_SINGLE_RATER
    if not np.any(observed.sum(axis=1) >= 2):
        return REASON_NO_PAIRABLE
    return None


def size_warnings(n_items: int) -> tuple[str, ...]:
    return (WARN_SMALL_N,) if n_items < SMALL_N else ()


def insufficient(name: str, reason: str, *, n_items_total: int, n_ratings_total: int, **sizes) -> Coefficient:
    return Coefficient(
        name=name,
        value=None,
        status=STATUS_INSUFFICIENT,
        n_items=sizes.get("n_items", 0),
        n_ratings=sizes.get("n_ratings", 0),
        n_items_total=n_items_total,
        n_ratings_total=n_ratings_total,
        extra={"reason": reason},
    )


def no_variation(
    name: str, *, n_items: int, n_ratings: int, n_items_total: int, n_ratings_total: int, percent_agreement: float
) -> Coefficient:
    return Coefficient(
        name=name,
        value=None,
        status=STATUS_NO_VARIATION,
        n_items=n_items,
        n_ratings=n_ratings,
        n_items_total=n_items_total,
        n_ratings_total=n_ratings_total,
        warnings=size_warnings(n_items),
        extra={"percent_agreement": percent_agreement},
    )


def finite_or_none(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None
