"""The judge against the leave-one-clinician-out consensus: whole results against a brute-force reference.

The reference recomputes everything from its definition: for each clinician the consensus of the others
(``consensus_ratings``, pinned in test_metrics_consensus.py), Cohen's kappa of the judge and of the
clinician against it on the same items (``cohen_kappa`` with Wald intervals, pinned against statsmodels
in test_se_reference.py), and every jackknife SE by deleting each item in turn and recomputing the kappas
(scikit-learn) from scratch; intervals are normal, clipped to [-1, 1] for a kappa and [-2, 2] for a
difference.
"""

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import STATUS_INVALID_FOR_SCALE, STATUS_OK, cohen_kappa, judge_vs_leave_one_out
from agreement.metrics._core import insufficient, size_warnings
from agreement.metrics.consensus import check_options, consensus_with_ties
from agreement.metrics.results import Coefficient, LeaveOneOutConsensus, LeaveOneOutRater

from .test_se_reference import correlated_ratings

nan = np.nan
TOL = 1e-9
NAMES = ("judge_vs_loo_consensus_kappa", "clinician_vs_loo_consensus_kappa", "judge_minus_clinician_kappa")


def sk_kappa(a, b, k, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a, b, labels=list(range(k)), weights=weights) if len(a) else nan


def jackknife(reps):
    reps = np.asarray(reps, float)
    if reps.size < 2 or not np.isfinite(reps).all():
        return None
    return float(np.sqrt((reps.size - 1) / reps.size * ((reps - reps.mean()) ** 2).sum()))


def normal(value, se, confidence, bound):
    if se is None:
        return {}
    z = stats.norm.ppf((1 + confidence) / 2)
    return {"ci_low": max(-bound, value - z * se), "ci_high": min(bound, value + z * se),
            "ci_method": "jackknife_normal", "ci_level": confidence}


class Clinician:
    """One clinician's leave-one-out comparison, from the definitions."""

    def __init__(self, ratings, judge, r, k, options):
        self.r, self.k, self.weights = r, k, options["weights"]
        self.judge, self.own = judge, ratings[:, r]
        others = np.delete(ratings, r, axis=1)
        self.centre, tied = consensus_with_ties(others, k, options["consensus"], tie=options["tie"],
                                                seed=options["seed"])
        candidates = ~np.isnan(judge) & ~np.isnan(self.own) & (~np.isnan(others)).any(axis=1)
        self.used = np.flatnonzero(candidates & ~np.isnan(self.centre))
        self.ties = int((candidates & tied).sum())
        suffix = "" if self.weights is None else f"_{self.weights}"
        n_ratings = int((~np.isnan(self.own)).sum() + (~np.isnan(judge)).sum())
        tot = {"n_items_total": len(judge), "n_ratings_total": n_ratings}
        self.kj, self.kc = (self.cohen(who, name + suffix, tot, options["confidence"])
                            for who, name in ((judge, NAMES[0]), (self.own, NAMES[1])))
        self.defined = self.kj.ok and self.kc.ok
        if not self.defined:
            self.diff = replace(self.kj if not self.kj.ok else self.kc, name=NAMES[2])
            return
        n, value = self.used.size, self.kj.value - self.kc.value
        se = jackknife([self.kappas(drop=i)["difference"] for i in self.used])
        self.diff = Coefficient(name=NAMES[2], value=value, status=STATUS_OK, n_items=n, n_ratings=3 * n, **tot,
                                se=se, **normal(value, se, options["confidence"], 2.0), warnings=size_warnings(n),
                                extra={"se_method": "jackknife_items"})

    def cohen(self, who, name, tot, confidence):
        if self.used.size == 0:
            return insufficient(name, "no_overlap", **tot)
        a, b = np.full(len(who), nan), np.full(len(who), nan)
        a[self.used], b[self.used] = who[self.used], self.centre[self.used]
        coef = cohen_kappa(a, b, labels=list(range(self.k)), weights=self.weights, n_boot=0, confidence=confidence)
        return replace(coef, name=name, **tot)

    def kappas(self, drop=None):
        """Both kappas and their difference with item ``drop`` deleted, recomputed by scikit-learn."""
        rest = self.used[self.used != drop]
        kj = sk_kappa(self.judge[rest], self.centre[rest], self.k, self.weights)
        kc = sk_kappa(self.own[rest], self.centre[rest], self.k, self.weights)
        return {"judge": kj, "clinician": kc, "difference": kj - kc}


