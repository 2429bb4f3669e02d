"""The shared machinery of the pooled coefficients (``_pooled.py``): the per-item sums, their use on stacks of
sums, the small-sample guards of the SE, whole results of every outcome, and the item bootstrap where many
resamples leave the coefficient undefined.

References: the per-item sums are written out rater pair by rater pair; stacked sums are checked against the
public point estimates (themselves checked against irrCAC in ``test_metrics_multirater.py``); bootstrap
replicates are the point estimates on the library's item resamples, replayed.
"""

import warnings
from itertools import permutations

import numpy as np
import pytest
from scipy import stats

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    WARN_SMALL_N,
    Coefficient,
    _bootstrap,
    brennan_prediger,
    fleiss_kappa,
    gwet_ac,
    percent_agreement,
)
from agreement.metrics._core import agreement_weights
from agreement.metrics._pooled import PooledItems

nan = np.nan
TOL = 1e-12

# (method, weights, public function, result name)
METHODS = [
    ("percent", None, lambda m, **kw: percent_agreement(m, **kw), "percent_agreement"),
    ("fleiss", None, lambda m, **kw: fleiss_kappa(m, **kw), "fleiss_kappa"),
    ("gwet", None, lambda m, **kw: gwet_ac(m, **kw), "gwet_ac1"),
    ("gwet", "linear", lambda m, **kw: gwet_ac(m, weights="linear", **kw), "gwet_ac2"),
    ("bp", None, lambda m, **kw: brennan_prediger(m, **kw), "brennan_prediger"),
    ("bp", "quadratic", lambda m, **kw: brennan_prediger(m, weights="quadratic", **kw), "brennan_prediger_quadratic"),
]
IDS = [m[3] for m in METHODS]

# an all-missing item (dropped), single-rated items, and items rated by two to four raters; K = 3
MIXED = np.array([
    [0, 0, 1, nan], [nan, nan, nan, nan], [2, nan, nan, nan], [1, 1, 1, 2], [nan, 0, nan, 2], [2, 2, nan, nan],
    [0, nan, 1, 2], [nan, nan, nan, 1], [1, 2, 2, 2],
])


def written_out_sums(ratings, k):
    """[items, pairable items, sum of p_a,i per weighting (none, linear, quadratic), sum of r_ik / r_i], item by
    item, with p_a,i the mean agreement weight over ordered pairs of the item's ratings."""
    rows = [r[~np.isnan(r)].astype(int) for r in ratings]
    rows = [r for r in rows if r.size]
    sums = [len(rows), sum(r.size >= 2 for r in rows)]
    for weights in (None, "linear", "quadratic"):
        w = agreement_weights(k, weights)
        sums.append(sum(np.mean([w[a, b] for a, b in permutations(r, 2)]) for r in rows if r.size >= 2))
    return np.array(sums + [sum(np.sum(r == c) / r.size for r in rows) for c in range(k)])


def test_point_sums_are_the_first_columns_summed_before_and_after_the_features_are_built():
    expected = written_out_sums(MIXED, 3)
    fresh = PooledItems(MIXED, 3)
    np.testing.assert_allclose(fresh.point_sums(), expected, rtol=0, atol=TOL)  # without the coincidence columns
    built = PooledItems(MIXED, 3)
    assert built.features.shape == (8, 5 + 3 + 9)
    np.testing.assert_allclose(built.point_sums(), expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(built.sums()[:8], expected, rtol=0, atol=TOL)


def test_single_rated_items_add_nothing_to_the_observed_agreement():
    items = PooledItems(MIXED, 3)
    for weights in (None, "linear", "quadratic"):
        pa = items.pa_items(weights)
        assert pa.shape == (8,) and np.all(pa[items.r == 1] == 0.0)


def random_matrix(seed, n, raters, k):
    rng = np.random.default_rng(seed)
    m = rng.integers(0, k, size=(n, raters)).astype(float)
    m[rng.random((n, raters)) < 0.3] = nan
    return m


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS, ids=IDS)
def test_coefficient_on_a_stack_of_sums_is_the_point_estimate_of_each(method, weights, fn, name):
    # two studies x three prefix lengths: the stack the sample-size simulation passes (cumulated item sums)
    studies = [random_matrix(1, 14, 4, 3), random_matrix(2, 14, 4, 3)]
    lengths = (6, 10, 14)
    stack = np.array([[PooledItems(m[:n], 3).point_sums() for n in lengths] for m in studies])
    values = PooledItems(studies[0], 3).coefficient(stack, method, weights)
    expected = [[fn(m[:n], labels=[0, 1, 2], n_boot=0).value for n in lengths] for m in studies]
    assert values.shape == (2, 3)
    np.testing.assert_allclose(values, np.array(expected, float), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("method", "weights"), [("fleiss", None), ("gwet", None), ("gwet", "quadratic"),
                                                 ("bp", None), ("bp", "linear")])
