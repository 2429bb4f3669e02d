"""Benchmark: coverage of every interval ``agreement.metrics`` reports, by simulation with a known truth.

Each scenario simulates data whose true coefficient is known in closed form, computes the interval
many times with fresh data (seeded), and counts how often the interval contains the truth. An
interval at level 1 - a is doing its job when that share is close to 1 - a.

The band. With R intervals the observed share has Monte-Carlo standard error
mcse = sqrt(nominal (1 - nominal) / R). A scenario is "within" its band when the share lies in
nominal +/- max(0.02, 3 mcse): two points for a large R (93-97 % at 95 %), wider when R is small (the
fast seeded copies of these simulations in the test suite use R of 150-250, a band of about 95 +/- 4.5).
"below" means the interval is too narrow (anti-conservative), "above" that it is conservative.

Truths. Raters follow a "copy or guess" model: an item has a true category t ~ m; rater r reports t
with probability s_r and otherwise an independent draw from m. The joint table of raters r and q is
then s_r s_q diag(m) + (1 - s_r s_q) m m', so every pairwise kappa (unweighted or weighted) is
s_r s_q, and with common margins m the population Fleiss kappa and Krippendorff's alpha (any level) are
the mean of s_r s_q over rater pairs; Gwet's AC1/AC2, Brennan-Prediger and percent agreement follow
from the same p_a and their own chance agreement. Weighted Cohen/test-retest scenarios draw 2-rater
tables from an explicit joint distribution P with neighbour confusions, whose weighted and unweighted
kappas differ; the truth is the kappa of P. Proportions, Brier score, consistency, regression slope,
rank correlations of condition means, Bradley-Terry strengths and ICCs have their truths written next
to their scenario. Conger's kappa lets each rater guess from its own margins (its truth is then not
Fleiss'); the leave-one-out judge truths enumerate the other clinicians' rating patterns; the two-way
bootstrap draws the raters' reliabilities from a population, whose mean pairwise kappa is the truth.
Case-clustered intervals (persona effects, matched rankings, ECE) simulate case effects shared by a
case's answers. The persona-effect models fit a small crossed design (cases x 3 personas, 2 of 6
clinicians per response): scores from the linear mixed model itself, levels from a Gaussian copula
under which the proportional-odds model holds marginally, binary outcomes from the crossed logistic
GLMM (conditional truth for the Bayesian fit, population-averaged by quadrature for GEE). These fits
take 0.1-0.5 s each, so their scenarios use 300-400 data sets. ``metrics.calibration``'s ECE has no
interval; its bias on perfectly calibrated data is reported instead (the report's case-clustered,
bias-shifted ECE interval has scenarios).

Baseline, in the same run: the plain Wald interval p +/- z sqrt(p (1 - p) / n) beside the Wilson
interval on the same simulated proportions, which shows why the proportions use Wilson.

    .venv/bin/python benchmarks/interval_coverage.py            # full table, results/interval_coverage.json
    .venv/bin/python benchmarks/interval_coverage.py --quick    # a few replicates, nothing written
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import scipy
from scipy import stats
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agreement.metrics import (  # noqa: E402
    accuracy,
    bradley_terry,
    brennan_prediger,
    calibration,
    cohen_kappa,
    conger_kappa,
    consistency_rate,
    fleiss_kappa,
    gwet_ac,
    intra_rater_agreement,
    judge_agreement,
    judge_vs_leave_one_out,
    krippendorff_alpha,
    n_weighted_kappa_average,
    order_effect,
    pairwise_cohen_kappa,
    percent_agreement,
    rank_agreement,
    triage_rates,
)
from agreement.metrics.clustered import (  # noqa: E402
    ece_clustered,
    ece_difference,
    matched_rank_agreement,
    paired_difference,
)
from agreement.metrics.kappa_bootstrap import two_way_bootstrap_average  # noqa: E402
from agreement.metrics.mixed import mixed_model  # noqa: E402
from agreement.metrics.ranking import ELO_BASE, ELO_SCALE  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "interval_coverage.json"
NOMINAL = 0.95

Interval = tuple[float | None, float | None, float]  # (low, high, truth)


# --- truths ------------------------------------------------------------------------------------------

def agreement_weights(k: int, weights: str | None) -> np.ndarray:
    i = np.arange(k)
    if weights is None:
        return np.eye(k)
    dist = np.abs(i[:, None] - i[None, :]) / (k - 1)
    return 1 - (dist if weights == "linear" else dist**2)


def table_kappa(p: np.ndarray, weights: str | None) -> float:
    """Weighted kappa of a joint distribution (or count table) of two raters."""
    p = p / p.sum()
    w = agreement_weights(p.shape[0], weights)
    po = (w * p).sum()
    pe = (w * np.outer(p.sum(axis=1), p.sum(axis=0))).sum()
    return float((po - pe) / (1 - pe))


def pooled_truth(method: str, weights: str | None, m: np.ndarray, s: np.ndarray) -> float:
    """Population value of a pooled coefficient under the copy-or-guess model (margins m, reliabilities s)."""
    k = m.size
    w = agreement_weights(k, weights)
    chance_w = float(m @ w @ m)
    pair = np.array([s[r] * s[q] for r, q in combinations(range(s.size), 2)])
    pa = float(np.mean(pair + (1 - pair) * chance_w))
    if method == "percent":
        return pa
    if method == "fleiss":
        pe = chance_w
    elif method == "gwet":
        pe = w.sum() / (k * (k - 1)) * float((m * (1 - m)).sum())
    else:  # Brennan-Prediger
        pe = w.sum() / k**2
    return (pa - pe) / (1 - pe)


def ordinal_joint(k: int = 4) -> np.ndarray:
    """A symmetric 2-rater joint distribution with neighbour confusions (weighted and unweighted kappa differ)."""
    i = np.arange(k)
    raw = 0.5 * np.eye(k) + 0.25 * (np.abs(i[:, None] - i[None, :]) == 1) + 0.04
    raw *= np.outer([1.0, 1.5, 1.5, 1.0][:k], [1.0, 1.5, 1.5, 1.0][:k])
    return raw / raw.sum()


# --- data ---------------------------------------------------------------------------------------------

def copy_or_guess(rng, n_items: int, m: np.ndarray, s: np.ndarray, missing: float = 0.0) -> np.ndarray:
    k = m.size
    truth = rng.choice(k, size=n_items, p=m)
    guess = rng.choice(k, size=(n_items, s.size), p=m)
    ratings = np.where(rng.random((n_items, s.size)) < s, truth[:, None], guess).astype(float)
    if missing:
        ratings[rng.random(ratings.shape) < missing] = np.nan
    return ratings


def pairs_from_joint(rng, n: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = p.shape[0]
    cells = rng.choice(k * k, size=n, p=p.ravel())
    return (cells // k).astype(float), (cells % k).astype(float)


def seed_of(rng) -> int:
    return int(rng.integers(0, 2**31 - 1))


# --- scenarios ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    interval: str  # the ci_method the library reports
    description: str
    simulate: Callable  # (rng, n_boot) -> list[Interval]
    n_boot: int = 0  # bootstrap resamples per interval in the full run (0: no bootstrap)
    replicates: int = 2000  # data sets in the full run
    # "nominal"; "below" where the interval is known to under-cover at this size; "above" where it is
    # conservative (a discrete statistic, or Wilson's oscillating coverage at a small p)
    expect: str = "nominal"


M3 = np.array([0.5, 0.3, 0.2])
S5 = np.array([0.9, 0.8, 0.8, 0.7, 0.6])
BINARY = np.array([[0.42, 0.08], [0.08, 0.42]])  # kappa 0.68
SKEWED = np.array([[0.86, 0.04], [0.04, 0.06]])  # 90 % in one category, kappa 0.5333
ORDINAL = ordinal_joint(4)


def cohen(p: np.ndarray, n: int, weights: str | None, boot: bool) -> Callable:
    truth = table_kappa(p, weights)

    def simulate(rng, n_boot):
        a, b = pairs_from_joint(rng, n, p)
        res = cohen_kappa(a, b, labels=list(range(p.shape[0])), weights=weights, n_boot=n_boot if boot else 0,
                          seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def test_retest(p: np.ndarray, n: int, weights: str) -> Callable:
    truth = table_kappa(p, weights)

    def simulate(rng, n_boot):
        a, b = pairs_from_joint(rng, n, p)
        res = intra_rater_agreement(["r"] * n, a, b, labels=list(range(p.shape[0])), weights=weights,
                                    n_boot=n_boot, seed=seed_of(rng))
        return [(res.pooled.ci_low, res.pooled.ci_high, truth)]

    return simulate


def average_kappa(n: int, weights: str | None, missing: float) -> Callable:
    truth = float(np.mean([S5[r] * S5[q] for r, q in combinations(range(S5.size), 2)]))

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, S5, missing)
        res = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], weights=weights, n_boot=0).average
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def judge_average(n: int) -> Callable:
    s = np.r_[S5[:4], 0.75]  # four clinicians and the judge (last column)
    truth = float(np.mean(s[:4] * s[4]))

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, s, missing=0.2)
        res = judge_agreement(ratings[:, :4], ratings[:, 4], labels=[0, 1, 2], n_boot=0).per_rater_average
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


POOLED = {"percent": percent_agreement, "fleiss": fleiss_kappa, "gwet": gwet_ac, "bp": brennan_prediger}


def pooled(method: str, weights: str | None, n: int, boot: bool, missing: float = 0.1) -> Callable:
    truth = pooled_truth(method, weights, M3, S5)
    fn = POOLED[method]
    options = {"weights": weights} if method in ("gwet", "bp") else {}

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, S5, missing)
        res = fn(ratings, labels=[0, 1, 2], n_boot=n_boot if boot else 0, seed=seed_of(rng), **options)
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def alpha(level: str, n: int) -> Callable:
    truth = pooled_truth("fleiss", None, M3, S5)  # = mean s_r s_q at every level under this model
    labels = [1, 2, 3] if level == "ratio" else [0, 1, 2]  # the ratio metric reads the labels as values > 0

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, S5, missing=0.1)
        res = krippendorff_alpha(ratings, labels=labels, level=level, n_boot=n_boot, seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def proportion(p: float, n: int, method: str) -> Callable:
    def simulate(rng, n_boot):
        hits = rng.random(n) < p
        if method == "wald_baseline":  # not produced by the library: the comparison for Wilson
            est = hits.mean()
            half = stats.norm.ppf(0.975) * math.sqrt(est * (1 - est) / n)
            return [(est - half, est + half, p)]
        res = accuracy(np.where(hits, 1.0, 0.0), np.ones(n))
        return [(res.ci_low, res.ci_high, p)]

    return simulate


def triage(n: int) -> Callable:
    shares = np.array([0.15, 0.7, 0.15])  # under (answer one level lower), exact, over

    def simulate(rng, n_boot):
        reference = rng.integers(1, 4, n).astype(float)
        predicted = reference + rng.choice([-1, 0, 1], size=n, p=shares)
        res = triage_rates(predicted, reference, higher_is_more_urgent=True)
        return [(res.under_triage.ci_low, res.under_triage.ci_high, shares[0]),
                (res.exact.ci_low, res.exact.ci_high, shares[1])]

    return simulate


def from_se(value: float, se: float | None, truth: float) -> Interval:
    if se is None:
        return (None, None, truth)
    z = stats.norm.ppf((1 + NOMINAL) / 2)
    return (value - z * se, value + z * se, truth)


def brier(n: int) -> Callable:
    truth = 1 / 6  # calibrated forecasts c ~ U(0, 1), y ~ Bernoulli(c): E (c - y)^2 = E c (1 - c)

    def simulate(rng, n_boot):
        conf = rng.random(n)
        correct = (rng.random(n) < conf).astype(float)
        res = calibration(conf, correct).brier
        return [from_se(res.value, res.se, truth)]

    return simulate


def modal_share_expectation(probs: np.ndarray, size: int) -> float:
    """E[max count / size] for size draws from probs, by enumerating the multinomial outcomes."""
    total = 0.0
    for counts in _compositions(size, probs.size):
        total += stats.multinomial.pmf(counts, size, probs) * max(counts) / size
    return float(total)


def _compositions(n: int, k: int):
    if k == 1:
        yield (n,)
        return
    for first in range(n + 1):
        for rest in _compositions(n - first, k - 1):
            yield (first, *rest)


def consistency(n_prompts: int) -> Callable:
    probs = np.array([0.6, 0.3, 0.1])
    truth = modal_share_expectation(probs, 5)

    def simulate(rng, n_boot):
        answers = rng.choice(3, size=(n_prompts, 5), p=probs)
        res = consistency_rate(np.repeat(np.arange(n_prompts), 5), answers.ravel().tolist())
        return [from_se(res.value, res.se, truth)]

    return simulate


def slope(n: int) -> Callable:
    truth = -0.02

    def simulate(rng, n_boot):
        positions = rng.integers(1, 41, n)
        scores = 4 + truth * positions + rng.normal(0, 0.5, n)
        res = order_effect(positions, scores).slope
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


TRUE_A = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
TRUE_B = np.array([0.0, 0.25, 0.15, 0.7, 0.6, 1.0])  # two swapped pairs: tau-b 11/15


def rank(per_condition: int, noise: float, which: str) -> Callable:
    truth = float(stats.kendalltau(TRUE_A, TRUE_B).statistic if which == "tau" else
                  stats.spearmanr(TRUE_A, TRUE_B).statistic)
    conditions = np.repeat(np.arange(TRUE_A.size), per_condition)

    def simulate(rng, n_boot):
        a = TRUE_A[conditions] + rng.normal(0, noise, conditions.size)
        b = TRUE_B[conditions] + rng.normal(0, noise, conditions.size)
        res = rank_agreement(conditions, a, b, n_boot=n_boot, seed=seed_of(rng))
        coef = res.kendall_tau_b if which == "tau" else res.spearman
        return [(coef.ci_low, coef.ci_high, truth)]

    return simulate


THETA = np.array([0.0, 0.5, 1.0, -0.3])


def bt(n: int) -> Callable:
    centred = THETA - THETA.mean()
    truth = ELO_SCALE * centred + ELO_BASE

    def simulate(rng, n_boot):
        a = rng.integers(0, THETA.size, n)
        b = (a + rng.integers(1, THETA.size, n)) % THETA.size
        won = rng.random(n) < 1 / (1 + np.exp(-(THETA[a] - THETA[b])))
        res = bradley_terry([f"m{i}" for i in a], [f"m{i}" for i in b], won.astype(float), n_boot=n_boot,
                            seed=seed_of(rng))
        if not res.ratings:
            return [(None, None, t) for t in truth]
        by_name = {r.name: r for r in res.ratings}
        return [(by_name[f"m{i}"].elo_ci_low, by_name[f"m{i}"].elo_ci_high, truth[i]) for i in range(THETA.size)]

    return simulate


def icc(form: str, n: int, k: int) -> Callable | None:
    try:
        from agreement.metrics.icc import intraclass_correlation
    except ImportError:  # pragma: no cover - the ICC module is optional here
        return None
    var_t, var_r, var_e = 1.0, 0.3, 0.7
    truth = {"icc1": var_t / (var_t + var_r + var_e), "icc2": var_t / (var_t + var_r + var_e),
             "icc3": var_t / (var_t + var_e), "icc1k": k * var_t / (k * var_t + var_r + var_e),
             "icc2k": k * var_t / (k * var_t + var_r + var_e),
             "icc3k": k * var_t / (k * var_t + var_e)}[form]

    def simulate(rng, n_boot):
        target = rng.normal(0, 1, (n, 1))
        if form.startswith("icc1"):  # one-way model: a new rater for every item, rater and error variance merged
            scores = target + rng.normal(0, math.sqrt(var_r + var_e), (n, k))
        else:  # two-way model: the same k raters rate every item
            scores = target + rng.normal(0, math.sqrt(var_r), (1, k)) + rng.normal(0, math.sqrt(var_e), (n, k))
        res = getattr(intraclass_correlation(scores), form)
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


# --- Conger, averages over rater populations, the leave-one-out judge --------------------------------

GUESS = np.array([[0.5, 0.3, 0.2], [0.3, 0.4, 0.3], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])


def own_margins(rng, n_items: int, m: np.ndarray, s: np.ndarray, guess: np.ndarray, missing: float) -> np.ndarray:
    """Copy or guess where rater r guesses from its own margins guess[r] (Conger's chance term differs from Fleiss')."""
    truth = rng.choice(m.size, size=n_items, p=m)
    cum = guess.cumsum(axis=1)
    draws = (rng.random((n_items, s.size, 1)) > cum[None, :, :-1]).sum(axis=2)
    ratings = np.where(rng.random((n_items, s.size)) < s, truth[:, None], draws).astype(float)
    ratings[rng.random(ratings.shape) < missing] = np.nan
    return ratings


def conger_truth(m: np.ndarray, s: np.ndarray, guess: np.ndarray, weights: str | None) -> float:
    """Population Conger kappa: mean pairwise p_a over the mean pairwise chance agreement of the raters' margins.

    Raters r and q: P(k, l) = s_r s_q m_k [k = l] + s_r (1 - s_q) m_k g_ql + (1 - s_r) s_q g_rk m_l
    + (1 - s_r)(1 - s_q) g_rk g_ql; rater r's margin is s_r m + (1 - s_r) g_r. Missing ratings at
    random leave both means unchanged (every pair is equally likely to be co-rated).
    """
    w = agreement_weights(m.size, weights)
    margin = s[:, None] * m + (1 - s[:, None]) * guess
    pa, pe = [], []
    for r, q in combinations(range(s.size), 2):
        joint = (s[r] * s[q] * np.diag(m) + s[r] * (1 - s[q]) * np.outer(m, guess[q])
                 + (1 - s[r]) * s[q] * np.outer(guess[r], m) + (1 - s[r]) * (1 - s[q]) * np.outer(guess[r], guess[q]))
        pa.append((w * joint).sum())
        pe.append(margin[r] @ w @ margin[q])
    return float((np.mean(pa) - np.mean(pe)) / (1 - np.mean(pe)))


def conger(weights: str | None, n: int, boot: bool) -> Callable:
    truth = conger_truth(M3, S5, GUESS, weights)

    def simulate(rng, n_boot):
        ratings = own_margins(rng, n, M3, S5, GUESS, missing=0.1)
        res = conger_kappa(ratings, labels=[0, 1, 2], weights=weights, n_boot=n_boot if boot else 0,
                           seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


S_LOW, S_HIGH = 0.5, 0.95  # raters' reliabilities drawn from U(S_LOW, S_HIGH) afresh in every data set


def rater_population(n: int, n_raters: int, two_way: bool) -> Callable:
    """Light's average when the raters are a sample of raters: truth E[s_r s_q] = (E s)^2 over independent raters.

    The two-way (items and raters) bootstrap targets that mean; the jackknife, which holds the drawn
    raters fixed, targets the mean over the drawn raters and is shown beside it on the same data.
    """
    truth = ((S_LOW + S_HIGH) / 2) ** 2

    def simulate(rng, n_boot):
        s = rng.uniform(S_LOW, S_HIGH, n_raters)
        ratings = copy_or_guess(rng, n, M3, s)
        if two_way:
            res = two_way_bootstrap_average(ratings, labels=[0, 1, 2], n_boot=n_boot, seed=seed_of(rng))
        else:
            res = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], n_boot=0).average
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


Q5 = np.array([0.05, 0.1, 0.3, 0.5, 0.6])  # each rater's share of missing ratings


def n_weighted(n: int) -> Callable:
    """n-weighted average kappa: its limit weighs pair (r, q) by the co-rated share (1 - q_r)(1 - q_q)."""
    pairs = list(combinations(range(S5.size), 2))
    w = np.array([(1 - Q5[r]) * (1 - Q5[q]) for r, q in pairs])
    truth = float(w @ np.array([S5[r] * S5[q] for r, q in pairs]) / w.sum())

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, S5)
        ratings[rng.random(ratings.shape) < Q5] = np.nan
        res = n_weighted_kappa_average(ratings, labels=[0, 1, 2])
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def rating_given_truth(s: float, m: np.ndarray) -> np.ndarray:
    """P(rating = x | true category t) under copy or guess, as a (t, x) matrix."""
    return s * np.eye(m.size) + (1 - s) * np.tile(m, (m.size, 1))


def loo_truths(m: np.ndarray, clinicians: np.ndarray, s_judge: float) -> dict:
    """Population kappas of the judge and of each clinician against the majority of the other clinicians.

    Enumerates every rating pattern of the others given the true category; a tied majority has no
    consensus (the default tie rule, ``exclude``), so the tables are conditional on a majority existing.
    """
    k, out = m.size, {"judge": [], "clinician": []}
    judge_p = rating_given_truth(s_judge, m)
    for c in range(clinicians.size):
        others = [rating_given_truth(s, m) for i, s in enumerate(clinicians) if i != c]
        clin_p = rating_given_truth(clinicians[c], m)
        cons = np.zeros((k, k))  # (true category, consensus)
        for pattern in np.ndindex(*(k,) * len(others)):
            counts = np.bincount(pattern, minlength=k)
            if (counts == counts.max()).sum() > 1:
                continue
            cons[:, counts.argmax()] += np.prod([p[:, x] for p, x in zip(others, pattern, strict=True)], axis=0)
        for name, rater in (("judge", judge_p), ("clinician", clin_p)):
            out[name].append(table_kappa((m[:, None] * rater).T @ cons, None))
    judge, clin = np.array(out["judge"]), np.array(out["clinician"])
    return {"judge": float(judge.mean()), "clinician": float(clin.mean()), "difference": float((judge - clin).mean()),
            "per_rater_judge": judge}


def judge_loo(n: int, which: str) -> Callable:
    clinicians, s_judge = S5[:4], 0.75
    truths = loo_truths(M3, clinicians, s_judge)

    def simulate(rng, n_boot):
        ratings = copy_or_guess(rng, n, M3, np.r_[clinicians, s_judge])
        res = judge_vs_leave_one_out(ratings[:, :4], ratings[:, 4], labels=[0, 1, 2])
        if which == "per_rater":
            return [(r.judge_kappa.ci_low, r.judge_kappa.ci_high, t)
                    for r, t in zip(res.per_rater, truths["per_rater_judge"], strict=True)]
        coef = {"judge": res.judge_average, "difference": res.difference}[which]
        return [(coef.ci_low, coef.ci_high, truths[which])]

    return simulate


# --- case-clustered comparisons (persona effects, matched rankings, ECE) -----------------------------

def persona_effect(n_cases: int) -> Callable:
    """Persona minus baseline: per case 2 models x 2 samples of d = 0.3 + u_case + e, u ~ N(0, .4^2), e ~ N(0, 1)."""
    truth = 0.3

    def simulate(rng, n_boot):
        case = np.repeat(np.arange(n_cases), 4)
        d = truth + rng.normal(0, 0.4, n_cases)[case] + rng.normal(0, 1.0, case.size)
        res = paired_difference(d, case, n_boot=n_boot, seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def matched_rank(n_cases: int, noise: float) -> Callable:
    """Clinicians' and judge's persona means on the same responses: every case answered under the six
    conditions, scores TRUE_A / TRUE_B + a case effect N(0, 1) shared by the case's responses + noise."""
    truth = float(stats.kendalltau(TRUE_A, TRUE_B).statistic)
    k = TRUE_A.size

    def simulate(rng, n_boot):
        case = np.repeat(np.arange(n_cases), k)
        cond = np.tile(np.arange(k), n_cases)
        shared = rng.normal(0, 1.0, n_cases)[case]
        a = TRUE_A[cond] + shared + rng.normal(0, noise, case.size)
        b = TRUE_B[cond] + shared + rng.normal(0, noise, case.size)
        res = matched_rank_agreement(cond, case, a, b, n_boot=n_boot, seed=seed_of(rng)).kendall_tau_b
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


