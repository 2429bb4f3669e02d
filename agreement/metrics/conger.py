"""Conger's kappa: Cohen's kappa generalised to any number of raters, each with their own marginals.

Conger (1980) keeps Fleiss's observed agreement but takes chance agreement from each rater's own
category distribution, as Cohen's kappa does for two raters. With the notation of multirater.py
(r_ik raters putting item i in category k, agreement weights w) and, for each of the r raters g,
p_gk = (items rater g put in category k) / (items rater g rated):

* observed agreement  p_a = mean over items with >= 2 ratings of sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))
* chance agreement    p_e = 1 / (r (r - 1)) * sum over ordered pairs g != h of sum_kl w_kl p_gk p_hl,
  the mean of the r (r - 1) pairwise Cohen chance agreements; equivalently
  sum_kl w_kl (pbar_k pbar_l - s2_kl / r) with s2_kl the covariance of p_gk and p_gl over raters
  (Gwet 2014, section 2.5, the formula of irrCAC ``conger``)
* kappa               (p_a - p_e) / (1 - p_e)

For two raters with complete data this is Cohen's kappa exactly (weighted too, with the same weights).
With missing ratings, p_a uses every item with two or more ratings and p_gk every rating of rater g
(Gwet's generalisation, not listwise deletion). Raters with no rating at all and items with no rating
are left out (a rater with no rating has no marginals).

``weights``: None (identity), ``"linear"``/``"quadratic"`` (agreement weights on category indices,
as AC2) or a K x K agreement-weight matrix (validated by ``weights.weight_matrix``).

``se``: Gwet's linearisation variance (Gwet 2008; irrCAC's ``conger``, no finite-population
correction), ``se_method="gwet_linearisation"``. CI: item-bootstrap percentile interval with
``n_boot`` > 0 (resamples where a rater has no item are undefined and counted in
``extra["n_boot_undefined"]``), otherwise the t(n - 1) interval, upper end clipped at 1, as irrCAC.

Edge cases: empty, one rater or no item with two ratings: ``insufficient_data`` with the reason;
chance agreement 1 (every rating in one category): ``undefined_no_variation``. Fewer than 10
pairable items: ``small_n``.

References: Conger, A. J. (1980). Integration and generalization of kappas for multiple raters.
*Psychological Bulletin* 88(2), 322-328. Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*
(4th ed.), Advanced Analytics. Gwet, K. L. (2008). Computing inter-rater reliability and its variance
in the presence of high agreement. *BJMSP* 61, 29-48.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _bootstrap
from ._core import (
    as_matrix,
    category_counts,
    check_confidence,
    insufficiency,
    insufficient,
    n_categories,
    no_variation,
    size_warnings,
    t_interval,
)
from .results import STATUS_OK, Coefficient
from .weights import weight_matrix

_NO_VARIATION_EPS = 1e-12


def _item_parts(x: np.ndarray, k: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: category counts, whether it has two or more ratings, and p_a,i."""
    counts = category_counts(x, k).astype(float)
    r_i = counts.sum(axis=1)
    den = r_i * (r_i - 1)
    sum_q = (counts * (counts @ w.T - 1.0)).sum(axis=1)
    pa_i = np.divide(sum_q, den, out=np.zeros_like(sum_q), where=den > 0)
    return counts, r_i >= 2, pa_i


def _features(x: np.ndarray, k: int, pairable: np.ndarray, pa_i: np.ndarray) -> np.ndarray:
    """Per-item [1, pairable, p_a,i, one-hot rater x category]: the rows the item bootstrap resamples."""
    # Filled in place: at a million ratings a one-hot copy and its stacking cost more than the sums read off them.
    feats = np.empty((x.shape[0], 3 + x.shape[1] * k))
    feats[:, 0], feats[:, 1], feats[:, 2] = 1.0, pairable, pa_i
    feats[:, 3:].reshape(x.shape[0], x.shape[1], k)[...] = x[:, :, None] == np.arange(k)
    return feats


def _feature_sums(x: np.ndarray, k: int, pairable: np.ndarray, pa_i: np.ndarray) -> np.ndarray:
    """The column sums of ``_features`` without its rows (items x raters x K numbers at a million ratings)."""
    rated = ~np.isnan(x)
    cells = np.arange(x.shape[1]) * k + np.where(rated, x, 0).astype(np.intp)
    classif = np.bincount(cells[rated], minlength=x.shape[1] * k)
    return np.concatenate(([x.shape[0], np.count_nonzero(pairable), pa_i.sum()], classif)).astype(float)