def test_one_category_is_undefined_on_a_stack_of_sums_too(method, weights):
    rows = np.array([[0, 0], [0, nan], [0, 0]])
    items = PooledItems(rows, 1)
    stack = np.broadcast_to(items.point_sums(), (2, 3, 6))
    values = items.coefficient(stack, method, weights)
    assert values.shape == (2, 3) and np.isnan(values).all()


def test_chance_agreement_within_rounding_of_one_counts_as_no_variation():
    # sums of two pairable items in full agreement whose category shares miss 1 by delta: p_e = 1 - 2 delta + ...
    items = PooledItems(np.array([[0, 0], [0, 0]]), 2)
    for delta, defined in ((1e-13, False), (1e-6, True)):
        s = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0 * (1 - delta), 2.0 * delta])
        value = items.coefficient(s, "fleiss", None)
        assert np.isfinite(value) == defined
    assert items.coefficient(s, "fleiss", None) == pytest.approx(1.0, abs=1e-9)


def test_an_unknown_chance_model_is_refused_by_name():
    items = PooledItems(MIXED, 3)
    with pytest.raises(ValueError, match="^scott$"):
        items.p_e(items.point_sums(), "scott", None)


# --- the SE's small-sample guards and whole results ------------------------------------------------------

def test_percent_agreement_se_is_the_sample_sd_of_two_items_over_root_two():
    res = percent_agreement(np.array([[0, 0], [0, 1]]), labels=[0, 1], n_boot=0, confidence=0.5)
    se = np.sqrt(((1 - 0.5) ** 2 + (0 - 0.5) ** 2) / (2 - 1)) / np.sqrt(2)  # per-item agreement 1 and 0
    t = stats.t.ppf(0.75, df=1)  # = 1
    assert res == Coefficient(
        name="percent_agreement", value=0.5, status=STATUS_OK, n_items=2, n_ratings=4, n_items_total=2,
        n_ratings_total=4, se=pytest.approx(se, abs=TOL), ci_low=pytest.approx(0.5 - t * se, abs=TOL),
        ci_high=pytest.approx(min(1.0, 0.5 + t * se), abs=TOL), ci_method="t", ci_level=0.5, n_boot=0, seed=None,
        warnings=(WARN_SMALL_N,), extra={"se_method": "sd_over_items", "p_a": 0.5, "weights": None})


