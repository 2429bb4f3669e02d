"""The judge against a leave-one-clinician-out consensus, beside each clinician against the same consensus.

Comparing the judge with the consensus of *all* clinicians and then with the clinicians' pairwise
kappa is not like for like: a clinician is part of the consensus they would be compared with, and
a consensus is more reliable than any one rater. The fair comparison (e.g. Chiang & Lee 2023;
the "leave-one-annotator-out" protocol of LLM-as-judge studies) is, for each clinician c:

* the consensus C_-c of the *other* clinicians on every item (``consensus.py``: rule, tie rule,
  scale check);
* kappa(judge, C_-c) and kappa(c, C_-c), on the same items: those judged, rated by c, and with a
  consensus C_-c (tied items follow the tie rule; excluded ones drop out and are counted);
* their difference judge - clinician: positive when the judge agrees with the other clinicians
  better than clinician c does.

``per_rater`` holds these per clinician, with Wald intervals (Fleiss-Cohen-Everitt SE) for each kappa
and a delete-one-item jackknife for the difference (both kappas move together when an item is
deleted, so their covariance is kept). ``judge_average``, ``clinician_average`` and ``difference``
are means over the clinicians whose two kappas are defined; their SEs are the delete-one-item
jackknife over all items used (an item enters the comparisons of every clinician who rated it), with
normal intervals. A replicate in which a kappa becomes undefined leaves the SE None (this needs very
few items per clinician).

Edge cases: fewer than two clinicians with ratings, or no judged item: ``insufficient_data`` with
the reason; a consensus rule invalid for the declared scale: ``invalid_for_scale`` on every
coefficient; a clinician with no usable item: ``no_overlap``; a constant table: as Cohen's kappa.
``n_ties`` (per clinician and summed) counts the items whose leave-one-out consensus was tied.

References: Cohen (1960); Fleiss, Cohen & Everitt (1969); Efron & Tibshirani (1993), ch. 11.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from . import kappa as _kappa
from ._core import (
    as_matrix,
    as_vector,
    check_confidence,
    check_weights,
    insufficient,
    n_categories,
    normal_quantile,
    size_warnings,
)
from .consensus import check_options, consensus_validity, consensus_with_ties
from .results import (
    REASON_EMPTY,
    REASON_NO_OVERLAP,
    REASON_SINGLE_RATER,
    STATUS_INVALID_FOR_SCALE,
    STATUS_OK,
    Coefficient,
    LeaveOneOutConsensus,
    LeaveOneOutRater,
)

NAMES = ("judge_vs_loo_consensus_kappa", "clinician_vs_loo_consensus_kappa", "judge_minus_clinician_kappa")


def _replicates(table3: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    """(K, K, K) judge and clinician kappas after deleting one item in cell (judge, clinician, consensus)."""
    k = table3.shape[0]
    rep_j = np.full((k, k, k), np.nan)
    rep_c = np.full((k, k, k), np.nan)
    cells = np.argwhere(table3 > 0)
    if cells.size:
        deleted = np.repeat(table3[None], len(cells), axis=0)
        deleted[np.arange(len(cells)), cells[:, 0], cells[:, 1], cells[:, 2]] -= 1
        kj = _kappa.kappa_from_tables(deleted.sum(axis=2), weights)["kappa"]
        kc = _kappa.kappa_from_tables(deleted.sum(axis=1), weights)["kappa"]
        rep_j[tuple(cells.T)], rep_c[tuple(cells.T)] = kj, kc
    return rep_j, rep_c


def _normal(value: float, se: float | None, confidence: float, bound: float = 2.0) -> tuple:
    """Normal interval clipped to the range of the statistic: [-1, 1] for a kappa, [-2, 2] for a difference."""
    if se is None:
        return None, None, None
    z = normal_quantile(confidence)
    return max(-bound, value - z * se), min(bound, value + z * se), "jackknife_normal"


def _jackknife_se(reps: np.ndarray) -> float | None:
    m = reps.size
    if m < 2 or not np.isfinite(reps).all():
        return None
    return float(np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum()))


def _difference(kj: Coefficient, kc: Coefficient, rep: np.ndarray, n: int, totals: dict,
                confidence: float) -> Coefficient:
    if not (kj.ok and kc.ok):
        bad = kj if not kj.ok else kc
        return replace(bad, name=NAMES[2])
    value = kj.value - kc.value
    se = _jackknife_se(rep)
    low, high, method = _normal(value, se, confidence)
    return Coefficient(name=NAMES[2], value=value, status=STATUS_OK, n_items=n, n_ratings=3 * n, **totals, se=se,
                       ci_low=low, ci_high=high, ci_method=method, ci_level=confidence if method else None,
                       warnings=size_warnings(n), extra={"se_method": "jackknife_items"})


class _Rater:
    """One clinician's leave-one-out comparison and its per-item jackknife changes."""

    def __init__(self, ratings, judge, r, k, weights, consensus, tie, seed, confidence):
        # Only items the judge and clinician r both rated can enter. A random tie-break draws for the tied
        # items of the whole matrix in order, so then every row takes part; otherwise an item's consensus is
        # its own row's, and those rows alone are enough.
        rows = (np.arange(ratings.shape[0]) if check_options(consensus, tie, None) == "random"
                else np.flatnonzero(~np.isnan(judge) & ~np.isnan(ratings[:, r])))
        others = np.delete(ratings[rows], r, axis=1)
        centre, tied = consensus_with_ties(others, k, consensus, tie=tie, seed=seed)
        candidates = ~np.isnan(judge[rows]) & ~np.isnan(ratings[rows, r]) & (~np.isnan(others)).any(axis=1)
        used = candidates & ~np.isnan(centre)
        self.items = rows[used]
        self.n_ties = int((candidates & tied).sum())
        cells = np.column_stack([judge[self.items], ratings[self.items, r], centre[used]]).astype(int)
        table3 = np.zeros((k, k, k))
        np.add.at(table3, tuple(cells.T), 1.0)
        n = self.items.size
        totals = [(ratings.shape[0], int((~np.isnan(ratings[:, r])).sum() + (~np.isnan(judge)).sum()))] * 2
        tables = np.stack([table3.sum(axis=1), table3.sum(axis=0)])  # (judge, consensus), (clinician, consensus)
        kj, kc = _kappa._pair_coefficients(tables, weights, totals=totals, ci="wald", n_boot=0, seed=None,
                                           confidence=confidence)
        suffix = "" if weights is None else f"_{weights}"
        self.kj, self.kc = replace(kj, name=NAMES[0] + suffix), replace(kc, name=NAMES[1] + suffix)
        self.defined = self.kj.ok and self.kc.ok
        self.change_j = self.change_c = np.zeros(n)
        if self.defined:
            rep_j, rep_c = _replicates(table3, weights)
            self.change_j = rep_j[tuple(cells.T)] - self.kj.value
            self.change_c = rep_c[tuple(cells.T)] - self.kc.value
        tot = {"n_items_total": totals[0][0], "n_ratings_total": totals[0][1]}
        diff = _difference(self.kj, self.kc, (self.kj.value or 0) - (self.kc.value or 0)
                           + self.change_j - self.change_c, n, tot, confidence)
        self.result = LeaveOneOutRater(rater=None, n_items=n, n_ties=self.n_ties, judge_kappa=self.kj,
                                       clinician_kappa=self.kc, difference=diff)


