"""The n-weighted average of pairwise Cohen's kappas, beside Light's unweighted average.

Light's kappa (``pairwise_cohen_kappa(...).average``) gives every pair of raters the same weight, so a
pair that co-rated 12 items counts as much as one that co-rated 900. With an incomplete design the
n-weighted average weights each defined pair p by its number of co-rated items n_p:

    kappa_n = sum_p n_p kappa_p / sum_p n_p     (pairs whose kappa is defined)

On a complete design (every pair co-rated the same items) both averages are equal. Its standard
error is the exact delete-one-item jackknife over every item that enters a pair, as for Light's
average (kappa.py): deleting an item moves each of its pairs' tables by one count, so the changes of
the numerator and of the denominator are quadratic forms in the item's one-hot ratings; a pair that
becomes undefined leaves both sums. CI: normal around the jackknife SE, clipped to [-1, 1]
(``ci_method="jackknife_normal"``). Edge cases and statuses as ``pairwise_cohen_kappa``'s average.

Reference: Light, R. J. (1971). Measures of response agreement for qualitative data. *Psychological
Bulletin* 76(5), 365-377; Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*,
ch. 11 (the jackknife).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from . import kappa as _kappa
from ._core import as_matrix, insufficiency, normal_quantile
from .kappa import pairwise_cohen_kappa
from .results import STATUS_OK, Coefficient


def _delete_one(tables: np.ndarray, weights, res: dict) -> tuple[np.ndarray, np.ndarray]:
    """(P, K, K) changes of the numerator and of the denominator when one item in cell (a, b) is deleted."""
    k = tables.shape[-1]
    d = _kappa._disagreement(k, weights)
    n, kappa, ok = res["n"], np.where(res["defined"], res["kappa"], 0.0), res["defined"]
    row, col = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = (d * tables).sum(axis=(-2, -1))
    expected = np.einsum("pi,ij,pj->p", row, d, col)
    obs_del = observed[:, None, None] - d
    exp_del = expected[:, None, None] - (col @ d.T)[:, :, None] - (row @ d)[:, None, :] + d
    n_del = (n - 1)[:, None, None]
    still = (n_del > 0) & (exp_del > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa_del = np.where(still, 1.0 - obs_del * n_del / exp_del, 0.0)
    num = np.where(still, n_del * kappa_del, 0.0) - (n * kappa)[:, None, None]
    den = np.where(still, -1.0, -n[:, None, None])
    keep = ok[:, None, None] & (tables > 0)
    return np.where(keep, num, 0.0), np.where(keep, den, 0.0)


def _jackknife(ratings: np.ndarray, k: int, tables: np.ndarray, pairs, weights, res: dict, population: np.ndarray,
               total: tuple[float, float]) -> float | None:
    num, den = _delete_one(tables, weights, res)
    m_num = np.zeros((ratings.shape[1] * k, ratings.shape[1] * k))
    m_den = np.zeros_like(m_num)
    rows = np.broadcast_to(pairs[0][:, None, None] * k + np.arange(k)[None, :, None], num.shape)
    cols = np.broadcast_to(pairs[1][:, None, None] * k + np.arange(k)[None, None, :], num.shape)
    m_num[rows, cols], m_den[rows, cols] = num, den
    items = np.flatnonzero(population)
    reps = np.empty(items.size)
    for start in range(0, items.size, _kappa._ROWS_PER_CHUNK):
        x = _kappa._onehot(ratings[items[start : start + _kappa._ROWS_PER_CHUNK]], k)
        change_num = ((x @ m_num) * x).sum(axis=1)
        change_den = ((x @ m_den) * x).sum(axis=1)
        denominator = total[1] + change_den
        if np.any(denominator <= 0):
            return None
        reps[start : start + x.shape[0]] = (total[0] + change_num) / denominator
    m = items.size
    if m < 2:
        return None
    return float(np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum()))


def n_weighted_kappa_average(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    confidence: float = 0.95,
) -> Coefficient:
    """Average of the pairwise Cohen's kappas weighted by each pair's co-rated items, with a jackknife CI.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Category indices into ``labels``, NaN = missing.
    labels : sequence
        The declared categories.
    weights : None, "linear" or "quadratic"
        Kappa weights, as :func:`pairwise_cohen_kappa`.
    confidence : float, default 0.95

    Returns
    -------
    Coefficient
        ``name`` ``"n_weighted_average_cohen_kappa"``; ``extra`` holds ``light_average`` (the
        unweighted mean over the same pairs) and the pair counts.

    References
    ----------
    Light (1971), *Psychological Bulletin* 76, 365-377.
    """
    pw = pairwise_cohen_kappa(ratings, labels=labels, weights=weights, n_boot=0, confidence=confidence, pairs=False)
    name = "n_weighted_average_cohen_kappa" + (f"_{weights}" if weights else "")
    light = pw.average
    if not light.ok:
        return replace(light, name=name)
    k = len(labels)
    ratings = as_matrix(ratings, k)
    ia, ib = np.triu_indices(ratings.shape[1], k=1)
    tables = _kappa._cross_tables(ratings, None, k)[ia, :, ib, :]
    res = _kappa.kappa_from_tables(tables, weights)
    ok = res["defined"]
    n_ok = res["n"][ok]
    total = (float((n_ok * res["kappa"][ok]).sum()), float(n_ok.sum()))
    value = total[0] / total[1]
    population = (~np.isnan(ratings)).sum(axis=1) >= 2
    se = None if insufficiency(ratings) else _jackknife(ratings, k, tables, (ia, ib), weights, res, population, total)
    low = high = ci_method = None
    if se is not None:
        z = normal_quantile(confidence)
        low, high, ci_method = max(-1.0, value - z * se), min(1.0, value + z * se), "jackknife_normal"
    extra = {**{key: v for key, v in light.extra.items() if key.startswith("n_pairs")}, "weights": weights,
             "se_method": "jackknife_items", "light_average": light.value, "pair_weights": "co-rated items"}
    return Coefficient(name=name, value=value, status=STATUS_OK, n_items=light.n_items, n_ratings=light.n_ratings,
                       n_items_total=light.n_items_total, n_ratings_total=light.n_ratings_total, se=se, ci_low=low,
                       ci_high=high, ci_method=ci_method, ci_level=confidence if ci_method else None,
                       warnings=light.warnings, extra=extra)