def test_percent_agreement_over_one_pairable_item_has_no_se_even_beside_a_single_rating():
    res = percent_agreement(np.array([[0, 1], [1, nan]]), labels=[0, 1], n_boot=0)
    assert (res.value, res.n_items, res.n_items_total) == (0.0, 1, 2)
    assert (res.se, res.ci_low, res.ci_high, res.ci_method, res.ci_level) == (None, None, None, None, None)


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS, ids=IDS)
def test_one_item_gives_a_value_without_se_or_interval(method, weights, fn, name):
    res = fn(np.array([[0, 1]]), labels=[0, 1], n_boot=0, seed=5)
    w = agreement_weights(2, weights)
    p_a = float(w[0, 1])
    p_e = {"percent": None, "fleiss": 0.25 * w.sum(), "gwet": w.sum() / 2 * 0.5, "bp": w.sum() / 4}[method]
    value = p_a if p_e is None else (p_a - p_e) / (1 - p_e)
    extra = {"se_method": "sd_over_items" if method == "percent" else "gwet_linearisation", "p_a": p_a,
             "weights": weights}
    if p_e is not None:
        extra["p_e"] = pytest.approx(p_e, abs=TOL)
    assert res == Coefficient(name=name, value=pytest.approx(value, abs=TOL), status=STATUS_OK, n_items=1,
                              n_ratings=2, n_items_total=1, n_ratings_total=2, se=None, ci_low=None, ci_high=None,
                              ci_method=None, ci_level=None, n_boot=0, seed=None, warnings=(WARN_SMALL_N,),
                              extra=extra)


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS, ids=IDS)
@pytest.mark.parametrize(("ratings", "reason", "n_ratings"), [
    (np.empty((0, 0)), "empty", 0),
    (np.array([[0, nan], [1, nan]]), "single_rater", 2),
    (np.array([[0, nan], [nan, 1], [nan, nan]]), "no_pairable_item", 2),
], ids=["empty", "one_rater", "nothing_pairable"])
def test_insufficient_data_is_named_for_the_method(method, weights, fn, name, ratings, reason, n_ratings):
    res = fn(ratings, labels=[0, 1], n_boot=20)
    assert res == Coefficient(name=name, value=None, status=STATUS_INSUFFICIENT, n_items=0, n_ratings=0,
                              n_items_total=ratings.shape[0], n_ratings_total=n_ratings, extra={"reason": reason})


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS[1:], ids=IDS[1:])
def test_one_declared_category_is_no_variation_named_for_the_method(method, weights, fn, name):
    ratings = np.array([[0, 0], [0, nan], [0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fn(ratings, labels=["only"], n_boot=20)
    assert res == Coefficient(name=name, value=None, status=STATUS_NO_VARIATION, n_items=2, n_ratings=4,
                              n_items_total=3, n_ratings_total=5, warnings=(WARN_SMALL_N,),
                              extra={"percent_agreement": 1.0})


def test_fleiss_kappa_of_one_used_category_is_no_variation():
    res = fleiss_kappa(np.array([[1, 1], [1, 1], [1, nan]]), labels=[0, 1], n_boot=0)
    assert (res.name, res.status, res.value, res.extra) == ("fleiss_kappa", STATUS_NO_VARIATION, None,
                                                            {"percent_agreement": 1.0})


# --- the item bootstrap with undefined replicates --------------------------------------------------------

# two pairable items (one agreeing on 0, one split) and single ratings: resamples without a pairable item have
# no observed agreement, resamples of the agreeing item and the single 0 have a chance agreement of 1 (Fleiss)
SPARSE = np.array([[0, 0], [1, nan], [nan, 0], [0, 1], [nan, nan]])


def replayed(ratings, fn, n_boot, seed):
    """Point estimates on the library's item resamples of the rows with a rating (NaN where undefined)."""
    rows = ratings[(~np.isnan(ratings)).any(axis=1)]
    counts = np.concatenate(list(_bootstrap._draw_chunks(rows.shape[0], n_boot, seed)))
    values = [fn(np.repeat(rows, c.astype(int), axis=0), labels=[0, 1], n_boot=0).value for c in counts]
    return np.array([nan if v is None else v for v in values])


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS, ids=IDS)
@pytest.mark.parametrize(("n_boot", "seed", "confidence"), [(150, 3, 0.9), (60, 11, 0.5)])
def test_bootstrap_leaves_undefined_resamples_out_counts_them_and_warns_of_nothing(method, weights, fn, name, n_boot,
                                                                                     seed, confidence):
    reps = replayed(SPARSE, fn, n_boot, seed)
    finite = reps[np.isfinite(reps)]
    assert 0 < finite.size < n_boot
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    point = fn(SPARSE, labels=[0, 1], n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fn(SPARSE, labels=[0, 1], n_boot=n_boot, seed=seed, confidence=confidence)
    assert res == Coefficient(
        name=name, value=point.value, status=STATUS_OK, n_items=2, n_ratings=4, n_items_total=5, n_ratings_total=6,
        se=point.se, ci_low=pytest.approx(low, abs=TOL), ci_high=pytest.approx(high, abs=TOL),
        ci_method="bootstrap_percentile", ci_level=confidence, n_boot=n_boot, seed=seed, warnings=(WARN_SMALL_N,),
        extra={**point.extra, "n_boot_undefined": n_boot - finite.size})


@pytest.mark.parametrize(("method", "weights", "fn", "name"), METHODS, ids=IDS)
def test_one_resample_gives_a_point_interval_with_its_level_and_seed(method, weights, fn, name):
    ratings = random_matrix(7, 12, 3, 2)
    (rep,) = replayed(ratings, fn, 1, 42)
    res = fn(ratings, labels=[0, 1], n_boot=1, seed=42, confidence=0.8)
    assert (res.ci_low, res.ci_high) == (pytest.approx(rep, abs=TOL), pytest.approx(rep, abs=TOL))
    assert (res.ci_method, res.ci_level, res.n_boot, res.seed) == ("bootstrap_percentile", 0.8, 1, 42)
    assert res.extra["n_boot_undefined"] == 0
