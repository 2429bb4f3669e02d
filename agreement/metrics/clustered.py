"""Case-clustered comparisons for persona studies: matched rankings, paired effects, ECE with intervals.

Every case is answered under every persona (and model, and sample), so answers to one case are not
independent: the resampling unit is the CASE (the cluster), never the single answer. Each function
reduces its rows to per-case sums first (``cluster_sums``) and resamples cases with replacement
(``_bootstrap.resampled_sums``: B multinomial draws over the cases), so the cost is B x cases, not
B x answers.

* ``matched_rank_agreement``: two sides (clinicians, judge) score conditions (personas) on the SAME
  rows only (the caller passes rows scored by both); the condition means are compared with Kendall's
  tau-b and Spearman's rho. CI: case-clustered bootstrap percentile interval (every resampled case
  brings all its rows under every condition). p-value: exact permutation test of tau-b over all K!
  orderings of one side's means when K <= ``EXACT_MAX_CONDITIONS`` (8), otherwise scipy's
  ``kendalltau`` p-value; a short ranking (K = 4-8) therefore gets an exact p. Rank-biased overlap
  (Webber et al. 2010) of the two orderings (best first, ties broken by name) sits beside them.
* ``paired_difference``: one difference per row (e.g. persona minus baseline on the same case,
  model and sample); per-case means are averaged over cases (each case weighs the same). CI:
  case-clustered bootstrap percentile interval. p-value: sign-flip permutation test on the per-case
  means (exact over all 2^n sign patterns when n <= ``EXACT_MAX_FLIPS`` (12) cases, else
  ``n_perm`` random patterns with the observed one counted, (1 + hits) / (1 + n_perm)).
* ``ece_clustered`` / ``ece_difference``: expected calibration error (equal-width bins as
  ``evaluation.calibration``). ECE sums absolute bin gaps, so resampled ECEs lie above the estimate
  (a well-calibrated model's percentile interval can lie wholly above its own ECE); its interval is
  therefore the case-clustered percentile interval shifted down by the bootstrap bias estimate
  (mean of the resampled ECEs minus the ECE): [q_lo - bias, q_hi - bias], floored at 0. The
  difference of two ECEs (a - b) is computed on the cases both sides answered, resampling those cases
  jointly (the bias of the two sides largely cancels), with the percentile interval.

Edge cases come back as statuses: fewer than two conditions (``too_few_conditions``), a constant
side (``undefined_no_variation``), no rows (``empty``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import _bootstrap
from ._bootstrap import _kept
from ._core import check_confidence, finite_or_none, insufficient
from .ranking import _codes, _spearman, _tau_b
from .rankings_overlap import rank_biased_overlap
from .results import (
    REASON_EMPTY,
    REASON_TOO_FEW_CONDITIONS,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    Coefficient,
    RankBiasedOverlap,
    _Serialisable,
)

CI_CLUSTER = "case_cluster_bootstrap_percentile"
CI_CLUSTER_SHIFTED = "case_cluster_bootstrap_bias_shifted"
EXACT_MAX_CONDITIONS = 8
EXACT_MAX_FLIPS = 12


_CACHE_KEYS = 16  # resample and sign matrices kept (a report tests many strata with the same number of cases)


def _cached(key: tuple, make) -> np.ndarray:
    matrices = _kept.matrices
    if key not in matrices:
        if len(matrices) >= _CACHE_KEYS:
            matrices.pop(next(iter(matrices)))
        matrices[key] = make()
    return matrices[key]


def case_weights(n: int, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot, n) resample multiplicities of n cases (each row a draw of n cases with replacement): the
    item bootstrap's draws (``_bootstrap.item_count_chunks``), the same as the calibration intervals resample
    the same cases with, as float32 for the products."""
    def make():
        return np.concatenate(list(_bootstrap.item_count_chunks(n, n_boot, seed))).astype(np.float32)
    return _cached(("w", n, n_boot, seed), make) if seed is not None else make()


