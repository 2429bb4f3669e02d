"""Case-clustered comparisons (``clustered.py``) against references written out here: the case resamples
replayed (the library's seeded draws of cases), each replicate recomputed from the rows repeated by their
case's multiplicity with scipy's rank correlations or a bin-by-bin ECE, permutation p-values by enumeration
or by scipy, and the kept resample and sign matrices.
"""

import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    Coefficient,
    _bootstrap,
    clustered,
    rank_biased_overlap,
    release_kept,
)
from agreement.metrics.clustered import (
    CI_CLUSTER,
    CI_CLUSTER_SHIFTED,
    case_weights,
    cluster_sums,
    ece_clustered,
    ece_difference,
    exact_tau_pvalue,
    matched_rank_agreement,
    paired_difference,
    paired_differences,
    sign_flip_pvalue,
)

nan = np.nan
TOL = 1e-12


@pytest.fixture(autouse=True)
def _nothing_kept():
    release_kept()
    yield
    release_kept()


def case_counts(n_cases, n_boot, seed):
    """The multiplicities of the sorted cases in each resample the library draws."""
    return np.concatenate(list(_bootstrap._draw_chunks(n_cases, n_boot, seed))).astype(float)


def interval(reps, confidence):
    finite = reps[np.isfinite(reps)]
    return np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# --- kept matrices, per-case sums ----------------------------------------------------------------

def test_case_weights_are_the_item_bootstraps_seeded_draws_kept_per_seed():
    """The paired differences resample cases with the same draws as the calibration intervals and the rankings."""
    w = case_weights(5, 40, 3)
    np.testing.assert_array_equal(w, case_counts(5, 40, 3))
    assert w.dtype == np.float32
    assert case_weights(5, 40, 3) is w
    assert case_weights(5, 40, None) is not case_weights(5, 40, None)  # unseeded draws are not kept
    assert case_weights(5, 40, None).sum(axis=1).tolist() == [5.0] * 40


def test_sixteen_matrices_are_kept_and_the_oldest_is_dropped_first():
    first = case_weights(3, 4, 0)
    for seed in range(1, 16):
        case_weights(3, 4, seed)
    assert len(clustered._kept.matrices) == 16 and case_weights(3, 4, 0) is first
    case_weights(3, 4, 16)
    assert len(clustered._kept.matrices) == 16 and ("w", 3, 4, 0) not in clustered._kept.matrices
    assert case_weights(3, 4, 1) is case_weights(3, 4, 1)


def test_release_drops_these_and_the_item_bootstrap_matrices():
    case_weights(3, 4, 0)
    sign_flip_pvalue(np.arange(13.0), n_perm=10, seed=0)
    _bootstrap.resampled_sums(np.eye(3), 4, 0)
    assert len(clustered._kept.matrices) == 2 and _bootstrap._kept.draws
    release_kept()
    assert clustered._kept.matrices == {} and _bootstrap._kept.draws == {}


@pytest.mark.parametrize("clusters", [["b", "a", "c", "a", "b", "b"], [[2], [1], [3], [1], [2], [2]]],
                         ids=["names", "column"])
def test_cluster_sums_add_the_rows_of_each_case_in_sorted_case_order(clusters):
    features = np.array([[1.0, 10], [2, 20], [3, 30], [4, 40], [5, 50], [6, 60]])
    ids, sums = cluster_sums(clusters, features)
    assert ids.tolist() == sorted({c if isinstance(c, str) else c[0] for c in clusters})
    np.testing.assert_array_equal(sums, [[6, 60], [12, 120], [3, 30]])


# --- matched rankings ------------------------------------------------------------------------------

