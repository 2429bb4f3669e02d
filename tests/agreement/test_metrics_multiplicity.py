"""Holm and Benjamini-Hochberg adjustments against statsmodels ``multipletests``, and the n-weighted
average of pairwise kappas against a brute-force weighted mean and delete-one-item jackknife."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from agreement.metrics import adjust_pvalues, n_weighted_kappa_average, pairwise_cohen_kappa

from ._metrics_strategies import FAST, rating_matrices
from .test_metrics_kappa_average import literal_average

TOL = 1e-12


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from([0.01, 0.05, 0.1]))
@FAST
def test_matches_statsmodels_multipletests(p_values, alpha):
    for method, sm_method in (("holm", "holm"), ("bh", "fdr_bh")):
        res = adjust_pvalues(p_values, method=method, alpha=alpha)
        reject, adjusted, _, _ = multipletests(p_values, alpha=alpha, method=sm_method)
        np.testing.assert_allclose(res.adjusted, adjusted, atol=TOL)
        assert list(res.reject) == [bool(r) for r in reject]


def test_textbook_example_and_missing_values():
    # Benjamini & Hochberg (1995), section 4: 15 p-values; at q = 0.05 BH rejects the four smallest
    # and Bonferroni-type procedures (Holm) the three smallest
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
         0.6528, 0.7590, 1.0]
    assert sum(adjust_pvalues(p, method="bh").reject) == 4
    assert sum(adjust_pvalues(p, method="holm").reject) == 3
    res = adjust_pvalues([0.01, None, np.nan, 0.04], method="holm")
    assert (res.n_tests, res.n_missing) == (2, 2)
    assert res.adjusted == (0.02, None, None, 0.04) and res.reject == (True, None, None, True)
    assert adjust_pvalues([], method="bh").n_tests == 0
    with pytest.raises(ValueError):
        adjust_pvalues([1.5])
    with pytest.raises(ValueError):
        adjust_pvalues([0.5], method="bonferroni")


@given(rating_matrices(max_items=10, max_raters=4))
@FAST
def test_n_weighted_average_and_its_jackknife_match_brute_force(case):
    ratings, k = case
    res = n_weighted_kappa_average(ratings, labels=list(range(k)), weights="quadratic")
    expected = literal_average(ratings, k, "quadratic")
    if not res.ok:
        assert expected is None or res.status != "ok"
        return
    assert res.value == pytest.approx(expected, abs=1e-9)
    population = np.flatnonzero((~np.isnan(ratings)).sum(axis=1) >= 2)
    reps = [literal_average(np.delete(ratings, i, axis=0), k, "quadratic") for i in population]
    if res.se is None:
        assert population.size < 2 or any(r is None for r in reps)
        return
    reps = np.array(reps, float)
    m = reps.size
    assert res.se == pytest.approx(np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum()), abs=1e-9)


def test_equals_light_average_on_a_complete_design_and_differs_otherwise():
    rng = np.random.default_rng(8)
    ratings = np.clip(rng.integers(0, 3, (50, 1)) + rng.integers(-1, 2, (50, 4)), 0, 2).astype(float)
    light = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], n_boot=0).average
    weighted = n_weighted_kappa_average(ratings, labels=[0, 1, 2])
    assert weighted.value == pytest.approx(light.value, abs=1e-12)
    assert weighted.extra["light_average"] == pytest.approx(light.value, abs=1e-12)
    ratings[10:, 3] = np.nan  # rater 3 co-rates only 10 items with each colleague
    light = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], n_boot=0).average
    weighted = n_weighted_kappa_average(ratings, labels=[0, 1, 2])
    assert weighted.value != pytest.approx(light.value)
    assert weighted.ci_method == "jackknife_normal" and weighted.ci_low < weighted.value < weighted.ci_high
    empty = n_weighted_kappa_average(np.full((3, 2), np.nan), labels=[0, 1])
    assert empty.extra["reason"] == "empty" and empty.name == "n_weighted_average_cohen_kappa"


# --- pinned by mutation testing: defaults, validation, the whole result, rejection at alpha ------------

def test_adjust_pvalues_whole_result_defaults_and_validation():
    res = adjust_pvalues([0.025, None, 0.5, np.nan, 0.01])
    assert res == adjust_pvalues([0.025, None, 0.5, np.nan, 0.01], method="holm", alpha=0.05)
    assert (res.method, res.alpha, res.n_tests, res.n_missing) == ("holm", 0.05, 3, 2)
    assert res.p_values == (0.025, None, 0.5, None, 0.01)
    assert res.adjusted == (pytest.approx(0.05), None, 0.5, None, pytest.approx(0.03))
    assert res.reject == (True, None, False, None, True)  # adjusted p equal to alpha is rejected
    column = adjust_pvalues([[0.025], [0.5], [0.01]], method="bh", alpha=0.1)
    assert column == adjust_pvalues([0.025, 0.5, 0.01], method="bh", alpha=0.1)
    assert (column.method, column.alpha) == ("bh", 0.1)
    with pytest.raises(ValueError, match=r"^method must be one of \('holm', 'bh'\), not 'bonferroni'$"):
        adjust_pvalues([0.5], method="bonferroni")
    for alpha in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="^alpha must lie strictly between 0 and 1$"):
            adjust_pvalues([0.5], alpha=alpha)
    with pytest.raises(ValueError, match=r"^p-values must lie in \[0, 1\]$"):
        adjust_pvalues([0.5, -0.1])
