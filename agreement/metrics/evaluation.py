"""Metric-based evaluation of discrete answers against a reference (e.g. parsed triage levels).

Answers and references are category indices of one ordered scale (NaN = no parsable answer; such
rows are left out and the count shows in ``n_items`` vs ``n_items_total``).

* ``accuracy``: share of answers within ``tolerance`` levels of the reference (0 = exact, 1 = within
  one level). CI: Wilson score interval (Wilson 1927), which stays inside [0, 1] for small n.
* ``calibration``: stated confidence in [0, 1] against correctness (0/1). Ten equal-width bins
  [0, .1), [.1, .2), ..., [.9, 1.0] (the last bin closed); expected calibration error
  ECE = sum_b (n_b / n) |accuracy_b - mean confidence_b| (Naeini et al. 2015; Guo et al. 2017), the
  bins are the reliability diagram. Brier score = mean (confidence - correct)^2 with its standard
  error sd / sqrt(n).
* ``consistency_rate``: for each prompt with two or more sampled answers, the share of samples
  that give the prompt's modal answer; averaged over prompts (each prompt weighs the same).
* ``triage_rates``: under-triage = answer less urgent than the reference, over-triage = more
  urgent; the caller states whether a higher index is more urgent. Wilson CIs.
* ``proportion``: the share of True in a boolean vector, Wilson CI and, against a stated null
  share, the exact two-sided binomial test (scipy ``binomtest``: the summed probability of every
  count no more likely than the observed one, as R ``binom.test``).

Edge cases: no usable row gives ``insufficient_data``/``empty`` (consistency: no prompt with two
answers gives ``no_pairable_item``); empty calibration bins have n = 0 and None for their means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import stats

from ._core import check_confidence, insufficient, normal_quantile
from .results import (
    REASON_EMPTY,
    REASON_NO_PAIRABLE,
    STATUS_OK,
    Calibration,
    CalibrationBin,
    Coefficient,
    TriageRates,
)


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    z = normal_quantile(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _proportion(name: str, hits: np.ndarray, *, n_total: int, confidence: float, extra: dict) -> Coefficient:
    n = int(hits.size)
    if n == 0:
        return insufficient(name, REASON_EMPTY, n_items_total=n_total, n_ratings_total=n_total)
    k = int(hits.sum())
    low, high = wilson_interval(k, n, confidence)
    return Coefficient(name=name, value=k / n, status=STATUS_OK, n_items=n, n_ratings=n, n_items_total=n_total,
                       n_ratings_total=n_total, se=float(np.sqrt(k / n * (1 - k / n) / n)), ci_low=low,
                       ci_high=high, ci_method="wilson", ci_level=confidence, extra={**extra, "successes": k})


def proportion(hits, *, name: str = "proportion", n_total: int | None = None, confidence: float = 0.95,
               null: float | None = None) -> Coefficient:
    """The share of True in `hits` with its Wilson interval; with `null`, the exact two-sided binomial test of
    that share against it (``extra``: ``successes``, ``null``, ``p_value``). Empty: ``insufficient_data``."""
    check_confidence(confidence)
    hits = np.asarray(hits, dtype=bool).reshape(-1)
    n_total = hits.size if n_total is None else n_total
    result = _proportion(name, hits, n_total=n_total, confidence=confidence, extra={})
    if null is None or not result.ok:
        return result
    p_value = float(stats.binomtest(result.extra["successes"], hits.size, null).pvalue)
    return replace(result, extra={**result.extra, "null": null, "p_value": p_value})


def _paired(predicted, reference) -> tuple[np.ndarray, np.ndarray, int]:
    p = np.asarray(predicted, dtype=float).reshape(-1)
    r = np.asarray(reference, dtype=float).reshape(-1)
    if p.shape != r.shape:
        raise ValueError("predicted and reference must have the same length")
    both = ~np.isnan(p) & ~np.isnan(r)
    return p[both], r[both], p.size


def accuracy(
    predicted: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    tolerance: int = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Share of answers within ``tolerance`` levels of the reference (0 = exact, 1 = within one level)."""
    check_confidence(confidence)
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    p, r, n_total = _paired(predicted, reference)
    name = "accuracy" if tolerance == 0 else f"accuracy_within_{tolerance}"
    return _proportion(name, np.abs(p - r) <= tolerance, n_total=n_total, confidence=confidence,
                       extra={"tolerance": tolerance})