def average(name, which, parts, totals, confidence):
    defined = [p for p in parts if p.defined]
    if not defined:
        return insufficient(name, "no_overlap", **totals)
    values = np.array([p.kappas()[which] for p in defined])
    population = np.unique(np.concatenate([p.used for p in defined]))
    se = jackknife([np.mean([p.kappas(drop=i)[which] for p in defined]) for i in population])
    mean = float(values.mean())
    return Coefficient(name=name, value=mean, status=STATUS_OK, n_items=population.size,
                       n_ratings=sum(3 * p.used.size for p in defined), **totals, se=se,
                       **normal(mean, se, confidence, 2.0 if which == "difference" else 1.0),
                       warnings=size_warnings(population.size),
                       extra={"se_method": "jackknife_items", "n_raters": len(parts), "n_raters_defined": len(defined),
                              "min": float(values.min()), "max": float(values.max())})


def reference(ratings, judge, k, *, weights=None, consensus="majority", tie=None, scale=None, rater_ids=None,
              seed=0, confidence=0.95):
    options = {"weights": weights, "consensus": consensus, "tie": tie, "seed": seed, "confidence": confidence}
    judged = ~np.isnan(judge)
    totals = {"n_items_total": len(judge), "n_ratings_total": int((~np.isnan(ratings)).sum() + judged.sum())}
    names = [name + "_average" + ("" if weights is None else f"_{weights}") for name in NAMES]
    common = {"weights": weights, "consensus_method": consensus, "tie_rule": check_options(consensus, tie, scale),
              "scale": scale}
    rated = (~np.isnan(ratings)).any(axis=0)
    if not judged.any() or rated.sum() < 2:
        reason = "empty" if not rated.any() and not judged.any() else "single_rater"
        coefs = [insufficient(name, reason, **totals) for name in names]
        return LeaveOneOutConsensus(**common, n_ties=0, per_rater=(), judge_average=coefs[0],
                                    clinician_average=coefs[1], difference=coefs[2])
    ids = list(rater_ids) if rater_ids is not None else list(range(ratings.shape[1]))
    parts = [Clinician(ratings, judge, r, k, options) for r in np.flatnonzero(rated)]
    per_rater = tuple(LeaveOneOutRater(rater=ids[p.r], n_items=p.used.size, n_ties=p.ties, judge_kappa=p.kj,
                                       clinician_kappa=p.kc, difference=p.diff) for p in parts)
    averages = [average(name, which, parts, totals, confidence)
                for name, which in zip(names, ("judge", "clinician", "difference"), strict=True)]
    return LeaveOneOutConsensus(**common, n_ties=sum(p.ties for p in parts), per_rater=per_rater,
                                judge_average=averages[0], clinician_average=averages[1], difference=averages[2])


def assert_close(actual, expected, path="result"):
    """Equal plain-JSON trees, floats to TOL."""
    if isinstance(expected, float) and isinstance(actual, float):
        assert math.isclose(actual, expected, abs_tol=TOL), f"{path}: {actual} != {expected}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), f"{path}: {actual} != {expected}"
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual} != {expected}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{i}]")
    else:
        assert actual == expected and type(actual) is type(expected), f"{path}: {actual!r} != {expected!r}"


