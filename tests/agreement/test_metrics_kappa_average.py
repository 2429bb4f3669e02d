"""The n-weighted average of pairwise kappas: value, jackknife SE and every interval bound pinned against a
literal delete-one-item jackknife over sklearn's Cohen's kappa, the clipping to [-1, 1], the chunked
jackknife, the undefined-replicate fallback and the whole result."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import kappa as kappa_module
from agreement.metrics import n_weighted_kappa_average, pairwise_cohen_kappa

TOL = 1e-10
NAN = np.nan
# Incomplete design: three raters, 10 items, every pair co-rates a different number of items.
RATINGS = np.array([[0, 0, 1], [1, 1, NAN], [2, 1, 2], [0, NAN, 0], [1, 2, 1], [2, 2, NAN], [0, 0, 0],
                    [NAN, 1, 1], [1, 1, 2], [2, NAN, 2]], float)


def literal_average(ratings, k, weights):
    """sum_p n_p kappa_p / sum_p n_p over the pairs whose kappa is defined; None when none is."""
    num = den = 0.0
    for a in range(ratings.shape[1]):
        for b in range(a + 1, ratings.shape[1]):
            both = ~np.isnan(ratings[:, a]) & ~np.isnan(ratings[:, b])
            if not both.any():
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = cohen_kappa_score(ratings[both, a], ratings[both, b], labels=list(range(k)), weights=weights)
            if np.isfinite(value):
                num, den = num + both.sum() * value, den + both.sum()
    return num / den if den else None


def literal_jackknife_se(ratings, k, weights):
    """Delete-one-item jackknife over the items rated at least twice; None when a replicate is undefined."""
    items = np.flatnonzero((~np.isnan(ratings)).sum(axis=1) >= 2)
    reps = [literal_average(np.delete(ratings, i, axis=0), k, weights) for i in items]
    if len(reps) < 2 or any(r is None for r in reps):
        return None
    reps = np.array(reps)
    m = reps.size
    return float(np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum()))


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_bounds_match_a_literal_jackknife(weights, confidence):
    res = n_weighted_kappa_average(RATINGS, labels=[0, 1, 2], weights=weights, confidence=confidence)
    value = literal_average(RATINGS, 3, weights)
    se = literal_jackknife_se(RATINGS, 3, weights)
    z = stats.norm.ppf((1 + confidence) / 2)
    assert res.value == pytest.approx(value, abs=TOL)
    assert res.se == pytest.approx(se, abs=TOL)
    assert res.ci_low == pytest.approx(max(-1.0, value - z * se), abs=TOL)
    assert res.ci_high == pytest.approx(min(1.0, value + z * se), abs=TOL)
    assert res.ci_low < res.value < res.ci_high
    assert res.ci_level == confidence and res.ci_method == "jackknife_normal"


def test_literal_numbers():
    # The same data at 90 %: kappa_n = 0.385347, jackknife SE = 0.225982, z = 1.644854
    res = n_weighted_kappa_average(RATINGS, labels=[0, 1, 2], confidence=0.9)
    assert res.value == pytest.approx(0.38534667325428196, abs=1e-12)
    assert res.se == pytest.approx(0.2259816009780216, abs=1e-12)
    assert res.ci_low == pytest.approx(0.013640017261282777, abs=1e-12)
    assert res.ci_high == pytest.approx(0.7570533292472812, abs=1e-12)


def test_whole_result():
    res = n_weighted_kappa_average(RATINGS, labels=[0, 1, 2], weights="linear")
    light = pairwise_cohen_kappa(RATINGS, labels=[0, 1, 2], weights="linear", n_boot=0).average
    assert res.name == "n_weighted_average_cohen_kappa_linear"
    assert n_weighted_kappa_average(RATINGS, labels=[0, 1, 2]).name == "n_weighted_average_cohen_kappa"
    assert res.status == "ok" and res.n_boot == 0 and res.seed is None and res.warnings == light.warnings
    assert (res.n_items, res.n_ratings, res.n_items_total, res.n_ratings_total) == (10, 25, 10, 25)
    assert res.extra == {"n_pairs": 3, "n_pairs_defined": 3, "n_pairs_no_overlap": 0, "n_pairs_no_variation": 0,
                         "weights": "linear", "se_method": "jackknife_items", "light_average": light.value,
                         "pair_weights": "co-rated items"}
    assert res.extra["light_average"] == pytest.approx(0.4961697722567287, abs=1e-12)


def test_bounds_are_clipped_to_the_kappa_range():
    # Near-perfect agreement: value + z * se exceeds 1, the upper bound is 1 exactly.
    high = np.array([[0, 0, 0]] * 6 + [[1, 1, 1]] * 6 + [[0, 0, 1]], float)
    res = n_weighted_kappa_average(high, labels=[0, 1])
    z = stats.norm.ppf(0.975)
    se = literal_jackknife_se(high, 2, None)
    assert res.se == pytest.approx(se, abs=TOL) and res.value + z * se > 1
    assert res.ci_high == 1.0 and res.ci_low == pytest.approx(res.value - z * se, abs=TOL)
    # Systematic disagreement: value - z * se falls below -1, the lower bound is -1 exactly.
    low = np.array([[0, 1]] * 4 + [[1, 0]] * 4 + [[0, 0]], float)
    res = n_weighted_kappa_average(low, labels=[0, 1])
    se = literal_jackknife_se(low, 2, None)
    assert res.se == pytest.approx(se, abs=TOL) and res.value - z * se < -1
    assert res.ci_low == -1.0 and res.ci_high == pytest.approx(res.value + z * se, abs=TOL)


def test_chunked_jackknife_equals_the_literal_one(monkeypatch):
    # Items are one-hot encoded in chunks; a chunk size of 3 splits the 10 items unevenly.
    monkeypatch.setattr(kappa_module, "_ROWS_PER_CHUNK", 3)
    for weights in (None, "quadratic"):
        res = n_weighted_kappa_average(RATINGS, labels=[0, 1, 2], weights=weights)
        assert res.se == pytest.approx(literal_jackknife_se(RATINGS, 3, weights), abs=TOL)


def test_no_interval_when_a_deletion_leaves_no_defined_pair():
    # Deleting the (1, 1) item leaves both raters constant at 0: that replicate has no defined pair.
    ratings = np.array([[0, 0], [0, 0], [1, 1]], float)
    res = n_weighted_kappa_average(ratings, labels=[0, 1])
    assert literal_jackknife_se(ratings, 2, None) is None
    assert res.value == 1.0 and res.status == "ok" and res.warnings == ("small_n",)
    assert (res.se, res.ci_low, res.ci_high, res.ci_method, res.ci_level) == (None, None, None, None, None)


def test_a_pair_that_becomes_undefined_leaves_both_sums():
    # Rater pair (0, 2) co-rates three items; deleting its (1, 1) item makes it undefined, the others stay.
    ratings = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 1], [1, 0, NAN], [0, 0, NAN], [1, 1, NAN]], float)
    for weights in (None, "linear"):
        res = n_weighted_kappa_average(ratings, labels=[0, 1], weights=weights)
        assert res.value == pytest.approx(literal_average(ratings, 2, weights), abs=TOL)
        assert res.se == pytest.approx(literal_jackknife_se(ratings, 2, weights), abs=TOL)


def test_items_rated_once_are_outside_the_jackknife():
    ratings = np.vstack([RATINGS, [[0, NAN, NAN], [NAN, NAN, 2]]])
    res = n_weighted_kappa_average(ratings, labels=[0, 1, 2])
    assert res.se == pytest.approx(literal_jackknife_se(RATINGS, 3, None), abs=TOL)
    assert res.value == pytest.approx(literal_average(RATINGS, 3, None), abs=TOL)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(("ratings", "k", "weights"), [
    (np.array([[0, 0], [0, 0], [1, 1]], float), 2, None),  # a deletion leaves 0/0
    (np.array([[NAN, 0, NAN], [0, NAN, 0], [2, 1, 2], [NAN, NAN, 2], [2, 1, 1], [1, 2, 0]]), 3, "linear"),  # x/0
])
def test_undefined_deletions_raise_no_numpy_warning(ratings, k, weights):
    res = n_weighted_kappa_average(ratings, labels=list(range(k)), weights=weights)
    assert res.value == pytest.approx(literal_average(ratings, k, weights), abs=TOL)
    se = literal_jackknife_se(ratings, k, weights)
    assert res.se == (None if se is None else pytest.approx(se, abs=TOL))


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.2])
def test_confidence_outside_the_unit_interval_is_refused(confidence):
    with pytest.raises(ValueError, match="confidence"):
        n_weighted_kappa_average(RATINGS, labels=[0, 1, 2], confidence=confidence)


@pytest.mark.parametrize("ratings", [
    [[0, 1], [1, 0]],  # two items: each replicate keeps one co-rated item (a sum of weights of 1)
    [[0, 1], [1, 0], [1, 1]],
    [[0, 1, NAN], [1, NAN, 0], [NAN, 0, 1]],  # every pair co-rates a single item
])
def test_small_designs_match_the_literal_jackknife(ratings):
    ratings = np.array(ratings, float)
    res = n_weighted_kappa_average(ratings, labels=[0, 1])
    se = literal_jackknife_se(ratings, 2, None)
    assert res.value == pytest.approx(literal_average(ratings, 2, None), abs=TOL)
    assert (res.se is None and se is None) or res.se == pytest.approx(se, abs=TOL)