def cluster_sums(clusters: Sequence, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cluster ids, per-cluster sums of the rows' features), clusters sorted."""
    ids, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.empty((ids.size, features.shape[1]))
    for j in range(features.shape[1]):
        out[:, j] = np.bincount(inverse, weights=features[:, j], minlength=ids.size)
    return ids, out


def _percentile(values: np.ndarray, confidence: float) -> tuple:
    low, high, _ = _bootstrap.percentile_interval(values, confidence)
    return low, high


# --- matched rankings --------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedRanking(_Serialisable):
    """Both sides' condition means on the same rows, their rank correlations and RBO."""

    conditions: tuple
    mean_a: tuple
    mean_b: tuple
    n_rows: tuple
    n_clusters: int
    kendall_tau_b: Coefficient
    spearman: Coefficient
    rbo: RankBiasedOverlap | None
    ranking_a: tuple
    ranking_b: tuple


def _order(conditions: Sequence, means: np.ndarray) -> tuple:
    """Conditions best first (highest mean), ties in the given order (``conditions`` come sorted by name)."""
    return tuple(conditions[i] for i in sorted(range(len(conditions)), key=lambda i: -means[i]))


@functools.lru_cache(maxsize=EXACT_MAX_CONDITIONS + 1)
def _orderings(k: int) -> np.ndarray:
    """Every ordering of k positions (k! x k), in the order of ``itertools.permutations``; read-only (shared)."""
    out = np.array(list(itertools.permutations(range(k))), dtype=np.intp)
    out.setflags(write=False)
    return out


def exact_tau_pvalue(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided permutation p-value of Kendall's tau-b over every ordering of y (K! permutations)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    observed = abs(float(_tau_b(x, y)))
    if np.isnan(x).any() or np.isnan(y).any():  # which pairs count depends on the ordering
        perms = np.array(list(itertools.permutations(y)))
        taus = np.abs(_tau_b(np.broadcast_to(x, perms.shape), perms))
    else:
        # Without missing values an ordering only permutes y's sign matrix, and tau-b's denominator (the
        # untied pairs of each side) stays; its numerator is a sum of signs, an integer, so exact in any order.
        sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
        perms = _orderings(y.size)
        den = np.sqrt((sx * sx).sum() * (sy * sy).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            taus = np.abs(np.where(den > 0, (sx * sy[perms[:, :, None], perms[:, None, :]]).sum(axis=(-2, -1)) / den,
                                   np.nan))
    return float(np.mean(taus >= observed - 1e-12))


def _rank_coefficient(name, fn, x, y, boot, sizes, confidence, n_boot, seed) -> Coefficient:
    extra = {"n_conditions": int(x.size)}
    if x.size < 2:
        return Coefficient(name=name, value=None, status=STATUS_INSUFFICIENT, **sizes,
                           extra={**extra, "reason": REASON_TOO_FEW_CONDITIONS if sizes["n_items_total"] else
                                  REASON_EMPTY})
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Coefficient(name=name, value=None, status=STATUS_NO_VARIATION, **sizes,
                           extra={**extra, "constant_side": "a" if np.ptp(x) == 0 else "b"})
    if name == "kendall_tau_b" and x.size <= EXACT_MAX_CONDITIONS:
        extra.update(p_value=exact_tau_pvalue(x, y), p_method="exact_permutation")
    else:
        scipy_fn = stats.kendalltau if name == "kendall_tau_b" else stats.spearmanr
        extra.update(p_value=finite_or_none(scipy_fn(x, y).pvalue), p_method="scipy")
    low = high = method = None
    if boot is not None:
        low, high = _percentile(fn(*boot), confidence)
        method = CI_CLUSTER if low is not None else None
    return Coefficient(name=name, value=float(fn(x, y)), status=STATUS_OK, **sizes, ci_low=low, ci_high=high,
                       ci_method=method, ci_level=confidence if method else None, n_boot=n_boot if method else 0,
                       seed=seed if method else None, extra=extra)


def matched_rank_agreement(
    conditions: Sequence, clusters: Sequence, scores_a: np.ndarray, scores_b: np.ndarray, *,
    n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95, rbo_p: float = 0.9,
) -> MatchedRanking:
    """Rank agreement of condition means from rows scored by BOTH sides, with a case-clustered bootstrap.

    Rows with a NaN on either side are dropped first, so both means come from the same rows.
    """
    check_confidence(confidence)
    a, b = np.asarray(scores_a, float), np.asarray(scores_b, float)
    cond, clus = np.asarray(conditions, dtype=object), np.asarray(clusters)
    total = a.size
    keep = ~np.isnan(a) & ~np.isnan(b)
    a, b, cond, clus = a[keep], b[keep], cond[keep], clus[keep]
    levels, code = _codes(cond.tolist())  # sorted by name (by their text when names mix types, as rank_agreement)
    k = len(levels)
    onehot = np.zeros((a.size, k))
    onehot[np.arange(a.size), code] = 1.0
    features = np.hstack([onehot * a[:, None], onehot * b[:, None], onehot])
    ids, sums = cluster_sums(clus, features)
    total_sums = sums.sum(axis=0)
    counts = total_sums[2 * k:]
    mean_a, mean_b = total_sums[:k] / counts, total_sums[k:2 * k] / counts
    sizes = {"n_items": int(a.size), "n_ratings": int(2 * a.size), "n_items_total": int(total),
             "n_ratings_total": int(2 * total)}
    boot = None
    if n_boot > 0 and k >= 2 and ids.size >= 2:
        rep = _bootstrap.resampled_sums(sums, n_boot, seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (rep[:, :k] / rep[:, 2 * k:], rep[:, k:2 * k] / rep[:, 2 * k:])
    args = (mean_a, mean_b, boot, sizes, confidence, n_boot, seed)
    order_a, order_b = _order(levels, mean_a), _order(levels, mean_b)
    return MatchedRanking(
        conditions=tuple(levels), mean_a=tuple(mean_a.tolist()), mean_b=tuple(mean_b.tolist()),
        n_rows=tuple(int(c) for c in counts), n_clusters=int(ids.size),
        kendall_tau_b=_rank_coefficient("kendall_tau_b", _tau_b, *args),
        spearman=_rank_coefficient("spearman_rho", _spearman, *args),
        rbo=rank_biased_overlap(order_a, order_b, p=rbo_p) if k else None,
        ranking_a=order_a, ranking_b=order_b,
    )


# --- paired differences ------------------------------------------------------------------------


_SIGN_ROWS = 256  # sign patterns turned into float64 at a time (at 14,000 cases: 29 MB)


def _sign_patterns(n: int, n_perm: int, seed: int | None) -> np.ndarray:
    """(n_perm, n) random signs as int8 (cached per seed: every stratum of n cases tests with the same ones)."""
    def make():
        return np.random.default_rng(seed).integers(0, 2, size=(n_perm, n), dtype=np.int8) * 2 - 1
    return _cached(("s", n, n_perm, seed), make) if seed is not None else make()


def _sign_flip_hits(n: int, n_perm: int, seed: int | None, case_means: np.ndarray) -> np.ndarray:
    """Per column of `case_means` (n cases x panels): how many sign patterns give a mean at least as far from 0 as
    the observed one, ties included. The products are float64, a block of patterns at a time: in float32 a sum
    over thousands of cases can be off by more than the 1e-5 tolerance, and a tie then falls short (tested)."""
    observed = np.abs(case_means.mean(axis=0))
    signs = _sign_patterns(n, n_perm, seed)
    hits = np.zeros(case_means.shape[1], dtype=np.int64)
    for start in range(0, n_perm, _SIGN_ROWS):
        flipped = np.abs(signs[start:start + _SIGN_ROWS].astype(float) @ case_means) / n
        hits += np.count_nonzero(flipped >= observed * (1 - 1e-5) - 1e-12, axis=0)  # ties count as hits
    return hits


def sign_flip_pvalue(case_means: np.ndarray, *, n_perm: int, seed: int | None) -> tuple[float, str]:
    """Two-sided sign-flip permutation p-value of the mean of per-case differences."""
    n = case_means.size
    observed = abs(case_means.mean())
    if n <= EXACT_MAX_FLIPS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        return float(np.mean(np.abs(signs @ case_means) / n >= observed - 1e-12)), "exact_sign_flip"
    return (1 + int(_sign_flip_hits(n, n_perm, seed, case_means[:, None])[0])) / (1 + n_perm), "monte_carlo_sign_flip"


def paired_difference(differences: np.ndarray, clusters: Sequence, *, n_boot: int = 1000, seed: int | None = 0,
                      confidence: float = 0.95, name: str = "paired_difference") -> Coefficient:
    """Mean over cases of the per-case mean difference, case-bootstrap CI and sign-flip p-value."""
    return paired_differences([(differences, clusters)], n_boot=n_boot, seed=seed, confidence=confidence,
                              name=name)[0]


def paired_differences(panels: Sequence[tuple[np.ndarray, Sequence]], *, n_boot: int = 1000, seed: int | None = 0,
                       confidence: float = 0.95, name: str = "paired_difference") -> list[Coefficient]:
    """``paired_difference`` of each (differences, clusters) panel. Panels with the same number of cases share
    their sign patterns and case resamples, and are multiplied with them together: each of those matrices,
    1,000 x cases, is then read once for all of them (a million-rating report's persona effects read a
    56 MB matrix twice for each of 348 panels, 1.7 s of memory traffic)."""
    out: list[Coefficient | None] = []
    by_size: dict[int, list[tuple[int, np.ndarray, int, int]]] = {}
    for at, (differences, clusters) in enumerate(panels):
        d = np.asarray(differences, float)
        ok = ~np.isnan(d)
        if not ok.any():
            out.append(insufficient(name, REASON_EMPTY, n_items_total=int(d.size), n_ratings_total=int(d.size)))
            continue
        ids, sums = cluster_sums(np.asarray(clusters)[ok], np.column_stack([d[ok], np.ones(ok.sum())]))
        by_size.setdefault(ids.size, []).append((at, sums[:, 0] / sums[:, 1], int(ok.sum()), int(d.size)))
        out.append(None)
    n_perm = max(n_boot, 1000)
    for n, members in by_size.items():
        means = np.column_stack([case_means for _, case_means, _, _ in members])
        if n <= EXACT_MAX_FLIPS:
            p_values = [sign_flip_pvalue(case_means, n_perm=n_perm, seed=seed) for _, case_means, _, _ in members]
        else:
            p_values = [((1 + h) / (1 + n_perm), "monte_carlo_sign_flip")
                        for h in _sign_flip_hits(n, n_perm, seed, means).tolist()]
        replicates = (case_weights(n, n_boot, seed) @ means.astype(np.float32) / n
                      if n_boot > 0 and n >= 2 else None)
        for j, (at, case_means, n_pairs, n_rows) in enumerate(members):
            low = high = method = None
            if replicates is not None:
                low, high = _percentile(replicates[:, j], confidence)
                method = CI_CLUSTER if low is not None else None
            p, p_method = p_values[j]
            out[at] = Coefficient(
                name=name, value=float(case_means.mean()), status=STATUS_OK, n_items=n, n_ratings=n_pairs,
                n_items_total=n, n_ratings_total=n_rows, ci_low=low, ci_high=high, ci_method=method,
                ci_level=confidence if method else None, n_boot=n_boot if method else 0,
                seed=seed if method else None,
                extra={"n_cases": n, "n_pairs": n_pairs, "p_value": p, "p_method": p_method, "unit": "case"})
    return out


# --- calibration ------------------------------------------------------------------------------


def _ece_features(conf: np.ndarray, hit: np.ndarray, n_bins: int) -> np.ndarray:
    which = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    onehot = np.zeros((conf.size, n_bins))
    onehot[np.arange(conf.size), which] = 1.0
    return np.hstack([onehot, onehot * conf[:, None], onehot * hit[:, None]])


def _ece_from_sums(s: np.ndarray, n_bins: int) -> np.ndarray:
    """ECE from per-bin sums; never 0 rows: every case has a row, and a resample holds as many cases as the data."""
    n_b, c_b, h_b = s[..., :n_bins], s[..., n_bins:2 * n_bins], s[..., 2 * n_bins:]
    return np.abs(h_b - c_b).sum(axis=-1) / n_b.sum(axis=-1)


def ece_clustered(confidence: np.ndarray, correct: np.ndarray, clusters: Sequence, *, n_bins: int = 10,
                  n_boot: int = 1000, seed: int | None = 0, confidence_level: float = 0.95) -> Coefficient:
    """ECE (sum over bins of |hits - confidence| / n, i.e. sum_b n_b/n |acc_b - conf_b|), case-bootstrap CI."""
    conf, hit = np.asarray(confidence, float), np.asarray(correct, float)
    ok = ~np.isnan(conf) & ~np.isnan(hit)
    name = "expected_calibration_error"
    if not ok.any():
        return insufficient(name, REASON_EMPTY, n_items_total=int(conf.size), n_ratings_total=int(conf.size))
    ids, sums = cluster_sums(np.asarray(clusters)[ok], _ece_features(conf[ok], hit[ok], n_bins))
    value = float(_ece_from_sums(sums.sum(axis=0), n_bins))
    low = high = method = None
    if n_boot > 0 and ids.size >= 2:
        reps = _ece_from_sums(_bootstrap.resampled_sums(sums, n_boot, seed), n_bins)
        q_low, q_high = _percentile(reps, confidence_level)
        if q_low is not None:  # resampled ECEs sit above the estimate (|.| bias): shift them back by that bias
            bias = float(np.nanmean(reps)) - value
            low, high, method = max(0.0, q_low - bias), max(0.0, q_high - bias), CI_CLUSTER_SHIFTED
    return Coefficient(name=name, value=value, status=STATUS_OK, n_items=int(ok.sum()), n_ratings=int(ok.sum()),
                       n_items_total=int(conf.size), n_ratings_total=int(conf.size), ci_low=low, ci_high=high,
                       ci_method=method, ci_level=confidence_level if method else None,
                       n_boot=n_boot if method else 0, seed=seed if method else None,
                       extra={"n_bins": n_bins, "n_cases": int(ids.size)})


def ece_difference(side_a: tuple, side_b: tuple, *, n_bins: int = 10, n_boot: int = 1000, seed: int | None = 0,
                   confidence_level: float = 0.95) -> Coefficient:
    """ECE(a) - ECE(b) on the cases both sides answered; each side is (confidence, correct, cases)."""
    name = "ece_difference"
    parts = []
    for conf, hit, cases in (side_a, side_b):
        conf, hit = np.asarray(conf, float), np.asarray(hit, float)
        ok = ~np.isnan(conf) & ~np.isnan(hit)
        parts.append((np.asarray(cases)[ok], _ece_features(conf[ok], hit[ok], n_bins)))
    common = np.intersect1d(parts[0][0], parts[1][0])
    n_total = int(sum(p[0].size for p in parts))
    if common.size == 0:
        return insufficient(name, REASON_EMPTY, n_items_total=n_total, n_ratings_total=n_total)
    sums = []
    for cases, feats in parts:
        keep = np.isin(cases, common)
        sums.append(cluster_sums(cases[keep], feats[keep])[1])
    both = np.hstack(sums)
    width = 3 * n_bins

    def diff(s):
        return _ece_from_sums(s[..., :width], n_bins) - _ece_from_sums(s[..., width:], n_bins)

    value = float(diff(both.sum(axis=0)))
    low = high = method = None
    if n_boot > 0 and common.size >= 2:
        low, high = _percentile(diff(_bootstrap.resampled_sums(both, n_boot, seed)), confidence_level)
        method = CI_CLUSTER if low is not None else None
    n_used = int(both[:, :n_bins].sum() + both[:, width:width + n_bins].sum())
    return Coefficient(name=name, value=value, status=STATUS_OK, n_items=n_used, n_ratings=n_used,
                       n_items_total=n_total, n_ratings_total=n_total, ci_low=low, ci_high=high, ci_method=method,
                       ci_level=confidence_level if method else None, n_boot=n_boot if method else 0,
                       seed=seed if method else None, extra={"n_bins": n_bins, "n_cases": int(common.size)})
