"""Rank-biased overlap (Webber, Moffat & Zobel 2010): top-weighted similarity of two rankings.

Two rankings S and T (best first) are compared by their overlap at every depth d: X_d is the number of
items in both top-d prefixes and A_d = X_d / d their agreement. RBO weights the agreements
geometrically, RBO = (1 - p) sum_{d >= 1} p^(d - 1) A_d, so the persistence p sets how deep the
comparison looks: the top d ranks carry the weight W(d) = 1 - p^(d-1) + (1 - p) / p * d *
(ln(1 / (1 - p)) - sum_{i < d} p^i / i) of the total (eq. 21; p = 0.9 puts 86 % on the top 10).
Unlike Kendall's tau the rankings need not hold the same items, and they may be prefixes of longer
rankings, so RBO itself is only known within bounds. With s = the shorter length, l = the longer,
and X_d for d > s the overlap of the whole short list with the long list's top d:

* ``rbo_min`` (eq. 16 of the paper's reasoning): the value if no item below the seen prefixes ever
  matches, (1 - p) / p * (sum_{d <= l} (X_d - X_l) p^d / d - X_l ln(1 - p)).
* ``rbo_max`` = ``rbo_min`` + ``rbo_res``: the value if every unseen item matches as early as it can
  (the short list's next items match the long list's unmatched seen items, then both lists' unseen
  items match pairwise until the agreement is 1, at depth f = l + s - X_l).
* ``value`` = RBO_ext (eq. 32): the point estimate that extrapolates the agreement seen so far: the
  short list's unseen items are assumed to agree at the rate X_s / s, and agreement beyond depth l
  stays at its level at depth l. For two lists of equal length k it is
  (1 - p) / p * sum_{d <= k} X_d p^d / d + A_k p^k.

Always rbo_min <= value <= rbo_max, all in [0, 1]; identical rankings of any length give value 1 and
disjoint ones 0 (with rbo_max > 0 for finite prefixes: unseen items could still match).

Input: two sequences of distinct hashable items, best first (e.g. personas ordered by mean score).
Ties are not modelled (the paper's section 4.3 extension is not implemented): order tied items
explicitly before calling. A duplicate item raises ``ValueError``; an empty ranking gives
``insufficient_data``/``empty``.

Reference: Webber, W., Moffat, A. & Zobel, J. (2010). A similarity measure for indefinite rankings.
*ACM Transactions on Information Systems* 28(4), article 20.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from .results import REASON_EMPTY, STATUS_INSUFFICIENT, STATUS_OK, RankBiasedOverlap


def _check_p(p: float) -> None:
    if not 0 < p < 1:
        raise ValueError("p must lie strictly between 0 and 1")


def _distinct(ranking: Sequence[Hashable], name: str) -> list:
    items = list(ranking)
    if len(set(items)) != len(items):
        raise ValueError(f"{name} holds an item twice; RBO compares rankings of distinct items (break ties first)")
    return items


def overlap_by_depth(short: list, long: list) -> np.ndarray:
    """X_d for d = 1..len(long): items of ``short`` (whole, past its end) in the top d of ``long``."""
    rank_short = {item: i for i, item in enumerate(short)}
    entered = np.zeros(len(long) + 1, dtype=np.int64)
    for j, item in enumerate(long):
        i = rank_short.get(item)
        if i is not None:
            entered[max(i, j) + 1] += 1
    return np.cumsum(entered)[1:]


def _bounds(x: np.ndarray, s: int, p: float) -> tuple[float, float, float]:
    """(rbo_min, rbo_max, rbo_ext) from the overlaps X_1..X_l and the short length s."""
    l = x.size  # noqa: E741 (the paper's name)
    d = np.arange(1, l + 1, dtype=float)
    pd = p**d
    x_s, x_l = float(x[s - 1]), float(x[-1])
    scale = (1 - p) / p
    rbo_min = scale * (((x - x_l) * pd / d).sum() - x_l * math.log(1 - p))
    tail = d > s
    ext = scale * ((x * pd / d).sum() + (x_s * (d[tail] - s) / (s * d[tail]) * pd[tail]).sum())
    ext += ((x_l - x_s) / l + x_s / s) * p**l
    # best case: the short list's unseen items match at once, then both lists' unseen items pairwise
    x_max = x + np.clip(d - s, 0, None)
    f = l + s - int(x_l)
    beyond = np.arange(l + 1, f + 1, dtype=float)
    x_beyond = np.minimum(beyond, x_max[-1] + 2 * (beyond - l))
    rbo_max = scale * ((x_max * pd / d).sum() + (x_beyond * p**beyond / beyond).sum()) + p**f
    return float(rbo_min), float(rbo_max), float(ext)


def rank_biased_overlap(ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable], *,
                        p: float = 0.9) -> RankBiasedOverlap:
    """Rank-biased overlap of two rankings (best first), extrapolated, with its min/max bounds.

    Parameters
    ----------
    ranking_a, ranking_b : sequence of hashable
        Distinct items ordered best first; they may differ in length and in the items they hold.
    p : float, default 0.9
        Persistence, 0 < p < 1: the top d ranks carry weight ``rbo_top_weight(p, d)`` (86 % on the
        top 10 at p = 0.9; 86 % on the top 50 at p = 0.98).

    Returns
    -------
    RankBiasedOverlap
        ``value`` (RBO_ext), ``rbo_min``, ``rbo_res`` and ``rbo_max`` = min + res; ``overlap`` = items
        in both rankings.

    References
    ----------
    Webber, Moffat & Zobel (2010), *ACM TOIS* 28(4):20, eqs. 11-16 (bounds) and 32 (RBO_ext).

    Examples
    --------
    >>> rank_biased_overlap("abcde", "abcde").value
    1.0
    """
    _check_p(p)
    a, b = _distinct(ranking_a, "ranking_a"), _distinct(ranking_b, "ranking_b")
    common = len(set(a) & set(b))
    if not a or not b:
        return RankBiasedOverlap(status=STATUS_INSUFFICIENT, value=None, rbo_min=None, rbo_max=None, rbo_res=None,
                                 p=p, len_a=len(a), len_b=len(b), overlap=common, extra={"reason": REASON_EMPTY})
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    x = overlap_by_depth(short, long)
    rbo_min, rbo_max, ext = _bounds(x, len(short), p)
    rbo_min, rbo_max = max(0.0, rbo_min), min(1.0, rbo_max)
    ext = min(max(ext, rbo_min), rbo_max)  # rounding only
    return RankBiasedOverlap(status=STATUS_OK, value=ext, rbo_min=rbo_min, rbo_max=rbo_max, rbo_res=rbo_max - rbo_min,
                             p=p, len_a=len(a), len_b=len(b), overlap=common,
                             extra={"top_weight_of_evaluated_depth": rbo_top_weight(p, len(short))})


def rbo_top_weight(p: float, depth: int) -> float:
    """Share of RBO's weight on the top ``depth`` ranks at persistence ``p`` (Webber et al. 2010, eq. 21)."""
    _check_p(p)
    if depth < 1:
        return 0.0
    head = sum(p**i / i for i in range(1, depth))
    return float(1 - p ** (depth - 1) + (1 - p) / p * depth * (math.log(1 / (1 - p)) - head))