def calibration(
    confidence_scores: Sequence[float] | np.ndarray,
    correct: Sequence[float] | np.ndarray,
    *,
    n_bins: int = 10,
) -> Calibration:
    """Expected calibration error (equal-width bins on [0, 1]), Brier score, reliability-diagram bins."""
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    conf, hit, n_total = _paired(confidence_scores, correct)
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError("stated confidence must lie in [0, 1]")
    if np.any((hit != 0) & (hit != 1)):
        raise ValueError("correct must be 0, 1 or NaN")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    bins = []
    ece = 0.0
    for b in range(n_bins):
        sel = which == b
        n_b = int(sel.sum())
        mean_conf = float(conf[sel].mean()) if n_b else None
        acc = float(hit[sel].mean()) if n_b else None
        if n_b:
            ece += n_b / conf.size * abs(acc - mean_conf)
        bins.append(CalibrationBin(lower=float(edges[b]), upper=float(edges[b + 1]), n=n_b,
                                   mean_confidence=mean_conf, accuracy=acc))
    n = int(conf.size)
    sizes = {"n_items": n, "n_ratings": n, "n_items_total": n_total, "n_ratings_total": n_total}
    if n == 0:
        empty = {"n_items_total": n_total, "n_ratings_total": n_total}
        return Calibration(ece=insufficient("expected_calibration_error", REASON_EMPTY, **empty),
                           brier=insufficient("brier_score", REASON_EMPTY, **empty), bins=tuple(bins))
    sq = (conf - hit) ** 2
    brier_se = float(np.std(sq, ddof=1) / np.sqrt(n)) if n > 1 else None
    return Calibration(
        ece=Coefficient(name="expected_calibration_error", value=float(ece), status=STATUS_OK, **sizes,
                        extra={"n_bins": n_bins, "binning": "equal width, [lower, upper), last bin closed"}),
        brier=Coefficient(name="brier_score", value=float(sq.mean()), status=STATUS_OK, **sizes, se=brier_se,
                          extra={"se_method": "sd/sqrt(n)"} if brier_se is not None else {}),
        bins=tuple(bins),
    )


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # NaN is the one float unequal to itself


def _numeric(values) -> bool:
    return isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iuf"


def _first_seen_codes(values, kept: np.ndarray) -> np.ndarray:
    """An integer per kept value, equal values sharing one, numbered in order of first appearance: through one
    sort for NaN-free numbers, through a dict (keys equal as ==, each NaN its own) for any other values."""
    if _numeric(values):
        chosen = values[kept]
        if chosen.dtype.kind != "f" or not np.isnan(chosen).any():
            _, first, inverse = np.unique(chosen, return_index=True, return_inverse=True)
            rank = np.empty(first.size, dtype=np.intp)
            rank[np.argsort(first)] = np.arange(first.size)
            return rank[inverse.reshape(-1)]
        chosen = chosen.tolist()
    else:
        chosen = [values[i] for i in kept]
    index: dict = {}
    return np.fromiter((index.setdefault(v, len(index)) for v in chosen), dtype=np.intp, count=len(chosen))


def consistency_rate(prompt_ids: Sequence, answers: Sequence) -> Coefficient:
    """Mean over prompts of the share of samples that give the prompt's modal answer.

    Prompts with fewer than two (non-missing) answers are left out; ``extra["n_prompts"]`` counts the
    prompts used. ``answers`` may be any hashable values; None/NaN = missing. Prompts are averaged in
    the order of their first answer.
    """
    ids, answers = (v if _numeric(v) else v.tolist() if isinstance(v, np.ndarray) else list(v)
                    for v in (prompt_ids, answers))
    if len(ids) != len(answers):
        raise ValueError("prompt_ids and answers must have the same length")
    if _numeric(answers):
        kept = np.flatnonzero(~np.isnan(answers)) if answers.dtype.kind == "f" else np.arange(answers.size)
    else:
        kept = np.flatnonzero([not _missing(ans) for ans in answers])
    n_answers = int(kept.size)
    totals = {"n_items_total": len(ids), "n_ratings_total": n_answers}
    if n_answers == 0:
        return insufficient("consistency_rate", REASON_EMPTY, **totals)
    prompt = _first_seen_codes(ids, kept)
    answer = _first_seen_codes(answers, kept)
    sizes = np.bincount(prompt)
    # The modal answer's count per prompt: the largest count of one (prompt, answer) combination.
    combination, counts = np.unique(prompt * (answer.max() + 1) + answer, return_counts=True)
    modal = np.zeros(sizes.size, dtype=np.intp)
    np.maximum.at(modal, combination // (answer.max() + 1), counts)
    several = sizes >= 2
    if not several.any():
        return insufficient("consistency_rate", REASON_NO_PAIRABLE, **totals)
    shares = modal[several] / sizes[several]
    used = int(sizes[several].sum())
    se = float(np.std(shares, ddof=1) / np.sqrt(shares.size)) if shares.size > 1 else None
    extra = {"n_prompts": int(shares.size), "se_method": "sd/sqrt(prompts)" if se is not None else None}
    return Coefficient(name="consistency_rate", value=float(np.mean(shares)), status=STATUS_OK, n_items=used,
                       n_ratings=used, **totals, se=se, extra=extra)


def triage_rates(
    predicted: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    higher_is_more_urgent: bool,
    confidence: float = 0.95,
) -> TriageRates:
    """Under-triage (less urgent than the reference), over-triage and exact shares."""
    check_confidence(confidence)
    p, r, n_total = _paired(predicted, reference)
    more_urgent = p > r if higher_is_more_urgent else p < r
    less_urgent = p < r if higher_is_more_urgent else p > r
    extra = {"higher_is_more_urgent": higher_is_more_urgent}
    return TriageRates(
        under_triage=_proportion("under_triage_rate", less_urgent, n_total=n_total, confidence=confidence,
                                 extra=extra),
        over_triage=_proportion("over_triage_rate", more_urgent, n_total=n_total, confidence=confidence,
                                extra=extra),
        exact=_proportion("exact_triage_rate", p == r, n_total=n_total, confidence=confidence, extra=extra),
    )
