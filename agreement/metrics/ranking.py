"""Rank agreement of conditions (clinicians vs judge) and Bradley-Terry preference ratings.

``rank_agreement``: each side's score of a condition (persona) is the mean of its items' scores
(NaN scores ignored); the two vectors of condition means are compared with Kendall's tau-b
(scipy ``kendalltau``, which handles ties; = R ``cor(method="kendall")``) and Spearman's rho
(Pearson correlation of mid-ranks, scipy ``spearmanr``). Only conditions with a mean on both sides
enter. With few conditions (K = 4-10) the sampling variance is large, so the CI is an item bootstrap
stratified by condition (each condition keeps its number of items; both sides are resampled
together and re-ranked on every resample), and ``extra`` carries scipy's p-value (exact for
tau-b when K is small and there are no ties). Edge cases: fewer than two conditions with scores on
both sides: ``insufficient_data``/``too_few_conditions``; one side's condition means all equal:
``undefined_no_variation`` (a rank correlation with a constant is 0/0).

``bradley_terry``: P(i beats j) = 1 / (1 + exp(theta_j - theta_i)), fitted by maximum likelihood
(Newton's method on the concave log-likelihood, theta centred to mean 0), reported on Chatbot Arena's
scale elo = 400 / ln(10) * theta + 1000 (Chiang et al. 2024). A tie counts as half a win for each side
(``ties="half"``, the fractional-outcome logistic likelihood Arena uses) or is dropped
(``ties="drop"``). The MLE exists only when the "has beaten" graph is strongly connected (Zermelo
1929; Ford 1957); otherwise status ``not_identifiable`` and no ratings. The CI resamples comparisons
(B multinomial draws over the distinct comparisons); resamples without an MLE are skipped and
counted in ``extra["n_boot_undefined"]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.sparse.csgraph import connected_components

from . import _bootstrap
from ._core import check_confidence, finite_or_none
from .results import (
    REASON_EMPTY,
    REASON_TOO_FEW_CONDITIONS,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_NOT_IDENTIFIABLE,
    STATUS_OK,
    BradleyTerry,
    Coefficient,
    PlayerRating,
    RankAgreement,
)

TIES = ("half", "drop")
ELO_SCALE = 400 / math.log(10)
ELO_BASE = 1000.0


def _codes(values: Sequence) -> tuple[list, np.ndarray]:
    try:
        levels = sorted(set(values))
    except TypeError:  # mixed types: order by text
        levels = sorted(set(values), key=str)
    index = {v: i for i, v in enumerate(levels)}
    return levels, np.array([index[v] for v in values], dtype=int)


def _tau_b(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b over the last axis, NaN entries left out; NaN where undefined."""
    bad = np.isnan(a) | np.isnan(b)
    a, b = np.where(bad, 0.0, a), np.where(bad, 0.0, b)
    keep = ~(bad[..., :, None] | bad[..., None, :])
    sa = np.sign(a[..., :, None] - a[..., None, :]) * keep
    sb = np.sign(b[..., :, None] - b[..., None, :]) * keep
    den = np.sqrt((sa * sa).sum(axis=(-2, -1)) * (sb * sb).sum(axis=(-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (sa * sb).sum(axis=(-2, -1)) / den, np.nan)


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho (Pearson on mid-ranks) over the last axis, NaN entries left out."""
    bad = np.isnan(a) | np.isnan(b)
    ra = stats.rankdata(np.where(bad, np.nan, a), axis=-1, nan_policy="omit")
    rb = stats.rankdata(np.where(bad, np.nan, b), axis=-1, nan_policy="omit")
    with np.errstate(invalid="ignore", divide="ignore"):
        ca = ra - np.nanmean(ra, axis=-1, keepdims=True)
        cb = rb - np.nanmean(rb, axis=-1, keepdims=True)
        num = np.nansum(ca * cb, axis=-1)
        den = np.sqrt(np.nansum(ca * ca, axis=-1) * np.nansum(cb * cb, axis=-1))
        return np.where(den > 0, num / den, np.nan)


def _condition_means(codes, n_cond, values, weights=None):
    valid = ~np.isnan(values)
    filled = np.where(valid, values, 0.0)
    if weights is None:
        sums = np.bincount(codes, weights=filled, minlength=n_cond)
        counts = np.bincount(codes, weights=valid.astype(float), minlength=n_cond)
    else:  # weights: (B, n_items) resample multiplicities
        onehot = np.zeros((codes.size, n_cond))
        onehot[np.arange(codes.size), codes] = 1.0
        sums = weights @ (onehot * filled[:, None])
        counts = weights @ (onehot * valid[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan), counts


def _stratified_weights(codes: np.ndarray, n_cond: int, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot, n_items) multiplicities resampling items within each condition."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_boot, codes.size))
    for c in range(n_cond):
        members = np.flatnonzero(codes == c)
        draws = rng.integers(0, members.size, size=(n_boot, members.size))
        for b in range(n_boot):
            out[b, members] = np.bincount(draws[b], minlength=members.size)
    return out


def rank_agreement(
    conditions: Sequence,
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> RankAgreement:
    """Kendall's tau-b and Spearman's rho between the per-condition mean scores of side a and side b.

    One row per item: its condition (persona), side a's score (e.g. the clinicians' mean) and side
    b's (e.g. the judge's); NaN = no score. The CI resamples items within each condition and re-ranks.
    """
    check_confidence(confidence)
    conditions = list(conditions)
    a = np.asarray(scores_a, dtype=float).reshape(-1)
    b = np.asarray(scores_b, dtype=float).reshape(-1)
    if not (len(conditions) == a.size == b.size):
        raise ValueError("conditions, scores_a and scores_b must have the same length")
    levels, codes = _codes(conditions) if conditions else ([], np.zeros(0, int))
    n_cond = len(levels)
    mean_a, count_a = _condition_means(codes, n_cond, a)
    mean_b, count_b = _condition_means(codes, n_cond, b)
    both = ~np.isnan(mean_a) & ~np.isnan(mean_b)
    used_items = np.isin(codes, np.flatnonzero(both)) & (~np.isnan(a) | ~np.isnan(b))
    sizes = {"n_items": int(used_items.sum()), "n_ratings": int((~np.isnan(a[used_items])).sum()
                                                              + (~np.isnan(b[used_items])).sum()),
             "n_items_total": a.size, "n_ratings_total": int((~np.isnan(a)).sum() + (~np.isnan(b)).sum())}
    weights = None
    if n_boot > 0 and both.sum() >= 2:
        weights = _stratified_weights(codes, n_cond, n_boot, seed)
        boot_a, _ = _condition_means(codes, n_cond, a, weights)
        boot_b, _ = _condition_means(codes, n_cond, b, weights)
        boot_a[:, ~both] = np.nan
        boot_b[:, ~both] = np.nan

    def coefficient(name, fn, scipy_fn):
        extra = {"n_conditions": int(both.sum())}
        if both.sum() < 2:
            return Coefficient(name=name, value=None, status=STATUS_INSUFFICIENT, **sizes,
                               extra={**extra, "reason": REASON_TOO_FEW_CONDITIONS if a.size else REASON_EMPTY})
        x, y = mean_a[both], mean_b[both]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            return Coefficient(name=name, value=None, status=STATUS_NO_VARIATION, **sizes,
                               extra={**extra, "constant_side": "a" if np.ptp(x) == 0 else "b"})
        value = float(fn(x, y))
        result = scipy_fn(x, y)
        extra["p_value"] = finite_or_none(result.pvalue)
        low = high = ci_method = None
        if weights is not None:
            low, high, extra["n_boot_undefined"] = _bootstrap.percentile_interval(fn(boot_a, boot_b), confidence)
            ci_method = _bootstrap.CI_BOOTSTRAP
        return Coefficient(name=name, value=value, status=STATUS_OK, **sizes, ci_low=low, ci_high=high,
                           ci_method=ci_method, ci_level=confidence if ci_method else None,
                           n_boot=n_boot if ci_method else 0, seed=seed if ci_method else None, extra=extra)

    return RankAgreement(
        conditions=tuple(levels),
        mean_a=tuple(finite_or_none(v) for v in mean_a),
        mean_b=tuple(finite_or_none(v) for v in mean_b),
        n_a=tuple(int(c) for c in count_a),
        n_b=tuple(int(c) for c in count_b),
        kendall_tau_b=coefficient("kendall_tau_b", _tau_b, stats.kendalltau),
        spearman=coefficient("spearman_rho", _spearman, stats.spearmanr),
    )


def _identifiable(wins: np.ndarray) -> bool:
    n_comp, _ = connected_components(wins > 0, directed=True, connection="strong")
    return n_comp == 1


def _fit(wins: np.ndarray, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray:
    """Bradley-Terry MLE by Newton's method with step halving; theta[0] fixed at 0 then centred."""
    n_players = wins.shape[0]
    games = wins + wins.T
    theta = np.zeros(n_players)

    def loglik(t):
        diff = t[:, None] - t[None, :]
        return float((wins * -np.logaddexp(0.0, -diff)).sum())

    current = loglik(theta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
        grad = (wins - games * p).sum(axis=1)
        info = games * p * (1 - p)
        hess = np.diag(info.sum(axis=1)) - info  # minus the Hessian: a graph Laplacian
        step = np.zeros(n_players)
        step[1:] = np.linalg.solve(hess[1:, 1:], grad[1:])
        scale = 1.0
        while True:
            candidate = theta + scale * step
            value = loglik(candidate)
            if value >= current - 1e-12 or scale < 1e-8:
                break
            scale /= 2
        theta, current = candidate, value
        if np.max(np.abs(scale * step)) < tol:
            break
    return theta - theta.mean()


def bradley_terry(
    player_a: Sequence,
    player_b: Sequence,
    score_a: Sequence[float] | np.ndarray,
    *,
    ties: str = "half",
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> BradleyTerry:
    """Bradley-Terry MLE from pairwise comparisons; ``score_a`` is 1 (a won), 0 (b won) or 0.5 (tie).

    ``ties="half"`` counts a tie as half a win for each side (Chatbot Arena), ``"drop"`` ignores ties.
    CIs resample comparisons. Ratings are 400/ln(10)*theta + 1000 with mean theta 0. Rows with a
    missing (NaN) score are ignored.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}")
    check_confidence(confidence)
    pa, pb = list(player_a), list(player_b)
    s = np.asarray(score_a, dtype=float).reshape(-1)
    if not (len(pa) == len(pb) == s.size):
        raise ValueError("player_a, player_b and score_a must have the same length")
    valid = ~np.isnan(s)
    if np.any(~np.isin(s[valid], (0.0, 0.5, 1.0))):
        raise ValueError("score_a must be 1 (a won), 0 (b won), 0.5 (tie) or NaN")
    if any(x == y for x, y, v in zip(pa, pb, valid, strict=True) if v):
        raise ValueError("a comparison needs two different players")
    n_ties = int((s[valid] == 0.5).sum())
    keep = valid & ((s != 0.5) if ties == "drop" else True)
    levels, codes = _codes(pa + pb) if pa else ([], np.zeros(0, int))
    ia, ib = codes[: len(pa)][keep], codes[len(pa) :][keep]
    s = s[keep]
    common = {"n_comparisons": int(keep.sum()), "n_ties": n_ties, "ties": ties, "ci_level": None, "n_boot": 0,
              "seed": None}
    if len(levels) < 2 or s.size == 0:
        return BradleyTerry(status=STATUS_INSUFFICIENT, ratings=(), **common, extra={"reason": REASON_EMPTY})
    n_players = len(levels)
    # distinct comparison types (a, b, score) and how often each occurred
    kinds, counts = np.unique(np.column_stack([ia, ib, s * 2]), axis=0, return_counts=True)
    ka, kb, ks = kinds[:, 0].astype(int), kinds[:, 1].astype(int), kinds[:, 2] / 2

    wins = np.zeros((n_players, n_players))
    np.add.at(wins, (ka, kb), counts * ks)
    np.add.at(wins, (kb, ka), counts * (1 - ks))
    games = (wins + wins.T).sum(axis=1)
    if not _identifiable(wins):
        return BradleyTerry(status=STATUS_NOT_IDENTIFIABLE, ratings=(), **common,
                            extra={"reason": "a player never wins or never loses against the rest"})
    theta = _fit(wins)
    low = np.full(n_players, np.nan)
    high = np.full(n_players, np.nan)
    extra: dict = {"scale": "400/ln(10)*theta + 1000, mean theta 0"}
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(int(counts.sum()), counts / counts.sum(), size=n_boot)
        reps = np.full((n_boot, n_players), np.nan)
        for r in range(n_boot):
            w = np.zeros((n_players, n_players))
            np.add.at(w, (ka, kb), draws[r] * ks)
            np.add.at(w, (kb, ka), draws[r] * (1 - ks))
            if _identifiable(w):
                reps[r] = _fit(w)
        elo_reps = ELO_SCALE * reps + ELO_BASE
        for i in range(n_players):
            low[i], high[i], n_undefined = _bootstrap.percentile_interval(elo_reps[:, i], confidence)
        extra["n_boot_undefined"] = n_undefined
        common.update(ci_level=confidence, n_boot=n_boot, seed=seed)
    ratings = tuple(
        PlayerRating(name=levels[i], theta=float(theta[i]), elo=float(ELO_SCALE * theta[i] + ELO_BASE),
                     elo_ci_low=finite_or_none(low[i]), elo_ci_high=finite_or_none(high[i]),
                     n_comparisons=int(games[i]))
        for i in range(n_players)
    )
    return BradleyTerry(status=STATUS_OK, ratings=ratings, **common, extra=extra)