def _average(name: str, parts: list[_Rater], which: str, n_rows: int, totals: dict, confidence: float) -> Coefficient:
    used = [p for p in parts if p.defined]
    if not used:
        return insufficient(name, REASON_NO_OVERLAP, **totals)
    value_of = {"judge": lambda p: p.kj.value, "clinician": lambda p: p.kc.value,
                "difference": lambda p: p.kj.value - p.kc.value}[which]
    values = np.array([value_of(p) for p in used])
    mean = float(values.mean())
    change = np.zeros(n_rows)
    population = np.zeros(n_rows, dtype=bool)
    for p in used:
        delta = {"judge": p.change_j, "clinician": p.change_c, "difference": p.change_j - p.change_c}[which]
        np.add.at(change, p.items, delta)
        population[p.items] = True
    se = _jackknife_se(mean + change[population] / len(used))
    low, high, method = _normal(mean, se, confidence, 2.0 if which == "difference" else 1.0)
    n = int(population.sum())
    return Coefficient(name=name, value=mean, status=STATUS_OK, n_items=n, n_ratings=int(sum(3 * p.items.size
                       for p in used)), **totals, se=se, ci_low=low, ci_high=high, ci_method=method,
                       ci_level=confidence if method else None, warnings=size_warnings(n),
                       extra={"se_method": "jackknife_items", "n_raters": len(parts), "n_raters_defined": len(used),
                              "min": float(values.min()), "max": float(values.max())})


