"""Krippendorff's alpha at nominal, ordinal, interval and ratio level, with an item-bootstrap CI.

alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck   (Krippendorff 2011, *Computing
Krippendorff's Alpha-Reliability*), where o_ck are the coincidences summed over items with >= 2
ratings (each item contributes (r_ic r_ik - [c=k] r_ic) / (r_i - 1)), n_c = sum_k o_ck, n = sum n_c,
and d is the metric: nominal [c != k]; ordinal (sum_{g=c..k} n_g - (n_c + n_k)/2)^2 (Krippendorff's
rank metric, which depends on the marginals); interval (c - k)^2 on category indices, i.e. equally
spaced labels; ratio ((v_c - v_k) / (v_c + v_k))^2 on the labels' own numeric values v (Krippendorff's
ratio metric: distances relative to an absolute zero, so the labels must be numbers >= 0 and the
category indices are not used; 0 when v_c + v_k = 0). Only pairable values count: an item rated once
is ignored, unlike Fleiss/AC1.

The point estimate is the ``krippendorff`` package (pln-fing-udelar/fast-krippendorff) called with
per-item value counts and ``value_domain`` = the declared scale, so unused categories keep their
place on ordinal and interval scales. Bootstrap replicates reuse the same formula on resampled
coincidence sums; at unit weights it reproduces the package (tested). ``se`` is the bootstrap
standard deviation (``se_method="bootstrap"``); the package has no analytic SE.

Edge cases, checked before the package is called because it raises on some and returns NaN on
others (its issues #9 and #26): empty, one rater or no item with two ratings give
``insufficient_data``; all pairable values in one category (including K = 1) give
``undefined_no_variation`` with ``extra["percent_agreement"] = 1.0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from krippendorff import krippendorff as _package

from . import _bootstrap
from ._core import as_matrix, check_confidence, insufficient, n_categories, no_variation, size_warnings
from ._pooled import PooledItems
from .results import STATUS_OK, Coefficient

LEVELS = ("nominal", "ordinal", "interval")  # the levels a report panel computes
ALL_LEVELS = (*LEVELS, "ratio")  # ratio needs numeric labels with an absolute zero


def ratio_values(labels: Sequence) -> np.ndarray:
    """The numeric values of the declared labels for the ratio metric; ValueError if not numbers >= 0."""
    try:
        values = np.asarray([float(v) for v in labels])
    except (TypeError, ValueError):
        raise ValueError("the ratio level needs numeric labels (the values themselves, with an absolute zero)") \
            from None
    if not np.isfinite(values).all() or np.any(values < 0) or np.unique(values).size != values.size:
        raise ValueError("ratio labels must be distinct finite numbers >= 0")
    return values


def _distance(level: str, n_c: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Squared distance matrices d_ck, broadcast over the leading axes of the marginals n_c."""
    k = n_c.shape[-1]
    idx = np.arange(k, dtype=float)
    if level == "ratio":
        total = values[:, None] + values[None, :]
        diff = np.divide(values[:, None] - values[None, :], total, out=np.zeros((k, k)), where=total != 0)
        return np.broadcast_to(diff**2, (*n_c.shape[:-1], k, k))
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (*n_c.shape[:-1], k, k))
    if level == "interval":
        return np.broadcast_to((idx[:, None] - idx[None, :]) ** 2, (*n_c.shape[:-1], k, k))
    cum = np.cumsum(n_c, axis=-1)
    return (cum[..., None, :] - cum[..., :, None] + (n_c[..., :, None] - n_c[..., None, :]) / 2) ** 2