def conger_from_sums(s: np.ndarray, r: int, k: int, w: np.ndarray) -> dict[str, np.ndarray]:
    """p_a, p_e and kappa from (..., 3 + r k) feature sums; NaN where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pa = s[..., 2] / s[..., 1]
        classif = s[..., 3:].reshape(*s.shape[:-1], r, k)
        ng = classif.sum(axis=-1, keepdims=True)
        pgk = np.where(ng > 0, classif / np.where(ng > 0, ng, 1.0), np.nan)
        total = pgk.sum(axis=-2)
        pe = (np.einsum("...k,kl,...l->...", total, w, total)
              - np.einsum("...gk,kl,...gl->...", pgk, w, pgk)) / (r * (r - 1))
        kappa = np.where(1 - pe > _NO_VARIATION_EPS, (pa - pe) / (1 - pe), np.nan)
    return {"p_a": pa, "p_e": pe, "kappa": kappa, "pgk": pgk, "ng": ng[..., 0]}


def _linearisation_se(x: np.ndarray, k: int, w: np.ndarray, parts: dict, pa_i: np.ndarray, value: float,
                      n2: int) -> float | None:
    """Gwet's linearisation SE of Conger's kappa (irrCAC ``conger`` with f = 0)."""
    n, r = x.shape
    if n < 2:
        return None
    pe, pgk, ng = float(parts["p_e"]), parts["pgk"], parts["ng"]
    observed = ~np.isnan(x)
    rated = observed.astype(float)
    u = pgk.sum(axis=0)[None, :] - pgk  # sum over the other raters of p_hk
    # sum_l [x_ig = l] (u w)_gl: the entry of each rating's own category (0 where g did not rate i)
    term1 = np.where(observed, (u @ w)[np.arange(r), np.where(observed, x, 0).astype(np.intp)], 0.0)
    term2 = np.einsum("gk,gk->g", u, pgk @ w.T)
    lam = (n / ng)[None, :] * (term1 - (rated - ng[None, :] / n) * term2[None, :])
    pe_i = lam.sum(axis=1) / (r * (r - 1))
    pairable = (rated.sum(axis=1) >= 2).astype(float)
    kappa_i = n / n2 * (pa_i - pe * pairable) / (1 - pe)
    dev = kappa_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe) - value
    return float(np.sqrt((dev**2).sum() / (n * (n - 1))))


def conger_kappa(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights=None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Conger's (1980) kappa for items x raters with missing ratings (NaN).

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Category indices 0..K-1 into ``labels``; NaN = missing.
    labels : sequence
        The declared categories (K = len(labels)).
    weights : None, "linear", "quadratic" or array-like of shape (K, K)
        Agreement weights (a matrix: 1 on the diagonal, entries in [0, 1]).
    n_boot, seed, confidence
        Item-bootstrap percentile CI when ``n_boot`` > 0, else the t(n - 1) interval on the SE.

    Returns
    -------
    Coefficient
        ``name`` ``"conger_kappa"`` (``_linear``/``_quadratic``/``_custom`` when weighted);
        ``extra`` holds ``p_a``, ``p_e``, ``n_raters``, ``se_method``.

    References
    ----------
    Conger (1980), *Psychological Bulletin* 88, 322-328; Gwet (2014), *Handbook of Inter-Rater
    Reliability*, section 2.5; irrCAC ``CAC.conger``.
    """
    k = n_categories(labels)
    check_confidence(confidence)
    w = weight_matrix(k, weights)
    suffix = "" if weights is None else f"_{weights}" if isinstance(weights, str) else "_custom"
    name = "conger_kappa" + suffix
    ratings = as_matrix(ratings, k)
    observed = ~np.isnan(ratings)
    totals = {"n_items_total": int(ratings.shape[0]), "n_ratings_total": int(observed.sum())}
    reason = insufficiency(ratings)
    if reason:
        return insufficient(name, reason, **totals)
    x = ratings[observed.any(axis=1)][:, observed.any(axis=0)]
    n, r = x.shape
    counts, pairable, pa_i = _item_parts(x, k, w)
    n2 = int(np.count_nonzero(pairable))
    sizes = {"n_items": n2, "n_ratings": int(counts[pairable].sum())}
    parts = conger_from_sums(_feature_sums(x, k, pairable, pa_i), r, k, w)
    if not np.isfinite(parts["kappa"]):
        plain = _item_parts(x, k, np.eye(k))[2]
        return no_variation(name, **sizes, **totals, percent_agreement=float(plain.sum() / n2))
    value = float(parts["kappa"])
    se = _linearisation_se(x, k, w, parts, pa_i, value, n2)
    extra = {"se_method": "gwet_linearisation", "p_a": float(parts["p_a"]), "p_e": float(parts["p_e"]),
             "n_raters": r, "weights": suffix[1:] or None}
    if n_boot > 0:
        reps = conger_from_sums(_bootstrap.resampled_sums(_features(x, k, pairable, pa_i), n_boot, seed), r, k,
                                w)["kappa"]
        low, high, extra["n_boot_undefined"] = _bootstrap.percentile_interval(reps, confidence)
        ci_method = _bootstrap.CI_BOOTSTRAP
    elif se is not None:
        low, high = t_interval(confidence, n - 1, value, se) if se > 0 else (value, value)
        low, high, ci_method = float(low), min(1.0, float(high)), "t"
    else:
        low = high = ci_method = None
    return Coefficient(name=name, value=value, status=STATUS_OK, **sizes, **totals, se=se, ci_low=low,
                       ci_high=high, ci_method=ci_method, ci_level=confidence if ci_method else None,
                       n_boot=n_boot, seed=seed if n_boot > 0 else None, warnings=size_warnings(n2), extra=extra)