def check(ratings, judge, k, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning leaks out of the library
        res = judge_vs_leave_one_out(ratings, judge, labels=list(range(k)), **options)
    assert_close(res.to_dict(), reference(ratings, judge, k, **options).to_dict())
    return res


def random_panel(seed, n=30, n_raters=4, k=4, missing=0.25, judged=0.9):
    ratings = correlated_ratings(seed, n, n_raters, k, agree=0.6, missing=missing)
    rng = np.random.default_rng(seed + 100)
    judge = np.where(rng.random(n) < 0.7, np.nanmax(np.where(np.isnan(ratings), -1, ratings), axis=1),
                     rng.integers(0, k, n)).astype(float)
    judge[(judge < 0) | (rng.random(n) > judged)] = nan
    return ratings, judge


@pytest.mark.parametrize(("weights", "consensus", "tie", "confidence"), [
    (None, "majority", None, 0.95), ("quadratic", "median", "lower", 0.8), ("linear", "mean", "higher", 0.9),
    ("quadratic", "majority", "random", 0.95),
])
def test_whole_result_matches_the_brute_force_reference(weights, consensus, tie, confidence):
    ratings, judge = random_panel(11)
    res = check(ratings, judge, 4, weights=weights, consensus=consensus, tie=tie, scale="ordinal", rater_ids="wxyz",
                seed=7, confidence=confidence)
    assert res.difference.ok and res.difference.se is not None and len(res.per_rater) == 4


def test_rater_ids_skip_a_clinician_without_ratings_and_the_random_ties_use_the_seed():
    ratings, judge = random_panel(4, n=24, n_raters=4, k=3)
    ratings[:, 2] = nan
    res = check(ratings, judge, 3, consensus="majority", tie="random", rater_ids=["a", "b", "c", "d"], seed=3)
    assert [row.rater for row in res.per_rater] == ["a", "b", "d"] and res.judge_average.extra["n_raters"] == 3
    assert res.n_ties > 0


def test_two_items_give_a_finite_jackknife():
    # every single item left is a disagreement, so every kappa of a replicate is defined (0)
    ratings = np.array([[1, 2], [2, 0]], float)
    judge = np.array([0, 1], float)
    res = check(ratings, judge, 3)
    assert res.per_rater[0].difference.se is not None and res.difference.se is not None


def test_undefined_replicates_leave_the_se_and_interval_empty():
    # deleting one of the three items leaves a table with one category on a side
    ratings = np.array([[0, 0], [1, 1], [1, 1]], float)
    judge = np.array([0, 1, 1], float)
    res = check(ratings, judge, 2)
    assert res.difference.se is None and res.difference.ci_method is None and res.difference.ci_level is None
    assert res.per_rater[0].difference.se is None and res.per_rater[0].difference.ci_low is None


# few binary items: normal intervals that cross the range of the statistic at each end
CLIPPED = {
    "clinician_high_difference_low": ([[0, 1], [1, 1], [1, 1], [1, 1], [0, 0], [1, 1]], [0, 1, 1, 1, 1, 0]),
    "judge_high": ([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 0, 0], [1, 0, 1]], [0, 1, 1, 0, 1]),
    "judge_low": ([[1, 1], [0, 0], [1, 1], [0, 0], [0, 0], [1, 0]], [0, 1, 1, 0, 1, 0]),
    "clinician_low": ([[1, 0, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]], [0, 0, 0, 1]),
    "difference_high": ([[0, 1], [1, 0], [1, 0]], [1, 1, 0]),
    "rater_difference_high": ([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]], [1, 1, 0, 1]),
}


@pytest.mark.parametrize("case", list(CLIPPED))
def test_intervals_are_clipped_at_one_for_kappas_and_two_for_differences(case):
    ratings, judge = (np.array(x, float) for x in CLIPPED[case])
    res = check(ratings, judge, 2, consensus="majority", tie="lower", scale="ordinal")
    bounds = [b for c in (res.judge_average, res.clinician_average) for b in (c.ci_low, c.ci_high)]
    differences = [b for c in (res.difference, *(row.difference for row in res.per_rater))
                   for b in (c.ci_low, c.ci_high)]
    assert {-1.0, 1.0} & set(bounds) or {-2.0, 2.0} & set(differences)


def test_one_undefined_kappa_names_the_difference_after_it():
    # clinicians 1 and 2 always say 0, so clinician 0's leave-one-out consensus is constant: a constant
    # clinician 0 has an undefined kappa beside the judge's 0, and a constant judge the other way round
    constant = np.zeros((4, 3))
    res = check(constant, np.array([0, 1, 1, 0], float), 2)
    first = res.per_rater[0]
    assert first.judge_kappa.value == 0.0 and not first.clinician_kappa.ok
    assert first.difference.status == first.clinician_kappa.status
    varying = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]], float)
    res = check(varying, np.zeros(4), 2)
    first = res.per_rater[0]
    assert not first.judge_kappa.ok and first.clinician_kappa.value == 0.0
    assert first.difference.status == first.judge_kappa.status


