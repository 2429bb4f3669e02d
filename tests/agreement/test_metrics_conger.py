"""Conger's kappa: irrCAC 0.4.4 reference values (with missing data and weights), Cohen's kappa for two
raters (scikit-learn), the mean of pairwise Cohen chance agreements written out, and edge cases.

irrCAC pins scipy==1.12 and cannot share this environment, so its values were computed once in a
separate virtual environment (``CAC(pd.DataFrame(m), categories=..., weights=..., digits=10).conger()``)
and are quoted here to 10 digits.
"""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import STATUS_NO_VARIATION, STATUS_OK, conger_kappa
from agreement.metrics._core import agreement_weights, category_counts

from ._metrics_strategies import FAST, rating_matrices
from .test_metrics_multirater import IRR_MATRIX, KRIPPENDORFF_2011

TOL = 1e-9
IRR_TOL = 1e-9
# (kappa, se, p_a, p_e, ci_low, ci_high) from irrCAC 0.4.4
IRR_CONGER = {
    ("irr", None): (-0.0652803847, 0.0603992174, 0.2025641026, 0.2514309764, -0.1968789744, 0.0663182049),
    ("irr", "linear"): (-0.1251413565, 0.0707938897, 0.4846153846, 0.5419378975, -0.2793879916, 0.0291052786),
    ("irr", "quadratic"): (-0.161387632, 0.0927684942, 0.6111111111, 0.6651515152, -0.3635128174, 0.0407375534),
    ("kripp", None): (0.7620668937, 0.1501087951, 0.8181818182, 0.2358432813, 0.4316796633, 1.0),
    ("kripp", "linear"): (0.8131370328, 0.1458681969, 0.9393939394, 0.6756657484, 0.4920832961, 1.0),
    ("kripp", "quadratic"): (0.8571682241, 0.1443607914, 0.9753787879, 0.827620906, 0.5394322646, 1.0),
}
DATA = {"irr": (IRR_MATRIX, 4), "kripp": (KRIPPENDORFF_2011, 5)}


@pytest.mark.parametrize(("data", "weights"), list(IRR_CONGER))
def test_matches_irrcac_with_missing_data_and_weights(data, weights):
    ratings, k = DATA[data]
    res = conger_kappa(ratings, labels=list(range(k)), weights=weights, n_boot=0)
    value, se, pa, pe, low, high = IRR_CONGER[(data, weights)]
    assert res.value == pytest.approx(value, abs=IRR_TOL)
    assert res.se == pytest.approx(se, abs=IRR_TOL)
    assert res.extra["p_a"] == pytest.approx(pa, abs=IRR_TOL)
    assert res.extra["p_e"] == pytest.approx(pe, abs=IRR_TOL)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=IRR_TOL), pytest.approx(high, abs=IRR_TOL))
    assert res.ci_method == "t"


def brute_force_conger(ratings, k, weights):
    """Fleiss's p_a and the mean over ordered rater pairs of each pair's Cohen chance agreement."""
    w = agreement_weights(k, weights)
    x = ratings[~np.isnan(ratings).all(axis=1)][:, ~np.isnan(ratings).all(axis=0)]
    counts = category_counts(x, k).astype(float)
    r_i = counts.sum(axis=1)
    pa_items = [(c * (w @ c - 1)).sum() / (r * (r - 1)) for c, r in zip(counts, r_i, strict=True) if r >= 2]
    marginals = [np.bincount(col[~np.isnan(col)].astype(int), minlength=k) / np.sum(~np.isnan(col)) for col in x.T]
    pe = np.mean([marginals[g] @ w @ marginals[h] for g, h in itertools.permutations(range(x.shape[1]), 2)])
    return (np.mean(pa_items) - pe) / (1 - pe)


@given(rating_matrices(max_raters=5))
@FAST
def test_random_matrices_match_the_pairwise_chance_agreement_definition(case):
    ratings, k = case
    for weights in (None, "quadratic"):
        res = conger_kappa(ratings, labels=list(range(k)), weights=weights, n_boot=0)
        if res.status == STATUS_OK:
            assert res.value == pytest.approx(brute_force_conger(ratings, k, weights), abs=TOL)


@given(rating_matrices(min_raters=2, max_raters=2, complete=True))
@FAST
def test_two_raters_equal_cohen_kappa(case):
    ratings, k = case
    for weights in (None, "linear", "quadratic"):
        res = conger_kappa(ratings, labels=list(range(k)), weights=weights, n_boot=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cohen_kappa_score(ratings[:, 0], ratings[:, 1], labels=list(range(k)), weights=weights)
        if res.status == STATUS_OK:
            assert res.value == pytest.approx(expected, abs=TOL)
        else:
            assert res.status == STATUS_NO_VARIATION


def test_bootstrap_interval_and_edge_cases():
    ratings, k = DATA["kripp"]
    boot = conger_kappa(ratings, labels=list(range(k)), n_boot=300, seed=1)
    assert boot.ci_method == "bootstrap_percentile" and boot.ci_low < boot.value < boot.ci_high
    assert boot.to_dict() == conger_kappa(ratings, labels=list(range(k)), n_boot=300, seed=1).to_dict()
    same = conger_kappa(np.zeros((4, 3)), labels=["a", "b"], n_boot=0)
    assert same.status == STATUS_NO_VARIATION and same.extra["percent_agreement"] == 1.0
    unpaired = conger_kappa(np.array([[0.0, np.nan], [np.nan, 1.0]]), labels=["a", "b"])
    assert unpaired.extra["reason"] == "no_pairable_item"
    custom = conger_kappa(ratings, labels=list(range(k)), weights=agreement_weights(k, "linear"), n_boot=0)
    assert custom.name == "conger_kappa_custom"
    assert custom.value == pytest.approx(IRR_CONGER[("kripp", "linear")][0], abs=IRR_TOL)