def rank_reference(conditions, cases, a, b, n_boot, seed, confidence):
    """Condition means, rank correlations and their replayed case bootstrap, from the matched rows."""
    keep = ~np.isnan(a) & ~np.isnan(b)
    cond, case, a, b = np.asarray(conditions, object)[keep], np.asarray(cases)[keep], a[keep], b[keep]
    levels, ids = sorted(set(cond)), np.unique(case)

    def means(weight):
        w = np.array([weight[np.searchsorted(ids, c)] for c in case])
        out = []
        for side in (a, b):
            out.append(np.array([np.sum((w * side)[cond == lv]) / np.sum(w[cond == lv])
                                 if np.sum(w[cond == lv]) else nan for lv in levels]))
        return out

    def corr(fn, x, y):
        ok = ~np.isnan(x) & ~np.isnan(y)
        if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            return nan
        return fn(x[ok], y[ok]).statistic

    ma, mb = means(np.ones(ids.size))
    reps = {"kendall": [], "spearman": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 for conditions a resample misses
        for counts in case_counts(ids.size, n_boot, seed):
            ra, rb = means(counts)
            reps["kendall"].append(corr(stats.kendalltau, ra, rb))
            reps["spearman"].append(corr(stats.spearmanr, ra, rb))
    return levels, ids, ma, mb, {k: np.array(v) for k, v in reps.items()}


def rank_panel(seed, n_cases, levels, missing=0.15):
    rng = np.random.default_rng(seed)
    conditions = [lv for _ in range(n_cases) for lv in levels]
    cases = np.repeat([f"case{i:02d}" for i in range(n_cases)], len(levels))
    shift = np.tile(np.arange(len(levels), dtype=float), n_cases)
    a = shift + rng.normal(0, 2, cases.size)
    b = shift + rng.normal(0, 2, cases.size)
    a[rng.random(cases.size) < missing] = nan
    b[rng.random(cases.size) < missing] = nan
    return conditions, cases, a, b


@pytest.mark.parametrize(("n_boot", "seed", "confidence", "rbo_p"), [(200, 5, 0.9, 0.8), (50, 9, 0.5, 0.95)])
def test_matched_ranking_against_the_replayed_case_bootstrap(n_boot, seed, confidence, rbo_p):
    conditions, cases, a, b = rank_panel(1, 6, ["p", "q", "r", "s"])
    res = quiet(matched_rank_agreement, conditions, cases, a, b, n_boot=n_boot, seed=seed, confidence=confidence,
                rbo_p=rbo_p)
    levels, ids, ma, mb, reps = rank_reference(conditions, cases, a, b, n_boot, seed, confidence)
    kept = int((~np.isnan(a) & ~np.isnan(b)).sum())
    assert (res.conditions, res.n_clusters) == (tuple(levels), ids.size)
    np.testing.assert_allclose(res.mean_a, ma, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.mean_b, mb, rtol=0, atol=TOL)
    n_rows = [int(np.sum((np.asarray(conditions) == lv) & ~np.isnan(a) & ~np.isnan(b))) for lv in levels]
    assert res.n_rows == tuple(n_rows) and sum(n_rows) == kept
    order_a = tuple(lv for _, lv in sorted(zip(-ma, levels, strict=True)))
    order_b = tuple(lv for _, lv in sorted(zip(-mb, levels, strict=True)))
    assert (res.ranking_a, res.ranking_b) == (order_a, order_b)
    assert res.rbo == rank_biased_overlap(order_a, order_b, p=rbo_p)
    sizes = {"n_items": kept, "n_ratings": 2 * kept, "n_items_total": a.size, "n_ratings_total": 2 * a.size}
    tau = stats.kendalltau(ma, mb)
    exact = np.mean([abs(stats.kendalltau(ma, p).statistic) >= abs(tau.statistic) - 1e-12
                     for p in itertools.permutations(mb)])
    low, high = interval(reps["kendall"], confidence)
    assert res.kendall_tau_b == Coefficient(
        name="kendall_tau_b", value=pytest.approx(tau.statistic, abs=TOL), status=STATUS_OK, **sizes,
        ci_low=pytest.approx(low, abs=TOL), ci_high=pytest.approx(high, abs=TOL), ci_method=CI_CLUSTER,
        ci_level=confidence, n_boot=n_boot, seed=seed,
        extra={"n_conditions": 4, "p_value": pytest.approx(exact, abs=TOL), "p_method": "exact_permutation"})
    rho = stats.spearmanr(ma, mb)
    low, high = interval(reps["spearman"], confidence)
    assert res.spearman == Coefficient(
        name="spearman_rho", value=pytest.approx(rho.statistic, abs=TOL), status=STATUS_OK, **sizes,
        ci_low=pytest.approx(low, abs=TOL), ci_high=pytest.approx(high, abs=TOL), ci_method=CI_CLUSTER,
        ci_level=confidence, n_boot=n_boot, seed=seed,
        extra={"n_conditions": 4, "p_value": pytest.approx(rho.pvalue, abs=TOL), "p_method": "scipy"})


def test_resamples_that_miss_a_condition_rank_the_others():
    # each case scores one condition only, so most resamples lack one of the three
    conditions = ["x", "y", "z"] * 2
    cases = [0, 1, 2, 3, 4, 5]
    a, b = np.array([1.0, 2, 3, 2, 3, 5]), np.array([1.0, 3, 2, 2, 1, 6])
    res = quiet(matched_rank_agreement, conditions, cases, a, b, n_boot=80, seed=2, confidence=0.8)
    *_, reps = rank_reference(conditions, cases, a, b, 80, 2, 0.8)
    for coef, key in ((res.kendall_tau_b, "kendall"), (res.spearman, "spearman")):
        assert np.isnan(reps[key]).any()
        assert (coef.ci_low, coef.ci_high) == tuple(pytest.approx(v, abs=TOL) for v in interval(reps[key], 0.8))


def test_eight_conditions_get_the_exact_p_and_nine_scipys():
    for k, method in ((8, "exact_permutation"), (9, "scipy")):
        levels = [f"c{i}" for i in range(k)]
        conditions, cases, a, b = rank_panel(3, 2, levels, missing=0)
        res = matched_rank_agreement(conditions, cases, a, b, n_boot=0)
        ma, mb = np.array(res.mean_a), np.array(res.mean_b)
        # without ties the exact permutation p-value is scipy's exact one
        expected = stats.kendalltau(ma, mb, method="exact" if k == 8 else "auto").pvalue
        assert res.kendall_tau_b.extra == {"n_conditions": k, "p_value": pytest.approx(expected, abs=1e-12),
                                           "p_method": method}
        assert res.spearman.extra["p_value"] == pytest.approx(stats.spearmanr(ma, mb).pvalue, abs=1e-12)


def test_exact_tau_pvalue_with_ties_counts_every_permutation():
    x, y = np.array([1.0, 2, 2, 4]), np.array([3.0, 1, 3, 5])
    observed = abs(stats.kendalltau(x, y).statistic)
    taus = [abs(stats.kendalltau(x, p).statistic) for p in itertools.permutations(y)]
    assert exact_tau_pvalue(x, y) == pytest.approx(np.mean(np.array(taus) >= observed - 1e-12), abs=TOL)


def test_exact_tau_pvalue_called_directly_on_unsigned_or_constant_values():
    """The ranking passes float means of two varying sides; called directly, unsigned integers are compared as
    numbers (not by wrapped differences), and a constant side, where tau-b is undefined for every ordering,
    counts none of them, without a numpy warning."""
    x, y = np.array([0, 1, 2, 3, 4], dtype=np.uint8), np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    observed = abs(stats.kendalltau(x.astype(float), y).statistic)
    taus = [abs(stats.kendalltau(x.astype(float), p).statistic) for p in itertools.permutations(y)]
    expected = np.mean(np.array(taus) >= observed - 1e-12)
    assert exact_tau_pvalue(x, y) == exact_tau_pvalue(y, x) == pytest.approx(expected, abs=TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exact_tau_pvalue(np.ones(4), y[:4]) == exact_tau_pvalue(y[:4], np.ones(4)) == 0.0


def test_tied_means_are_ranked_by_name():
    conditions, cases = ["b", "a", "c", "b", "a", "c"], [1, 1, 1, 2, 2, 2]
    a, b = np.array([1.0, 1, 0, 1, 1, 0]), np.array([0.0, 1, 2, 0, 1, 2])
    res = matched_rank_agreement(conditions, cases, a, b, n_boot=0)
    assert (res.ranking_a, res.ranking_b) == (("a", "b", "c"), ("c", "a", "b"))


def without_interval(name, sizes, extra):
    return Coefficient(name=name, value=pytest.approx(extra.pop("value"), abs=TOL), status=STATUS_OK, **sizes,
                       extra=extra)


@pytest.mark.parametrize("n_boot", [0, 100])
def test_one_case_or_no_resamples_give_no_interval(n_boot):
    conditions, cases = ["a", "b", "c"], ["only"] * 3
    a, b = np.array([1.0, 2, 3]), np.array([1.0, 3, 2])
    res = matched_rank_agreement(conditions, cases, a, b, n_boot=n_boot, seed=4)
    sizes = {"n_items": 3, "n_ratings": 6, "n_items_total": 3, "n_ratings_total": 6}
    assert res.kendall_tau_b == without_interval("kendall_tau_b", sizes, {
        "value": 1 / 3, "n_conditions": 3, "p_value": 1.0, "p_method": "exact_permutation"})
    assert res.spearman == without_interval("spearman_rho", sizes, {
        "value": 0.5, "n_conditions": 3, "p_value": pytest.approx(stats.spearmanr([1, 2, 3], [1, 3, 2]).pvalue),
        "p_method": "scipy"})


def test_no_defined_resample_gives_no_interval():
    # two cases, one condition each: a resample of one case has one condition, the original needs both cases
    conditions, cases, a, b = ["a", "b"], [1, 2], np.array([1.0, 2]), np.array([2.0, 1])
    draws = case_counts(2, 1, 0)
    assert draws.min() == 0  # the one resample repeats a case
    res = quiet(matched_rank_agreement, conditions, cases, a, b, n_boot=1, seed=0)
    for coef in (res.kendall_tau_b, res.spearman):
        assert (coef.value, coef.ci_low, coef.ci_high, coef.ci_method, coef.ci_level, coef.n_boot, coef.seed) == (
            -1.0, None, None, None, None, 0, None)


@pytest.mark.parametrize(("a", "b", "side"), [([2.0, 2, 2, 2], [1.0, 2, 3, 4], "a"),
                                              ([1.0, 2, 3, 4], [5.0, 5, 5, 5], "b")])
def test_a_constant_side_is_no_variation(a, b, side):
    res = matched_rank_agreement(["a", "b", "a", "b"], [1, 1, 2, 2], np.array(a), np.array(b), n_boot=50)
    sizes = {"n_items": 4, "n_ratings": 8, "n_items_total": 4, "n_ratings_total": 8}
    for coef, name in ((res.kendall_tau_b, "kendall_tau_b"), (res.spearman, "spearman_rho")):
        assert coef == Coefficient(name=name, value=None, status=STATUS_NO_VARIATION, **sizes,
                                   extra={"n_conditions": 2, "constant_side": side})


@pytest.mark.parametrize(("conditions", "a", "reason", "levels"), [
    ([], [], "empty", ()),
    (["a", "b"], [nan, nan], "too_few_conditions", ()),
    (["a", "a"], [1.0, 2.0], "too_few_conditions", ("a",)),
], ids=["no_rows", "no_matched_row", "one_condition"])
def test_fewer_than_two_conditions_are_insufficient(conditions, a, reason, levels):
    a = np.array(a)
    res = matched_rank_agreement(conditions, list(range(a.size)), a, np.ones(a.size), n_boot=50)
    kept = int((~np.isnan(a)).sum())
    sizes = {"n_items": kept, "n_ratings": 2 * kept, "n_items_total": a.size, "n_ratings_total": 2 * a.size}
    for coef, name in ((res.kendall_tau_b, "kendall_tau_b"), (res.spearman, "spearman_rho")):
        assert coef == Coefficient(name=name, value=None, status=STATUS_INSUFFICIENT, **sizes,
                                   extra={"n_conditions": len(levels), "reason": reason})
    assert (res.conditions, res.ranking_a, res.n_rows) == (levels, levels, (kept,) if levels else ())
    assert res.rbo == (rank_biased_overlap(levels, levels) if levels else None)
    assert res.n_clusters == kept


def test_matched_ranking_defaults_and_confidence_check():
    conditions, cases, a, b = rank_panel(4, 5, ["p", "q", "r"])
    assert matched_rank_agreement(conditions, cases, a, b) == matched_rank_agreement(
        conditions, cases, a, b, n_boot=1000, seed=0, confidence=0.95, rbo_p=0.9)
    assert matched_rank_agreement(conditions, cases, a, b).kendall_tau_b.n_boot == 1000
    with pytest.raises(ValueError, match="confidence"):
        matched_rank_agreement(conditions, cases, a, b, confidence=1.0)


# --- paired differences ----------------------------------------------------------------------------

def sign_flip_reference(means, n_perm, seed):
    n, observed = means.size, abs(means.mean())
    if n <= 12:
        signs = np.array(list(itertools.product((1, -1), repeat=n)), float)
        return np.mean(np.abs(signs @ means) / n >= observed - 1e-12), "exact_sign_flip"
    signs = np.random.default_rng(seed).integers(0, 2, size=(n_perm, n), dtype=np.int8) * 2.0 - 1.0
    return (1 + np.sum(np.abs(signs @ means) / n >= observed * (1 - 1e-5))) / (1 + n_perm), "monte_carlo_sign_flip"


@pytest.mark.parametrize("n", [12, 13, 30])
def test_sign_flip_pvalue_enumerates_up_to_twelve_cases_and_draws_beyond(n):
    means = np.random.default_rng(n).normal(0.4, 1, n)
    p, method = sign_flip_pvalue(means, n_perm=3000, seed=8)
    ref_p, ref_method = sign_flip_reference(means, 3000, 8)
    assert (p, method) == (pytest.approx(ref_p, abs=TOL), ref_method)


def test_sign_flip_counts_the_observed_pattern_and_its_mirror():
    means = np.full(13, 0.1)  # only the all-plus and all-minus patterns reach the observed mean
    signs = np.random.default_rng(0).integers(0, 2, size=(500, 13), dtype=np.int8) * 2 - 1
    hits = np.sum(np.abs(signs.sum(axis=1)) == 13)
    assert sign_flip_pvalue(means, n_perm=500, seed=0) == ((1 + hits) / 501, "monte_carlo_sign_flip")
    unseeded = [sign_flip_pvalue(np.random.default_rng(1).normal(0, 1, 13), n_perm=200, seed=None)[0]
                for _ in range(5)]
    assert len(set(unseeded)) > 1


def paired_panel(seed, n_cases, missing=0.1):
    rng = np.random.default_rng(seed)
    cases = rng.integers(0, n_cases, 4 * n_cases)
    cases[:n_cases] = np.arange(n_cases)  # every case has a row
    d = rng.normal(0.3, 1, cases.size)
    d[n_cases:][rng.random(cases.size - n_cases) < missing] = nan
    return d, cases


@pytest.mark.parametrize(("n_cases", "n_boot", "seed", "confidence"), [(9, 300, 1, 0.9), (25, 1500, 6, 0.5)])
def test_paired_difference_against_the_replayed_case_bootstrap(n_cases, n_boot, seed, confidence):
    d, cases = paired_panel(seed, n_cases)
    res = quiet(paired_difference, d, cases, n_boot=n_boot, seed=seed, confidence=confidence, name="effect")
    ok = ~np.isnan(d)
    ids = np.unique(cases[ok])
    means = np.array([d[ok & (cases == c)].mean() for c in ids])
    low, high = interval(case_counts(ids.size, n_boot, seed) @ means / ids.size, confidence)
    p, method = sign_flip_reference(means, max(n_boot, 1000), seed)
    assert res == Coefficient(
        name="effect", value=pytest.approx(means.mean(), abs=TOL), status=STATUS_OK, n_items=ids.size,
        n_ratings=int(ok.sum()), n_items_total=ids.size, n_ratings_total=d.size,
        ci_low=pytest.approx(low, abs=1e-6), ci_high=pytest.approx(high, abs=1e-6), ci_method=CI_CLUSTER,
        ci_level=confidence, n_boot=n_boot, seed=seed,
        extra={"n_cases": ids.size, "n_pairs": int(ok.sum()), "p_value": pytest.approx(p, abs=TOL),
               "p_method": method, "unit": "case"})


def test_paired_difference_draws_at_least_a_thousand_sign_patterns():
    d, cases = paired_panel(2, 20)
    res = paired_difference(d, cases, n_boot=10, seed=3)
    ok = ~np.isnan(d)
    means = np.array([d[ok & (cases == c)].mean() for c in np.unique(cases[ok])])
    assert res.extra["p_value"] == pytest.approx(sign_flip_reference(means, 1000, 3)[0], abs=TOL)


def test_paired_difference_defaults_and_edge_cases():
    d, cases = paired_panel(3, 8)
    assert paired_difference(d, cases) == paired_difference(d, cases, n_boot=1000, seed=0, confidence=0.95,
                                                            name="paired_difference")
    one = paired_difference(np.array([1.0, 2.0, nan]), [4, 4, 4], n_boot=100)
    assert one == Coefficient(name="paired_difference", value=1.5, status=STATUS_OK, n_items=1, n_ratings=2,
                              n_items_total=1, n_ratings_total=3,
                              extra={"n_cases": 1, "n_pairs": 2, "p_value": 1.0, "p_method": "exact_sign_flip",
                                     "unit": "case"})
    none = paired_difference(np.array([nan, nan]), [1, 2], name="x")
    assert none == Coefficient(name="x", value=None, status=STATUS_INSUFFICIENT, n_items=0, n_ratings=0,
                               n_items_total=2, n_ratings_total=2, extra={"reason": "empty"})


# --- calibration -----------------------------------------------------------------------------------

def ece_reference(conf, hit, weight, n_bins):
    """Sum over equal-width bins [b / n_bins, (b + 1) / n_bins) (the last one closed) of |hits - confidence|,
    rows weighted, over the weighted rows."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        sel = (conf >= lo) & ((conf < hi) if b < n_bins - 1 else (conf <= hi))
        total += abs(np.sum(weight[sel] * (hit[sel] - conf[sel])))
    return total / np.sum(weight)


def ece_panel(seed, n_cases, n_rows, shift=0.0):
    rng = np.random.default_rng(seed)
    conf = np.round(rng.uniform(0.01, 0.99, n_rows), 3)  # three decimals: off the bin edges
    conf[:3] = [0.0, 1.0, 0.999]
    hit = (rng.uniform(0, 1, n_rows) < np.clip(conf + shift, 0, 1)).astype(float)
    cases = rng.integers(0, n_cases, n_rows)
    conf[5], hit[7] = nan, nan
    return conf, hit, cases


def replayed_ece(conf, hit, cases, n_bins, n_boot, seed):
    ok = ~np.isnan(conf) & ~np.isnan(hit)
    conf, hit, cases = conf[ok], hit[ok], cases[ok]
    ids = np.unique(cases)
    value = ece_reference(conf, hit, np.ones(conf.size), n_bins)
    reps = np.array([ece_reference(conf, hit, c[np.searchsorted(ids, cases)], n_bins)
                     for c in case_counts(ids.size, n_boot, seed)])
    return value, reps, ids.size, int(ok.sum())


@pytest.mark.parametrize(("n_bins", "n_boot", "seed", "level", "shift"), [(10, 200, 3, 0.9, 0.0),
                                                                         (4, 60, 8, 0.5, 0.3)])
def test_ece_interval_is_the_replayed_percentile_interval_shifted_by_the_bias(n_bins, n_boot, seed, level, shift):
    conf, hit, cases = ece_panel(seed, 20, 150, shift)
    res = quiet(ece_clustered, conf, hit, cases, n_bins=n_bins, n_boot=n_boot, seed=seed, confidence_level=level)
    value, reps, n_cases, n_ok = replayed_ece(conf, hit, cases, n_bins, n_boot, seed)
    q_low, q_high = interval(reps, level)
    bias = reps.mean() - value
    assert res == Coefficient(
        name="expected_calibration_error", value=pytest.approx(value, abs=TOL), status=STATUS_OK, n_items=n_ok,
        n_ratings=n_ok, n_items_total=150, n_ratings_total=150, ci_low=pytest.approx(max(0.0, q_low - bias), abs=TOL),
        ci_high=pytest.approx(max(0.0, q_high - bias), abs=TOL), ci_method=CI_CLUSTER_SHIFTED, ci_level=level,
        n_boot=n_boot, seed=seed, extra={"n_bins": n_bins, "n_cases": n_cases})


def test_the_shifted_ece_interval_is_floored_at_zero():
    # stated 0.5 throughout, right in half of the cases: ECE 0, every unbalanced resample above it
    conf, hit, cases = np.full(10, 0.5), np.repeat([1.0, 0.0], 5), np.arange(10)
    res = ece_clustered(conf, hit, cases, n_boot=200, seed=1)
    value, reps, *_ = replayed_ece(conf, hit, cases, 10, 200, 1)
    q_low, q_high = interval(reps, 0.95)
    bias = reps.mean() - value
    assert value == 0 and q_low - bias < 0 < q_high - bias
    assert (res.value, res.ci_low, res.ci_high) == (0.0, 0.0, pytest.approx(q_high - bias, abs=TOL))


def test_ece_defaults_and_edge_cases():
    conf, hit, cases = ece_panel(5, 10, 60)
    assert ece_clustered(conf, hit, cases) == ece_clustered(conf, hit, cases, n_bins=10, n_boot=1000, seed=0,
                                                            confidence_level=0.95)
    one = ece_clustered(np.array([0.2, 0.9, nan]), np.array([0.0, 1.0, 1.0]), [3, 3, 3], n_boot=100)
    assert one == Coefficient(name="expected_calibration_error", value=pytest.approx(0.15, abs=TOL),
                              status=STATUS_OK, n_items=2, n_ratings=2, n_items_total=3, n_ratings_total=3,
                              extra={"n_bins": 10, "n_cases": 1})
    none = ece_clustered(np.array([nan, 0.5]), np.array([1.0, nan]), [1, 2])
    assert none == Coefficient(name="expected_calibration_error", value=None, status=STATUS_INSUFFICIENT,
                               n_items=0, n_ratings=0, n_items_total=2, n_ratings_total=2, extra={"reason": "empty"})


@pytest.mark.parametrize(("n_bins", "n_boot", "seed", "level"), [(10, 150, 2, 0.9), (3, 40, 7, 0.5)])
def test_ece_difference_resamples_the_shared_cases_jointly(n_bins, n_boot, seed, level):
    conf_a, hit_a, cases_a = ece_panel(seed, 15, 90)
    conf_b, hit_b, cases_b = ece_panel(seed + 100, 15, 70, shift=0.2)
    cases_b = cases_b + 4  # cases 0-3 only on side a, 15-18 only on side b
    res = quiet(ece_difference, (conf_a, hit_a, cases_a), (conf_b, hit_b, cases_b), n_bins=n_bins, n_boot=n_boot,
                seed=seed, confidence_level=level)
    ok_a, ok_b = ~np.isnan(conf_a) & ~np.isnan(hit_a), ~np.isnan(conf_b) & ~np.isnan(hit_b)
    common = np.intersect1d(cases_a[ok_a], cases_b[ok_b])
    in_a, in_b = ok_a & np.isin(cases_a, common), ok_b & np.isin(cases_b, common)

    def diff(counts):
        wa, wb = counts[np.searchsorted(common, cases_a[in_a])], counts[np.searchsorted(common, cases_b[in_b])]
        return (ece_reference(conf_a[in_a], hit_a[in_a], wa, n_bins)
                - ece_reference(conf_b[in_b], hit_b[in_b], wb, n_bins))

    reps = np.array([diff(c) for c in case_counts(common.size, n_boot, seed)])
    low, high = interval(reps, level)
    n_used, n_total = int(in_a.sum() + in_b.sum()), int(ok_a.sum() + ok_b.sum())
    assert n_used < n_total
    assert res == Coefficient(
        name="ece_difference", value=pytest.approx(diff(np.ones(common.size)), abs=TOL), status=STATUS_OK,
        n_items=n_used, n_ratings=n_used, n_items_total=n_total, n_ratings_total=n_total,
        ci_low=pytest.approx(low, abs=TOL), ci_high=pytest.approx(high, abs=TOL), ci_method=CI_CLUSTER,
        ci_level=level, n_boot=n_boot, seed=seed, extra={"n_bins": n_bins, "n_cases": common.size})


def test_ece_difference_defaults_and_edge_cases():
    a, b = ece_panel(1, 8, 40), ece_panel(2, 8, 40)
    assert ece_difference(a, b) == ece_difference(a, b, n_bins=10, n_boot=1000, seed=0, confidence_level=0.95)
    one = ece_difference(([0.2, 0.6], [0.0, 1.0], [1, 1]), ([0.9, 0.5], [1.0, nan], [1, 2]), n_boot=100)
    assert one == Coefficient(name="ece_difference", value=pytest.approx(0.3 - 0.1, abs=TOL), status=STATUS_OK,
                              n_items=3, n_ratings=3, n_items_total=3, n_ratings_total=3,
                              extra={"n_bins": 10, "n_cases": 1})
    none = ece_difference(([0.2], [1.0], [1]), ([0.3, 0.4], [0.0, 1.0], [2, 3]))
    assert none == Coefficient(name="ece_difference", value=None, status=STATUS_INSUFFICIENT, n_items=0,
                               n_ratings=0, n_items_total=3, n_ratings_total=3, extra={"reason": "empty"})


# --- two cases, one resample, the input forms -------------------------------------------------------

def test_two_cases_and_one_resample_give_an_interval_at_that_replicate():
    conditions, cases = ["x", "y", "x", "y"], [1, 1, 2, 2]
    a, b = np.array([1.0, 2, 1, 3]), np.array([2.0, 1, 1, 3])
    res = matched_rank_agreement(conditions, cases, a, b, n_boot=1, seed=4)
    *_, reps = rank_reference(conditions, cases, a, b, 1, 4, 0.95)
    for coef, key in ((res.kendall_tau_b, "kendall"), (res.spearman, "spearman")):
        assert np.isfinite(reps[key]).all()
        rep = pytest.approx(reps[key][0], abs=TOL)
        assert (coef.ci_low, coef.ci_high, coef.ci_method, coef.n_boot, coef.seed) == (rep, rep, CI_CLUSTER, 1, 4)

    d = np.array([1.0, 2.0, 4.0])
    diff = paired_difference(d, [1, 1, 2], n_boot=1, seed=4)
    w = case_counts(2, 1, 4)[0]
    rep = (w[0] * 1.5 + w[1] * 4.0) / 2
    rep = pytest.approx(rep, abs=1e-6)  # float32 resample weights
    assert (diff.ci_low, diff.ci_high, diff.ci_method, diff.n_boot, diff.seed) == (rep, rep, CI_CLUSTER, 1, 4)

    conf, hit, cases = np.array([0.2, 0.9, 0.6]), np.array([0.0, 0.0, 1.0]), np.array([1, 2, 2])
    ece = ece_clustered(conf, hit, cases, n_boot=1, seed=4)
    value, reps, *_ = replayed_ece(conf, hit, cases, 10, 1, 4)
    assert reps[0] != value  # one replicate, shifted by its own bias: the estimate
    assert (ece.ci_low, ece.ci_high, ece.ci_method, ece.n_boot) == (
        pytest.approx(value, abs=TOL), pytest.approx(value, abs=TOL), CI_CLUSTER_SHIFTED, 1)

    side = (conf, hit, cases)
    other = (np.array([0.5, 0.5]), np.array([1.0, 1.0]), np.array([1, 2]))
    gap = ece_difference(side, other, n_boot=1, seed=4)
    counts = case_counts(2, 1, 4)[0]
    rep = (ece_reference(conf, hit, counts[cases - 1], 10) - ece_reference(*other[:2], counts, 10))
    assert (gap.ci_low, gap.ci_high, gap.ci_method, gap.n_boot) == (pytest.approx(rep, abs=TOL),
                                                                    pytest.approx(rep, abs=TOL), CI_CLUSTER, 1)


def test_sign_matrices_are_kept_apart_by_size_and_seed():
    first, second = np.random.default_rng(0).normal(0.2, 1, 13), np.random.default_rng(1).normal(0.2, 1, 20)
    for means, n_perm, seed in ((first, 400, 1), (second, 300, 2), (first, 400, 3), (first, 400, 1)):
        assert sign_flip_pvalue(means, n_perm=n_perm, seed=seed)[0] == pytest.approx(
            sign_flip_reference(means, n_perm, seed)[0], abs=TOL)


@pytest.mark.parametrize("n", [5, 13])
def test_no_difference_at_all_has_p_value_one(n):
    assert sign_flip_pvalue(np.zeros(n), n_perm=200, seed=0)[0] == 1.0
    assert paired_difference(np.zeros(2 * n), np.repeat(np.arange(n), 2), n_boot=50).extra["p_value"] == 1.0


def test_none_is_a_missing_value_as_nan_is():
    conditions, cases = ["x", "y", "x", "y", "x"], [1, 1, 2, 2, 3]
    a, b = [1.0, 2.0, 1.0, None, 5.0], [2.0, 1.0, 3.0, 3.0, None]
    assert matched_rank_agreement(conditions, cases, a, b, n_boot=20) == matched_rank_agreement(
        conditions, cases, np.array(a, float), np.array(b, float), n_boot=20)
    swapped = matched_rank_agreement(conditions, cases, b, a, n_boot=20)
    assert swapped.n_rows == (2, 1) and swapped.mean_a == (2.5, 1.0)
    d = [0.5, None, 1.5, -1.0]
    assert paired_difference(d, [1, 1, 2, 3], n_boot=20) == paired_difference(np.array(d, float), [1, 1, 2, 3],
                                                                              n_boot=20)
    conf, hit, cases = [0.2, None, 0.7, 0.9], [1.0, 1.0, None, 0.0], [1, 2, 2, 3]
    assert ece_clustered(conf, hit, cases, n_boot=20).n_items == 2
    assert ece_clustered(hit, conf, cases, n_boot=20).n_items == 2
    assert ece_difference((conf, hit, cases), (hit, conf, cases), n_boot=20) == ece_difference(
        (np.array(conf, float), np.array(hit, float), cases), (np.array(hit, float), np.array(conf, float), cases),
        n_boot=20)


def test_condition_names_of_mixed_types_keep_their_values_ordered_by_text():
    res = matched_rank_agreement([1, "b", "a", 1, "b", "a"], [1, 1, 1, 2, 2, 2], np.array([1.0, 3, 2, 2, 4, 3]),
                                 np.array([1.0, 2, 3, 2, 3, 4]), n_boot=0)
    assert res.conditions == (1, "a", "b") and res.mean_a == (1.5, 2.5, 3.5) and res.mean_b == (1.5, 3.5, 2.5)
    assert (res.ranking_a, res.ranking_b) == (("b", "a", 1), ("a", "b", 1))
    tied = matched_rank_agreement([2, "a", 2, "a"], [1, 1, 2, 2], np.array([1.0, 1, 1, 1]), np.array([1.0, 2, 1, 2]))
    assert tied.ranking_a == (2, "a")  # equal means: in the order of the names' text


def test_sign_patterns_tied_with_the_observed_mean_count_as_hits():
    """1,502 cases at +0.7 and 1,498 at -0.7: a pattern's mean is 0.7 k / n for an even integer k, and the observed
    one has k = 4; every pattern with |k| >= 4 is a hit, ties included. Summed in float32 one tie fell short."""
    n, n_perm, seed = 3000, 1000, 5
    units = np.r_[np.ones(1502), -np.ones(1498)].astype(np.int64)
    signs = np.random.default_rng(seed).integers(0, 2, size=(n_perm, n), dtype=np.int8).astype(np.int64) * 2 - 1
    hits = int(np.count_nonzero(np.abs(signs @ units) >= 4))
    assert sign_flip_pvalue(0.7 * units, n_perm=n_perm, seed=seed) == ((1 + hits) / (1 + n_perm),
                                                                      "monte_carlo_sign_flip")


def test_panels_computed_together_are_those_computed_one_by_one():
    panels = [paired_panel(seed, n_cases) for seed, n_cases in ((1, 30), (2, 30), (3, 9), (4, 30), (5, 45))]
    panels.append((np.array([nan, nan]), [1, 2]))
    together = paired_differences(panels, n_boot=400, seed=7, confidence=0.9, name="x")
    for panel, coef in zip(panels, together, strict=True):
        alone = paired_difference(*panel, n_boot=400, seed=7, confidence=0.9, name="x")
        assert coef == replace(alone, ci_low=pytest.approx(alone.ci_low, abs=1e-6),
                               ci_high=pytest.approx(alone.ci_high, abs=1e-6)) if alone.ci_low is not None else alone
