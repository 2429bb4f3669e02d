"""Multi-rater coefficients over items x raters with missing ratings: percent agreement, Fleiss' kappa,
Gwet's AC1/AC2, Brennan-Prediger (= PABAK), category prevalence, and the whole panel.

Notation (Gwet 2014, *Handbook of Inter-Rater Reliability*, ch. 2-5, as in irrCAC): K declared
categories, agreement weights w_kl (identity, or linear/quadratic on category indices), r_ik raters
putting item i in category k, r_i = sum_k r_ik, r*_ik = sum_l w_kl r_il. Items with no rating are
dropped; n = items with >= 1 rating, n2 = items with >= 2 ratings.

* observed agreement  p_a = mean over the n2 items of sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))
  (unweighted: the share of agreeing rater pairs within the item; this is ``percent_agreement``)
* category shares     pi_k = mean over the n items of r_ik / r_i  (single-rated items count here)
* chance agreement    Fleiss: p_e = sum_kl w_kl pi_k pi_l  (on complete data this is Fleiss 1971
  and statsmodels ``fleiss_kappa`` exactly; with missing data it is Gwet's generalisation, not the
  listwise deletion of R irr)
                      Gwet AC1/AC2: p_e = T_w / (K (K - 1)) * sum_k pi_k (1 - pi_k), T_w = sum_kl w_kl
                      Brennan-Prediger: p_e = T_w / K^2 (unweighted: 1/K, so for two raters this is
                      PABAK = (K p_o - 1) / (K - 1), Byrt, Bishop & Carlin 1993)
* coefficient         (p_a - p_e) / (1 - p_e)

Standard errors are Gwet's linearisation variance (Gwet 2008, *BJMSP* 61:29-48; the formulas of R
and Python irrCAC, no finite-population correction), ``se_method="gwet_linearisation"``. With
``n_boot`` > 0 the CI is the item-bootstrap percentile interval; otherwise the t(n - 1) interval
around the SE (as irrCAC), upper end clipped at 1.

Edge cases: empty input, fewer than two raters, or no item with two ratings give status
``insufficient_data`` with the reason. When all ratings fall in one category, Fleiss' kappa is 0/0:
status ``undefined_no_variation``, value None, ``extra["percent_agreement"] = 1.0``. AC1/AC2 and
Brennan-Prediger stay defined there on a declared scale with K >= 2 (their chance agreement does not
come from the margins): they equal p_a = 1, as irrCAC gives. With K = 1 every coefficient is
undefined. Fewer than 10 pairable items add the warning ``small_n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ._core import as_matrix, check_confidence, check_weights, n_categories
from ._pooled import PooledItems, pooled_coefficient
from .alpha import LEVELS, alpha_coefficient
from .kappa import pairwise_cohen_kappa
from .results import HIGH_PREVALENCE, WARN_HIGH_PREVALENCE, AgreementSummary, Coefficient


def _prepare(ratings, labels, confidence, weights=None) -> PooledItems:
    k = n_categories(labels)
    check_confidence(confidence)
    check_weights(weights)
    return PooledItems(as_matrix(ratings, k), k)


def percent_agreement(
    ratings: np.ndarray, *, labels: Sequence, n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95
) -> Coefficient:
    """Share of agreeing rater pairs within an item, averaged over items with two or more ratings.

    For two raters this is the plain proportion of items on which they agree. ``se`` is the standard
    error of that mean over items. One category only gives 1.0 (status ok).
    """
    items = _prepare(ratings, labels, confidence)
    return pooled_coefficient(items, "percent", None, n_boot=n_boot, seed=seed, confidence=confidence)


def fleiss_kappa(
    ratings: np.ndarray, *, labels: Sequence, n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95
) -> Coefficient:
    """Fleiss' kappa, generalised to a varying number of raters per item (Gwet 2014, as irrCAC)."""
    items = _prepare(ratings, labels, confidence)
    return pooled_coefficient(items, "fleiss", None, n_boot=n_boot, seed=seed, confidence=confidence)