def miscalibrated(rng, n_cases: int, per_case: int, gap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence c ~ U(.35, .85); P(correct) = c - gap + a case shift of +/-.1 (never clipped), so every
    equal-width bin is off by exactly `gap` and the population ECE is `gap`."""
    case = np.repeat(np.arange(n_cases), per_case)
    conf = rng.uniform(0.35, 0.85, case.size)
    shift = rng.choice([-0.1, 0.1], n_cases)[case]
    return conf, (rng.random(case.size) < conf - gap + shift).astype(float), case


def ece_shifted(n_cases: int, gap: float) -> Callable:
    def simulate(rng, n_boot):
        conf, hit, case = miscalibrated(rng, n_cases, 3, gap)
        res = ece_clustered(conf, hit, case, n_boot=n_boot, seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, gap)]

    return simulate


def ece_diff(n_cases: int, gap_a: float, gap_b: float) -> Callable:
    """Persona ECE minus baseline ECE on the same cases (each side its own answers): truth gap_a - gap_b."""
    truth = gap_a - gap_b

    def simulate(rng, n_boot):
        side_a = miscalibrated(rng, n_cases, 3, gap_a)
        side_b = miscalibrated(rng, n_cases, 3, gap_b)
        res = ece_difference(side_a, side_b, n_boot=n_boot, seed=seed_of(rng))
        return [(res.ci_low, res.ci_high, truth)]

    return simulate


# --- persona-effect models ----------------------------------------------------------------------------

EFFECTS = {"a": 0.5, "b": -0.3}  # persona effects against the baseline (level "base")
SD = {"case": 0.7, "clinician": 0.5, "response": 0.4}


def ratings_design(rng, n_cases: int) -> dict:
    """n_cases x 3 personas (base, a, b), each response rated by 2 of 6 clinicians: the report's ratings model."""
    personas = np.array(["base", "a", "b"], dtype=object)
    case = np.repeat(np.arange(n_cases), 3)
    item = np.repeat(np.arange(case.size), 2)
    rater = np.concatenate([rng.choice(6, 2, replace=False) for _ in range(case.size)])
    persona = np.tile(personas, n_cases)[item]
    return {"fixed": {"persona": persona}, "random": {"case": case[item], "clinician": rater, "response": item},
            "beta": np.array([EFFECTS.get(p, 0.0) for p in persona]),
            "parts": (case[item], rater, item, (n_cases, 6, case.size))}


def random_part(rng, design: dict) -> np.ndarray:
    case, rater, item, sizes = design["parts"]
    return sum(rng.normal(0, SD[name], size)[codes]
               for name, codes, size in zip(SD, (case, rater, item), sizes, strict=True))


CUTS = np.array([-1.0, 0.5, 2.0])
COPULA = {"case": 0.3, "clinician": 0.15, "response": 0.1}  # shares of the latent normal's variance


def copula_ordinal(rng, design: dict) -> np.ndarray:
    """Levels 0-3 from latent beta + e, e = logit(Phi(z)) with z a crossed normal (case, clinician, response).

    e is exactly standard logistic at every row, so P(y <= j) = expit(c_j - beta): the proportional-odds
    model holds marginally with the persona effects as its coefficients, while rows of one case,
    clinician or response are correlated.
    """
    case, rater, item, sizes = design["parts"]
    z = sum(rng.normal(0, math.sqrt(COPULA[name]), size)[codes]
            for name, codes, size in zip(COPULA, (case, rater, item), sizes, strict=True))
    z = z + rng.normal(0, math.sqrt(1 - sum(COPULA.values())), z.size)
    latent = design["beta"] + stats.logistic.ppf(stats.norm.cdf(z))
    return np.digitize(latent, CUTS).astype(float)


def mean_level(beta: float) -> float:
    """E[level] = sum_j P(y > j) = sum_j expit(beta - c_j) under the copula model."""
    return float(stats.logistic.cdf(beta - CUTS).sum())


def marginal_log_odds(beta: float) -> float:
    """Population-averaged log-odds logit(E expit(beta + U)), U ~ N(0, case + clinician + response variance)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    sd = math.sqrt(sum(v**2 for v in SD.values()))
    p = float(stats.logistic.cdf(beta + sd * nodes) @ (weights / weights.sum()))
    return math.log(p / (1 - p))


def persona_model(n_cases: int, fit: str) -> Callable:
    """One persona-effect model of the report on a small crossed design, truth per persona effect.

    ``lmm_score``: y = 1 + beta + case + clinician + response effects + N(0, .6^2); truth beta.
    ``lmm_ordinal`` / ``ordered``: copula levels; truths the mean level shift (persona is the only fixed
    factor, so E[y | persona] is the LMM's mean model exactly) and beta (proportional-odds coefficient).
    ``vb`` / ``gee``: binary from the logistic GLMM with crossed case, clinician and response effects;
    truths the conditional beta and the population-averaged log-odds difference (persona alone is a
    saturated mean model, so GEE estimates each persona's marginal log-odds).
    """
    truth = {"lmm_score": dict(EFFECTS),
             "lmm_ordinal": {p: mean_level(b) - mean_level(0.0) for p, b in EFFECTS.items()},
             "ordered": dict(EFFECTS), "vb": dict(EFFECTS),
             "gee": {p: marginal_log_odds(b) - marginal_log_odds(0.0) for p, b in EFFECTS.items()}}[fit]
    kind = {"lmm_score": "score", "lmm_ordinal": "ordinal", "ordered": "ordinal", "vb": "binary", "gee": "binary"}[fit]

    def simulate(rng, n_boot):
        d = ratings_design(rng, n_cases)
        if kind == "score":
            y = 1.0 + d["beta"] + random_part(rng, d) + rng.normal(0, 0.6, d["beta"].size)
        elif kind == "ordinal":
            y = copula_ordinal(rng, d)
        else:
            eta = d["beta"] + random_part(rng, d)
            y = (rng.random(eta.size) < stats.logistic.cdf(eta)).astype(float)
        res = mixed_model(y, kind=kind, fixed=d["fixed"], random=d["random"], reference={"persona": "base"},
                          seed=seed_of(rng), check=fit in ("ordered", "gee"))
        res = res.check if fit in ("ordered", "gee") else res
        if res is None or not res.ok:
            return [(None, None, t) for t in truth.values()]
        return [(e.ci_low, e.ci_high, truth[e.level]) for e in res.effects]

    return simulate


def scenarios() -> list[Scenario]:
    out = [
        Scenario("cohen_wald_binary_n100", "wald", "Cohen, 2 categories, kappa .68, n 100",
                 cohen(BINARY, 100, None, False), expect="below"),
        Scenario("cohen_wald_binary_n400", "wald", "Cohen, 2 categories, kappa .68, n 400",
                 cohen(BINARY, 400, None, False)),
        Scenario("cohen_wald_skewed_n30", "wald", "Cohen, 90 % prevalence, kappa .53, n 30",
                 cohen(SKEWED, 30, None, False), expect="below"),
        Scenario("cohen_wald_quadratic_n80", "wald", "Cohen quadratic, 4 ordinal categories, n 80",
                 cohen(ORDINAL, 80, "quadratic", False), expect="below"),
        Scenario("cohen_wald_quadratic_n400", "wald", "Cohen quadratic, 4 ordinal categories, n 400",
                 cohen(ORDINAL, 400, "quadratic", False)),
        Scenario("cohen_bootstrap_quadratic_n80", "bootstrap_percentile",
                 "Cohen quadratic, 4 ordinal categories, n 80, item bootstrap", cohen(ORDINAL, 80, "quadratic", True),
                 n_boot=500, expect="below"),
        Scenario("test_retest_bootstrap_linear_n60", "bootstrap_percentile",
                 "test-retest kappa, linear weights, n 60, item bootstrap", test_retest(ORDINAL, 60, "linear"),
                 n_boot=500),
        Scenario("average_kappa_jackknife_n60", "jackknife_normal",
                 "average pairwise kappa, 5 raters, 20 % missing, n 60", average_kappa(60, None, 0.2)),
        Scenario("average_kappa_quadratic_jackknife_n60", "jackknife_normal",
                 "average pairwise quadratic kappa, 5 raters, 20 % missing, n 60", average_kappa(60, "quadratic", 0.2)),
        Scenario("judge_average_jackknife_n80", "jackknife_normal", "judge vs 4 clinicians, average kappa, n 80",
                 judge_average(80)),
        Scenario("fleiss_t_n40", "t", "Fleiss, 5 raters, 10 % missing, n 40, Gwet SE",
                 pooled("fleiss", None, 40, False)),
        Scenario("fleiss_bootstrap_n40", "bootstrap_percentile", "Fleiss, 5 raters, n 40, item bootstrap",
                 pooled("fleiss", None, 40, True), n_boot=500),
        Scenario("gwet_ac1_t_n40", "t", "Gwet AC1, 5 raters, n 40, Gwet SE", pooled("gwet", None, 40, False)),
        Scenario("gwet_ac2_quadratic_bootstrap_n40", "bootstrap_percentile", "Gwet AC2 quadratic, n 40, item bootstrap",
                 pooled("gwet", "quadratic", 40, True), n_boot=500, expect="below"),
        Scenario("brennan_prediger_t_n40", "t", "Brennan-Prediger, n 40, Gwet SE", pooled("bp", None, 40, False)),
        Scenario("percent_agreement_t_n40", "t", "percent agreement, n 40, SE over items",
                 pooled("percent", None, 40, False)),
        Scenario("alpha_nominal_bootstrap_n40", "bootstrap_percentile", "Krippendorff nominal, n 40, item bootstrap",
                 alpha("nominal", 40), n_boot=500),
        Scenario("alpha_nominal_bootstrap_n200", "bootstrap_percentile", "Krippendorff nominal, n 200, item bootstrap",
                 alpha("nominal", 200), n_boot=500),
        Scenario("alpha_interval_bootstrap_n40", "bootstrap_percentile", "Krippendorff interval, n 40, item bootstrap",
                 alpha("interval", 40), n_boot=500, expect="below"),
        Scenario("accuracy_wilson_p10_n30", "wilson", "accuracy, p .10, n 30", proportion(0.1, 30, "wilson"),
                 expect="above"),
        Scenario("accuracy_wald_baseline_p10_n30", "wald (baseline, not used)", "the textbook Wald interval, same data",
                 proportion(0.1, 30, "wald_baseline"), expect="below"),
        Scenario("accuracy_wilson_p50_n100", "wilson", "accuracy, p .50, n 100", proportion(0.5, 100, "wilson")),
        Scenario("triage_wilson_n60", "wilson", "under-triage (.15) and exact (.70) rates, n 60", triage(60)),
        Scenario("brier_normal_from_se_n100", "normal from se", "Brier score +/- z se, calibrated forecasts, n 100",
                 brier(100)),
        Scenario("consistency_normal_from_se_40_prompts", "normal from se",
                 "consistency rate +/- z se, 40 prompts x 5 samples", consistency(40)),
        Scenario("order_effect_slope_t_n200", "t", "OLS slope of score on position, n 200", slope(200)),
        Scenario("kendall_tau_b_bootstrap_6x40", "bootstrap_percentile",
                 "tau-b of 6 condition means, 40 items each, noise sd .5", rank(40, 0.5, "tau"),
                 n_boot=500, replicates=1000, expect="above"),
        Scenario("kendall_tau_b_bootstrap_6x20_noisy", "bootstrap_percentile",
                 "tau-b of 6 condition means, 20 items each, noise sd 1.5", rank(20, 1.5, "tau"),
                 n_boot=500, replicates=1000, expect="below"),
        Scenario("spearman_bootstrap_6x40", "bootstrap_percentile",
                 "Spearman of 6 condition means, 40 items each, noise sd .5", rank(40, 0.5, "rho"),
                 n_boot=500, replicates=1000, expect="above"),
        Scenario("bradley_terry_bootstrap_n400", "bootstrap_percentile",
                 "Bradley-Terry Elo of 4 players, 400 comparisons", bt(400), n_boot=200, replicates=400),
        # the remaining intervals of the agreement panel
        Scenario("gwet_ac1_bootstrap_n40", "bootstrap_percentile", "Gwet AC1, n 40, item bootstrap",
                 pooled("gwet", None, 40, True), n_boot=500),
        Scenario("brennan_prediger_bootstrap_n40", "bootstrap_percentile", "Brennan-Prediger, n 40, item bootstrap",
                 pooled("bp", None, 40, True), n_boot=500),
        Scenario("percent_agreement_bootstrap_n40", "bootstrap_percentile", "percent agreement, n 40, item bootstrap",
                 pooled("percent", None, 40, True), n_boot=500),
        Scenario("alpha_ordinal_bootstrap_n40", "bootstrap_percentile", "Krippendorff ordinal, n 40, item bootstrap",
                 alpha("ordinal", 40), n_boot=500, replicates=1000, expect="below"),
        Scenario("alpha_ratio_bootstrap_n40", "bootstrap_percentile",
                 "Krippendorff ratio (levels 1-3), n 40, item bootstrap", alpha("ratio", 40), n_boot=500,
                 replicates=1000, expect="below"),
        # coefficients beside the panel
        Scenario("conger_t_n40", "t", "Conger, 5 raters with their own margins, 10 % missing, n 40, Gwet SE",
                 conger(None, 40, False)),
        Scenario("conger_quadratic_t_n40", "t", "Conger quadratic, same design, Gwet SE",
                 conger("quadratic", 40, False), expect="below"),
        Scenario("conger_quadratic_bootstrap_n40", "bootstrap_percentile", "Conger quadratic, n 40, item bootstrap",
                 conger("quadratic", 40, True), n_boot=500),
        Scenario("n_weighted_kappa_jackknife_n60", "jackknife_normal",
                 "n-weighted average kappa, 5 raters missing 5-60 %, n 60", n_weighted(60)),
        Scenario("two_way_bootstrap_6_raters_n60", "two_way_bootstrap_percentile",
                 "Light's average, 6 raters drawn from a population, n 60; truth the population mean",
                 rater_population(60, 6, True), n_boot=500, replicates=1000),
        Scenario("two_way_bootstrap_12_raters_n60", "two_way_bootstrap_percentile",
                 "Light's average, 12 raters drawn from a population, n 60", rater_population(60, 12, True),
                 n_boot=500, replicates=500),
        Scenario("jackknife_vs_rater_population_6_raters_n60", "jackknife_normal (raters fixed)",
                 "the jackknife on the same data, against the population mean", rater_population(60, 6, False),
                 expect="below"),
        # the judge against the leave-one-out consensus of the clinicians
        Scenario("judge_loo_per_rater_wald_n80", "wald",
                 "judge vs majority of the 3 other clinicians, per clinician, n 80", judge_loo(80, "per_rater")),
        Scenario("judge_loo_average_jackknife_n80", "jackknife_normal",
                 "judge vs leave-one-out majority, mean of 4, n 80", judge_loo(80, "judge")),
        Scenario("judge_loo_difference_jackknife_n80", "jackknife_normal",
                 "judge minus clinician kappa vs leave-one-out majority, mean of 4, n 80", judge_loo(80, "difference")),
        # persona effects, rankings and ECE, resampling cases
        Scenario("persona_effect_case_bootstrap_30_cases", "case_cluster_bootstrap_percentile",
                 "persona minus baseline, 30 cases x 4 pairs", persona_effect(30), n_boot=500,
                 expect="below"),
        Scenario("persona_effect_case_bootstrap_10_cases", "case_cluster_bootstrap_percentile",
                 "persona minus baseline, 10 cases x 4 pairs", persona_effect(10), n_boot=500, expect="below"),
        Scenario("matched_tau_b_case_bootstrap_6x40", "case_cluster_bootstrap_percentile",
                 "tau-b of 6 persona means on matched responses, 40 cases, noise sd .5", matched_rank(40, 0.5),
                 n_boot=500, replicates=1000, expect="above"),
        Scenario("matched_tau_b_case_bootstrap_6x15_noisy", "case_cluster_bootstrap_percentile",
                 "same, 15 cases, noise sd 1.5", matched_rank(15, 1.5), n_boot=500, replicates=1000, expect="below"),
        Scenario("ece_shifted_gap10_100_cases", "case_cluster_bootstrap_bias_shifted",
                 "ECE, true .10, 100 cases x 3 answers", ece_shifted(100, 0.10), n_boot=300, replicates=1000,
                 expect="below"),
        Scenario("ece_shifted_gap05_100_cases", "case_cluster_bootstrap_bias_shifted",
                 "ECE, true .05, 100 cases x 3 answers", ece_shifted(100, 0.05), n_boot=300, replicates=1000,
                 expect="below"),
        Scenario("ece_shifted_gap0_100_cases", "case_cluster_bootstrap_bias_shifted",
                 "ECE, true 0 (calibrated), 100 cases x 3 answers", ece_shifted(100, 0.0), n_boot=300,
                 replicates=1000, expect="below"),
        Scenario("ece_difference_case_bootstrap_200_cases", "case_cluster_bootstrap_percentile",
                 "ECE .15 minus ECE .10 on the same 200 cases x 3 answers", ece_diff(200, 0.15, 0.10), n_boot=300,
                 replicates=1000),
        Scenario("ece_difference_case_bootstrap_100_cases", "case_cluster_bootstrap_percentile",
                 "ECE .10 minus ECE .05 on the same 100 cases x 3 answers", ece_diff(100, 0.10, 0.05), n_boot=300,
                 replicates=1000),
        # persona-effect models (slow fits: few data sets)
        Scenario("persona_lmm_score_wald_20_cases", "wald_model_se",
                 "LMM of scores, 20 cases x 3 personas x 2 of 6 clinicians (120 ratings)",
                 persona_model(20, "lmm_score"), replicates=400),
        Scenario("persona_lmm_ordinal_wald_20_cases", "wald_model_se",
                 "LMM of 4 levels (linear approximation), same design", persona_model(20, "lmm_ordinal"),
                 replicates=400),
        Scenario("persona_ordered_logit_cluster_20_cases", "wald_cluster_robust",
                 "proportional-odds check, SE clustered by case, same data", persona_model(20, "ordered"),
                 replicates=300),
        Scenario("persona_vb_laplace_30_cases", "vb_laplace",
                 "logistic GLMM (VB, Laplace SD), 30 cases x 3 personas x 2 of 6 clinicians", persona_model(30, "vb"),
                 replicates=300),
        Scenario("persona_gee_cluster_30_cases", "wald_cluster_robust",
                 "GEE check (population-averaged log-odds), same design", persona_model(30, "gee"), replicates=300),
    ]
    for form in ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"):
        simulate = icc(form, 30, 4)
        if simulate is not None:
            method = "f_satterthwaite" if form.startswith("icc2") else "f"
            out.append(Scenario(f"{form}_n30_k4", method, f"{form}, normal model, 30 items x 4 raters", simulate))
    return out


# --- running ------------------------------------------------------------------------------------------

def band(nominal: float, n_intervals: int) -> tuple[float, float]:
    half = max(0.02, 3 * math.sqrt(nominal * (1 - nominal) / n_intervals))
    return nominal - half, min(1.0, nominal + half)


def coverage(scenario: Scenario, replicates: int, seed: int, n_boot: int | None = None) -> dict:
    """Run ``replicates`` data sets of a scenario; the share of intervals containing the truth and its band."""
    rng = np.random.default_rng(seed)
    n_boot = scenario.n_boot if n_boot is None else n_boot
    hits = total = missing = 0
    widths = []
    for _ in range(replicates):
        for low, high, truth in scenario.simulate(rng, n_boot):
            total += 1
            if low is None or high is None:
                missing += 1
                continue
            hits += low <= truth <= high
            widths.append(high - low)
    observed = hits / total
    lo, hi = band(NOMINAL, total)
    status = "within" if lo <= observed <= hi else ("below" if observed < lo else "above")
    return {"interval": scenario.interval, "description": scenario.description, "nominal": NOMINAL,
            "observed": round(observed, 4), "intervals": total, "replicates": replicates, "n_boot": n_boot,
            "no_interval": missing, "mcse": round(math.sqrt(NOMINAL * (1 - NOMINAL) / total), 4),
            "band": [round(lo, 4), round(hi, 4)], "status": status, "expected": scenario.expect,
            "mean_width": round(float(np.mean(widths)), 4) if widths else None}


def contradicts(row: dict) -> bool:
    """A nominal interval outside its band, a known under-coverer above it, or a conservative one below it."""
    expected, status = row["expected"], row["status"]
    return (expected == "nominal" and status != "within") or (expected == "below" and status == "above") or (
        expected == "above" and status == "below")


def ece_bias(n: int, replicates: int, seed: int) -> dict:
    """Mean plug-in ECE on perfectly calibrated forecasts (true ECE 0), 10 bins."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        conf = rng.random(n)
        values.append(calibration(conf, (rng.random(n) < conf).astype(float)).ece.value)
    return {"n": n, "true_ece": 0.0, "mean_ece": round(float(np.mean(values)), 4), "replicates": replicates}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few replicates, small bootstraps (smoke test)")
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every scenario's replicates")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--output", type=Path, default=None, help=f"JSON output (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    with threadpool_limits(1):
        return run(args)


def run(args: argparse.Namespace) -> dict:
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    chosen = [s for s in scenarios() if not args.only or s.name in args.only]
    table = {}
    t_start = time.perf_counter()
    for scenario in chosen:
        replicates = 20 if args.quick else max(1, int(scenario.replicates * args.scale))
        n_boot = min(scenario.n_boot, 50) if args.quick else scenario.n_boot
        t0 = time.perf_counter()
        row = coverage(scenario, replicates, args.seed + zlib.crc32(scenario.name.encode()), n_boot)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        table[scenario.name] = row
        print(f"{scenario.name:42s} {row['interval']:22s} observed {row['observed']:.3f} "
              f"band [{row['band'][0]:.3f}, {row['band'][1]:.3f}] {row['status']:6s} "
              f"({row['intervals']} intervals, {row['seconds']:.1f} s)")
    ece = [ece_bias(n, 20 if args.quick else 1000, args.seed) for n in (100, 1000)]
    result = {
        "benchmark": "coverage of agreement.metrics intervals on simulated data with a known truth",
        "quick": args.quick,
        "seed": args.seed,
        "band_rule": "nominal +/- max(0.02, 3 * sqrt(nominal * (1 - nominal) / intervals))",
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "seconds": round(time.perf_counter() - t_start, 1),
        "coverage": table,
        "contradicting_expectation": [name for name, row in table.items() if contradicts(row)],
        "ece_has_no_interval": {"bias_on_calibrated_forecasts": ece},
    }
    print("ECE on calibrated forecasts (truth 0): " + ", ".join(f"n {e['n']}: {e['mean_ece']}" for e in ece))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {output}")
    return result


if __name__ == "__main__":
    main()