def test_a_clinician_without_usable_items_and_no_defined_clinician():
    ratings = np.array([[0, 1, nan], [1, 1, nan], [0, 0, 1], [1, 0, nan]], float)
    judge = np.array([0, 1, nan, 1], float)
    res = check(ratings, judge, 2)
    assert res.per_rater[2].judge_kappa.extra["reason"] == "no_overlap"
    none = check(np.array([[0, 0], [0, 0]], float), np.array([0, 0], float), 2)
    assert none.judge_average.extra["reason"] == "no_overlap" and none.difference.status == "insufficient_data"


@pytest.mark.parametrize(("ratings", "judge", "reason"), [
    ([[nan, nan], [nan, nan]], [nan, nan], "empty"),
    ([[0, nan], [1, nan]], [0, 1], "single_rater"),
    ([[0, 1], [1, 1]], [nan, nan], "single_rater"),
])
def test_insufficient_data(ratings, judge, reason):
    res = check(np.array(ratings, float), np.array(judge, float), 2, weights="linear")
    assert res.per_rater == () and res.n_ties == 0
    for coef in (res.judge_average, res.clinician_average, res.difference):
        assert coef.extra == {"reason": reason} and coef.name.endswith("_average_linear")


def test_invalid_rule_for_the_scale():
    ratings, judge = random_panel(2, n=12, n_raters=3, k=3)
    res = judge_vs_leave_one_out(ratings, judge, labels=[0, 1, 2], consensus="median", scale="nominal")
    assert res.to_dict() == {
        "weights": None, "consensus_method": "median", "tie_rule": "higher", "scale": "nominal", "n_ties": 0,
        "per_rater": [], **{key: {
            "name": name, "value": None, "status": STATUS_INVALID_FOR_SCALE, "n_items": 0, "n_ratings": 0,
            "n_items_total": 12, "n_ratings_total": int((~np.isnan(ratings)).sum() + (~np.isnan(judge)).sum()),
            "se": None, "ci_low": None, "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0,
            "seed": None, "warnings": [], "extra": {"reason": "consensus_needs_ordered_scale"}}
            for key, name in (("judge_average", "judge_vs_loo_consensus_kappa_average"),
                              ("clinician_average", "clinician_vs_loo_consensus_kappa_average"),
                              ("difference", "judge_minus_clinician_kappa_average"))},
    }


def test_input_validation():
    ratings = np.array([[0, 1], [1, 1]], float)
    with pytest.raises(ValueError, match="^judge must have one value per item \\(row of ratings\\)$"):
        judge_vs_leave_one_out(ratings, [0], labels=[0, 1])
    with pytest.raises(ValueError, match="^rater_ids must name every column of ratings$"):
        judge_vs_leave_one_out(ratings, [0, 1], labels=[0, 1], rater_ids=["a"])
    with pytest.raises(ValueError, match="category indices"):
        judge_vs_leave_one_out(ratings, [0, 2], labels=[0, 1])
    with pytest.raises(ValueError, match="weights"):
        judge_vs_leave_one_out(ratings, [0, 1], labels=[0, 1], weights="cubic")
    with pytest.raises(ValueError, match="confidence"):
        judge_vs_leave_one_out(ratings, [0, 1], labels=[0, 1], confidence=1.0)


def test_options_are_checked_before_the_data_and_an_ordered_tie_rule_needs_an_ordered_scale():
    with pytest.raises(ValueError, match="^scale must be one of"):
        judge_vs_leave_one_out([[0, 5]], [0], labels=[0, 1], scale="ratio")
    ratings, judge = random_panel(2, n=12, n_raters=3, k=3)
    res = judge_vs_leave_one_out(ratings, judge, labels=[0, 1, 2], consensus="majority", tie="lower", scale="nominal")
    assert res.difference.extra == {"reason": "tie_rule_needs_ordered_scale"} and res.per_rater == ()


def test_random_ties_default_to_seed_zero():
    ratings, judge = random_panel(8, n=24, n_raters=3, k=3)
    res = judge_vs_leave_one_out(ratings, judge, labels=[0, 1, 2], tie="random")
    assert res.to_dict() == judge_vs_leave_one_out(ratings, judge, labels=[0, 1, 2], tie="random", seed=0).to_dict()
    assert res.to_dict() != judge_vs_leave_one_out(ratings, judge, labels=[0, 1, 2], tie="random", seed=1).to_dict()