def gwet_ac(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Gwet's AC1 (``weights=None``) or AC2 (``"linear"``/``"quadratic"``) on the declared scale."""
    items = _prepare(ratings, labels, confidence, weights)
    return pooled_coefficient(items, "gwet", weights, n_boot=n_boot, seed=seed, confidence=confidence)


def brennan_prediger(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Brennan-Prediger coefficient (= PABAK for two raters), chance agreement fixed at 1/K."""
    items = _prepare(ratings, labels, confidence, weights)
    return pooled_coefficient(items, "bp", weights, n_boot=n_boot, seed=seed, confidence=confidence)


def _prevalence(items: PooledItems, labels: Sequence) -> dict[str, float]:
    total = items.counts.sum()
    if total == 0:
        return {}
    shares = items.counts.sum(axis=0) / total
    return {str(label): float(share) for label, share in zip(labels, shares, strict=True)}


def prevalence(ratings: np.ndarray, *, labels: Sequence) -> dict[str, float]:
    """Share of all non-missing ratings in each declared category (keys: ``str(label)``); {} if none."""
    k = n_categories(labels)
    return _prevalence(PooledItems(as_matrix(ratings, k), k), labels)


def agreement_summary(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    ordinal: bool = False,
    pairwise: bool = True,
    pairs: bool = True,
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementSummary:
    """The whole panel for one dimension with one shared set of item resamples.

    Nominal scales: percent agreement, Fleiss, AC1, Brennan-Prediger/PABAK, alpha (nominal),
    unweighted pairwise kappa. Ordinal scales (``ordinal=True``) add AC2 (quadratic), alpha at
    ordinal and interval level, and pairwise kappa with quadratic weights. ``pairs=False`` keeps the
    average pairwise kappa but not every rater pair (``pairwise_cohen_kappa``).
    """
    items = _prepare(ratings, labels, confidence)
    replicates = items.resampled(n_boot, seed) if n_boot > 0 and not items.reason else None
    common = {"n_boot": n_boot, "seed": seed, "confidence": confidence, "replicates": replicates}
    levels = LEVELS if ordinal else ("nominal",)
    prev = _prevalence(items, labels)
    max_prev = max(prev.values()) if prev else None
    high = max_prev is not None and max_prev > HIGH_PREVALENCE
    coefficients = {
        "percent_agreement": pooled_coefficient(items, "percent", None, **common),
        "fleiss_kappa": pooled_coefficient(items, "fleiss", None, **common),
        "gwet_ac1": pooled_coefficient(items, "gwet", None, **common),
        "brennan_prediger": pooled_coefficient(items, "bp", None, **common),
        "gwet_ac2": pooled_coefficient(items, "gwet", "quadratic", **common) if ordinal else None,
    }
    alpha = {level: alpha_coefficient(items, level, **common) for level in levels}
    if high:
        coefficients = {k: _with_warning(v, WARN_HIGH_PREVALENCE) for k, v in coefficients.items()}
        alpha = {k: _with_warning(v, WARN_HIGH_PREVALENCE) for k, v in alpha.items()}
    kappas = None
    if pairwise:
        kappas = pairwise_cohen_kappa(ratings, labels=labels, weights="quadratic" if ordinal else None,
                                      rater_ids=rater_ids, n_boot=n_boot, seed=seed, confidence=confidence,
                                      pairs=pairs)
    return AgreementSummary(labels=tuple(labels), alpha=alpha, prevalence=prev, max_prevalence=max_prev,
                            high_prevalence=high, pairwise=kappas, **coefficients)


def _with_warning(coef: Coefficient | None, warning: str) -> Coefficient | None:
    if coef is None or coef.value is None:
        return coef
    return replace(coef, warnings=(*coef.warnings, warning))