def judge_vs_leave_one_out(
    ratings: np.ndarray,
    judge: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    consensus: str = "majority",
    tie: str | None = None,
    scale: str | None = None,
    rater_ids: Sequence | None = None,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> LeaveOneOutConsensus:
    """Judge vs the consensus of the other clinicians, beside each clinician vs that same consensus.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_clinicians)
        Category indices into ``labels``, NaN = missing.
    judge : array-like of shape (n_items,)
        The judge's category index per item, NaN = not judged.
    labels, weights
        As :func:`judge_agreement` (kappa weights None, "linear" or "quadratic").
    consensus, tie, scale, seed
        Consensus rule, tie rule, declared scale and the seed of ``tie="random"``: see consensus.py.
    rater_ids : sequence, optional
        Names of the clinicians (columns).
    confidence : float, default 0.95

    Returns
    -------
    LeaveOneOutConsensus
        ``per_rater`` (judge kappa, clinician kappa and their difference per clinician),
        ``judge_average``, ``clinician_average``, ``difference`` and ``n_ties``.
    """
    k = n_categories(labels)
    check_weights(weights)
    check_confidence(confidence)
    tie_rule = check_options(consensus, tie, scale)
    ratings = as_matrix(ratings, k)
    judge = as_vector(judge, k)
    if judge.size != ratings.shape[0]:
        raise ValueError("judge must have one value per item (row of ratings)")
    raters = tuple(rater_ids) if rater_ids is not None else tuple(range(ratings.shape[1]))
    if len(raters) != ratings.shape[1]:
        raise ValueError("rater_ids must name every column of ratings")
    observed = ~np.isnan(ratings)
    totals = {"n_items_total": int(ratings.shape[0]), "n_ratings_total": int(observed.sum() + (~np.isnan(judge)).sum())}
    common = {"weights": weights, "consensus_method": consensus, "tie_rule": tie_rule, "scale": scale}
    suffix = "" if weights is None else f"_{weights}"
    names = [NAMES[0] + "_average" + suffix, NAMES[1] + "_average" + suffix, NAMES[2] + "_average" + suffix]
    invalid = consensus_validity(consensus, scale, tie)
    reason = None
    if not observed.any() and np.isnan(judge).all():
        reason = REASON_EMPTY
    elif (observed.any(axis=0)).sum() < 2 or np.isnan(judge).all():
        reason = REASON_SINGLE_RATER
    if invalid or reason:
        coefs = [Coefficient(name=nm, value=None, status=STATUS_INVALID_FOR_SCALE, n_items=0, n_ratings=0, **totals,
                             extra={"reason": invalid}) if invalid else insufficient(nm, reason, **totals)
                 for nm in names]
        return LeaveOneOutConsensus(**common, n_ties=0, per_rater=(), judge_average=coefs[0],
                                    clinician_average=coefs[1], difference=coefs[2])
    parts = [_Rater(ratings, judge, r, k, weights, consensus, tie, seed, confidence) for r in range(ratings.shape[1])
             if observed[:, r].any()]
    ids = [raters[r] for r in range(ratings.shape[1]) if observed[:, r].any()]
    per_rater = tuple(replace(p.result, rater=rid) for p, rid in zip(parts, ids, strict=True))
    averages = [_average(nm, parts, which, ratings.shape[0], totals, confidence)
                for nm, which in zip(names, ("judge", "clinician", "difference"), strict=True)]
    return LeaveOneOutConsensus(**common, n_ties=sum(p.n_ties for p in parts), per_rater=per_rater,
                                judge_average=averages[0], clinician_average=averages[1], difference=averages[2])
