"""The report's case-clustered helpers against brute force: matched rankings, paired effects, ECE, kappa averages."""
import itertools

import numpy as np
import pytest
from scipy import stats

from agreement import metrics
from agreement.metrics.clustered import (
    ece_clustered,
    ece_difference,
    exact_tau_pvalue,
    matched_rank_agreement,
    paired_difference,
    sign_flip_pvalue,
)
from agreement.metrics.kappa_bootstrap import pairwise_average_with_matrix, two_way_bootstrap_average


def test_matched_ranking_uses_only_rows_both_sides_scored():
    conditions = ["a", "a", "b", "b", "c", "c", "a"]
    cases = [1, 2, 1, 2, 1, 2, 3]
    clin = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 100.0])
    judge = np.array([2.0, 2.0, 1.0, np.nan, 3.0, 3.0, np.nan])  # the judge left two rows unscored
    r = matched_rank_agreement(conditions, cases, clin, judge, n_boot=200, seed=1)
    # a: rows 0, 1 (row 6 unmatched); b: row 2 only; c: rows 4, 5
    assert r.mean_a == pytest.approx((1.5, 3.0, 7.0)) and r.mean_b == pytest.approx((2.0, 1.0, 3.0))
    assert r.n_rows == (2, 1, 2)
    assert r.kendall_tau_b.value == pytest.approx(stats.kendalltau([1.5, 3, 7], [2, 1, 3]).statistic)
    assert r.spearman.value == pytest.approx(stats.spearmanr([1.5, 3, 7], [2, 1, 3]).statistic)
    assert r.ranking_a == ("c", "b", "a") and r.ranking_b == ("c", "a", "b")
    assert r.rbo.value == pytest.approx(metrics.rank_biased_overlap(["c", "b", "a"], ["c", "a", "b"]).value)
    assert r.kendall_tau_b.ci_method == "case_cluster_bootstrap_percentile"
    assert r.kendall_tau_b.extra["p_method"] == "exact_permutation"


def test_exact_tau_pvalue_counts_every_permutation():
    x, y = np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 3, 5, 4])
    observed = abs(stats.kendalltau(x, y).statistic)
    taus = [abs(stats.kendalltau(x, p).statistic) for p in itertools.permutations(y)]
    assert exact_tau_pvalue(x, y) == pytest.approx(np.mean(np.array(taus) >= observed - 1e-12))
    # Without ties the exact null distribution is scipy's exact one.
    assert exact_tau_pvalue(x, y) == pytest.approx(stats.kendalltau(x, y, method="exact").pvalue)


def test_paired_difference_averages_per_case_then_over_cases():
    diffs = np.array([1.0, 3.0, -1.0, 0.5, np.nan])
    cases = np.array([7, 7, 8, 9, 9])
    c = paired_difference(diffs, cases, n_boot=500, seed=2)
    assert c.value == pytest.approx(np.mean([2.0, -1.0, 0.5]))
    assert c.extra["n_cases"] == 3 and c.extra["n_pairs"] == 4
    assert c.ci_low <= c.value <= c.ci_high and c.ci_method == "case_cluster_bootstrap_percentile"
    signs = np.array(list(itertools.product((1, -1), repeat=3)))
    brute = np.mean(np.abs(signs @ np.array([2.0, -1.0, 0.5])) / 3 >= abs(np.mean([2.0, -1.0, 0.5])) - 1e-12)
    assert c.extra["p_value"] == pytest.approx(brute) and c.extra["p_method"] == "exact_sign_flip"


def test_sign_flip_monte_carlo_for_many_cases_is_close_to_the_t_test():
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 1, size=60)
    p, method = sign_flip_pvalue(x, n_perm=20_000, seed=1)
    assert method == "monte_carlo_sign_flip"
    assert p == pytest.approx(stats.ttest_1samp(x, 0).pvalue, abs=0.02)


def test_ece_equals_the_calibration_function_and_differences_pair_cases():
    rng = np.random.default_rng(3)
    conf = rng.uniform(0, 1, 200)
    hit = (rng.uniform(0, 1, 200) < conf).astype(float)
    cases = rng.integers(0, 40, 200)
    c = ece_clustered(conf, hit, cases, n_boot=300, seed=4)
    assert c.value == pytest.approx(metrics.calibration(conf, hit).ece.value, abs=1e-12)
    # Resampled ECEs are biased upwards (here all lie above the estimate): the interval is shifted back.
    assert 0 <= c.ci_low <= c.value <= c.ci_high and c.ci_method == "case_cluster_bootstrap_bias_shifted"
    a = (conf[:100], hit[:100], cases[:100])
    b = (conf[100:], hit[100:], cases[100:])
    d = ece_difference(a, b, n_boot=300, seed=4)
    common = np.intersect1d(cases[:100], cases[100:])
    ka, kb = np.isin(cases[:100], common), np.isin(cases[100:], common)
    expected = (metrics.calibration(conf[:100][ka], hit[:100][ka]).ece.value
                - metrics.calibration(conf[100:][kb], hit[100:][kb]).ece.value)
    assert d.value == pytest.approx(expected, abs=1e-12) and d.extra["n_cases"] == common.size


def test_two_way_bootstrap_keeps_lights_average_and_widens_with_rater_spread():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 80)
    ratings = np.column_stack([np.where(rng.uniform(size=80) < q, truth, rng.integers(0, 3, 80))
                               for q in (0.9, 0.9, 0.5, 0.2)]).astype(float)
    light = metrics.pairwise_cohen_kappa(ratings, labels=[0, 1, 2], n_boot=0).average
    two_way = two_way_bootstrap_average(ratings, labels=[0, 1, 2], n_boot=300, seed=1)
    assert two_way.value == pytest.approx(light.value)
    assert two_way.ci_method == "two_way_bootstrap_percentile"
    assert two_way.ci_high - two_way.ci_low > light.ci_high - light.ci_low


def test_pairwise_kappa_with_a_weight_matrix_equals_the_two_rater_function():
    rng = np.random.default_rng(6)
    ratings = rng.integers(0, 3, (50, 3)).astype(float)
    ratings[rng.uniform(size=(50, 3)) < 0.2] = np.nan
    matrix = [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]]
    out = pairwise_average_with_matrix(ratings, labels=["a", "b", "c"], matrix=matrix, rater_ids=["x", "y", "z"])
    expected = [metrics.weighted_cohen_kappa(ratings[:, i], ratings[:, j], labels=["a", "b", "c"], weights=matrix,
                                             n_boot=0).value for i, j in ((0, 1), (0, 2), (1, 2))]
    assert [p["kappa"] for p in out["pairs"]] == pytest.approx(expected)
    assert out["average"] == pytest.approx(np.mean(expected))
    # The linear matrix on three levels gives the built-in linear weights.
    linear = metrics.pairwise_cohen_kappa(ratings, labels=[0, 1, 2], weights="linear", n_boot=0).average.value
    assert out["average"] == pytest.approx(linear)