def alpha_from_coincidences(o: np.ndarray, level: str, values: np.ndarray | None = None) -> np.ndarray:
    """Alpha from (..., K, K) coincidence matrices; NaN where expected disagreement is 0.

    ``values`` are the labels' numeric values, needed by the ratio metric only.
    """
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    d = _distance(level, n_c, values)
    observed = (o * d).sum(axis=(-2, -1))
    expected = np.einsum("...c,...k,...ck->...", n_c, n_c, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - (n - 1) * observed / expected
    return np.where(expected > 0, out, np.nan)


def _package_alpha(items: PooledItems, pairable_counts: np.ndarray, domain: np.ndarray, level: str) -> float:
    """``krippendorff.alpha(value_counts=pairable_counts, value_domain=domain, level_of_measurement=level)``,
    step by step with the package's own functions so that its coincidence matrix, the costly part (items x
    K x K), is computed once per items for every level."""
    if "package_coincidences" not in items.memo:
        items.memo["package_coincidences"] = _package._coincidences(pairable_counts)
    o = items.memo["package_coincidences"]
    n_v = o.sum(axis=0)
    e = _package._random_coincidences(n_v)
    d = _package._distances(np.asarray(domain), _package._distance_metric(level), n_v)
    return float(1 - (o * d).sum() / (e * d).sum())


def alpha_coefficient(
    items: PooledItems,
    level: str,
    *,
    n_boot: int,
    seed: int | None,
    confidence: float,
    replicates: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> Coefficient:
    if level not in ALL_LEVELS:
        raise ValueError(f"level must be one of {ALL_LEVELS}, not {level!r}")
    if level == "ratio" and (values is None or len(values) != items.k):
        raise ValueError("the ratio level needs the labels' numeric values")
    name = f"krippendorff_alpha_{level}"
    totals = {"n_items_total": items.n_items_total, "n_ratings_total": items.n_ratings_total}
    if items.reason:
        return insufficient(name, items.reason, **totals)
    sizes = {"n_items": items.n2, "n_ratings": items.n_ratings}
    pairable_counts = items.counts[items.pairable]
    if np.count_nonzero(pairable_counts.sum(axis=0)) < 2:
        return no_variation(name, **sizes, **totals, percent_agreement=1.0)
    domain = values if level == "ratio" else np.arange(items.k)
    value = _package_alpha(items, pairable_counts, domain, level)
    se = low = high = ci_method = None
    extra: dict = {"level": level}
    if n_boot > 0:
        if replicates is None:
            replicates = items.resampled(n_boot, seed)
        reps = alpha_from_coincidences(items.coincidences(replicates), level, values)
        low, high, extra["n_boot_undefined"] = _bootstrap.percentile_interval(reps, confidence)
        finite = reps[np.isfinite(reps)]
        se = float(np.std(finite, ddof=1)) if finite.size > 1 else None
        extra["se_method"] = "bootstrap"
        ci_method = _bootstrap.CI_BOOTSTRAP
    return Coefficient(name=name, value=value, status=STATUS_OK, **sizes, **totals, se=se, ci_low=low,
                       ci_high=high, ci_method=ci_method, ci_level=confidence if ci_method else None,
                       n_boot=n_boot, seed=seed if n_boot > 0 else None, warnings=size_warnings(items.n2),
                       extra=extra)


def krippendorff_alpha(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    level: str = "nominal",
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Krippendorff's alpha via the ``krippendorff`` package on the declared scale, item bootstrap CI.

    ``level`` is ``"nominal"``, ``"ordinal"``, ``"interval"`` (interval distances between category
    indices, i.e. equally spaced labels) or ``"ratio"`` (Krippendorff's ratio metric on the labels'
    own values, which must be numbers >= 0, e.g. ``labels=[0, 1, 2, 5, 10]``; non-numeric labels raise
    ``ValueError``). Ratings are still category indices into ``labels``.
    """
    k = n_categories(labels)
    check_confidence(confidence)
    if level not in ALL_LEVELS:
        raise ValueError(f"level must be one of {ALL_LEVELS}, not {level!r}")
    values = ratio_values(labels) if level == "ratio" else None
    items = PooledItems(as_matrix(ratings, k), k)
    return alpha_coefficient(items, level, n_boot=n_boot, seed=seed, confidence=confidence, values=values)
