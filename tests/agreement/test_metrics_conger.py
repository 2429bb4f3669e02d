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
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import STATUS_NO_VARIATION, STATUS_OK, conger_kappa
from agreement.metrics._core import agreement_weights, category_counts

from ._metrics_strategies import FAST, rating_matrices
from .test_metrics_multirater import IRR_MATRIX, KRIPPENDORFF_2011
from .test_se_reference import replayed_item_bootstrap

TOL = 1e-9
IRR_TOL = 1e-9
nan = np.nan
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


def loop_linearisation_se(ratings, k, weights):
    """Gwet's linearisation SE of Conger's kappa (irrCAC ``conger``, f = 0) written item by item and rater
    by rater; checked against irrCAC's published values below before it serves as a reference."""
    w = agreement_weights(k, weights) if weights is None or isinstance(weights, str) else np.asarray(weights)
    x = ratings[~np.isnan(ratings).all(axis=1)][:, ~np.isnan(ratings).all(axis=0)]
    n, r = x.shape
    counts = category_counts(x, k).astype(float)
    r_i = counts.sum(axis=1)
    pa_i = np.array([(c * (w @ c - 1)).sum() / (ri * (ri - 1)) if ri >= 2 else 0.0
                     for c, ri in zip(counts, r_i, strict=True)])
    n2 = int((r_i >= 2).sum())
    ng = np.array([np.sum(~np.isnan(col)) for col in x.T])
    p = np.array([np.bincount(col[~np.isnan(col)].astype(int), minlength=k) / m
                  for col, m in zip(x.T, ng, strict=True)])
    pe = np.mean([p[g] @ w @ p[h] for g, h in itertools.permutations(range(r), 2)])
    kappa = (pa_i.sum() / n2 - pe) / (1 - pe)
    dev = []
    for i in range(n):
        pe_i = 0.0
        for g in range(r):
            others = p.sum(axis=0) - p[g]
            own = others @ w @ p[g]  # rater g's chance agreement with the others
            rated = not np.isnan(x[i, g])
            hit = others @ w[:, int(x[i, g])] if rated else 0.0
            pe_i += n / ng[g] * (hit - (rated - ng[g] / n) * own)
        pe_i /= r * (r - 1)
        kappa_i = n / n2 * (pa_i[i] - pe * (r_i[i] >= 2)) / (1 - pe)
        dev.append(kappa_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe) - kappa)
    return float(np.sqrt(np.sum(np.square(dev)) / (n * (n - 1))))


@pytest.mark.parametrize(("data", "weights"), list(IRR_CONGER))
def test_loop_linearisation_se_reproduces_irrcac(data, weights):
    ratings, k = DATA[data]
    assert loop_linearisation_se(ratings, k, weights) == pytest.approx(IRR_CONGER[(data, weights)][1], abs=IRR_TOL)


@pytest.mark.parametrize("ratings", [
    [[0, 1, 1], [1, 1, 0]],  # two items: the smallest sample with an SE (t with 1 degree of freedom)
    [[0, 0, nan], [1, 1, nan], [2, 1, 2], [1, 1, nan]],  # the third rater rated one item only
], ids=["two_items", "one_rating_rater"])
def test_small_samples_match_the_loop_se_and_the_pairwise_definition(ratings):
    ratings = np.array(ratings, float)
    res = conger_kappa(ratings, labels=[0, 1, 2], n_boot=0)
    assert res.value == pytest.approx(brute_force_conger(ratings, 3, None), abs=TOL)
    se = loop_linearisation_se(ratings, 3, None)
    assert res.se == pytest.approx(se, abs=TOL)
    t = stats.t.ppf(0.975, df=ratings.shape[0] - 1)
    assert (res.ci_low, res.ci_high) == (pytest.approx(res.value - t * se, abs=TOL),
                                         pytest.approx(min(1.0, res.value + t * se), abs=TOL))


def expected_sizes(ratings):
    rated = ~np.isnan(ratings)
    pairable = rated.sum(axis=1) >= 2
    return {"n_items": int(pairable.sum()), "n_ratings": int(rated[pairable].sum()),
            "n_items_total": ratings.shape[0], "n_ratings_total": int(rated.sum())}


@pytest.mark.parametrize(("weights", "suffix"), [(None, ""), ("linear", "_linear"), ("custom", "_custom")])
def test_whole_result_with_the_t_interval(weights, suffix):
    ratings, k = DATA["kripp"]  # item 6 is rated 1, 2, 3, 4: pairable, with no agreeing pair
    given = agreement_weights(k, "quadratic") if weights == "custom" else weights
    value, se, pa, pe, low, high = IRR_CONGER[("kripp", "quadratic" if weights == "custom" else weights)]
    res = conger_kappa(ratings, labels=list(range(k)), weights=given, n_boot=0)
    approx = {key: pytest.approx(v, abs=IRR_TOL) for key, v in (("value", value), ("se", se), ("ci_low", low))}
    assert res.to_dict() == {
        "name": "conger_kappa" + suffix, "status": STATUS_OK, **expected_sizes(ratings), **approx, "ci_high": 1.0,
        "ci_method": "t", "ci_level": 0.95, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"se_method": "gwet_linearisation", "p_a": pytest.approx(pa, abs=IRR_TOL),
                  "p_e": pytest.approx(pe, abs=IRR_TOL), "n_raters": 4, "weights": suffix[1:] or None},
    }
    assert expected_sizes(ratings)["n_ratings"] == 40  # the item without agreement counts


def test_defaults_are_a_thousand_resamples_with_seed_zero():
    ratings, k = DATA["kripp"]
    res = conger_kappa(ratings, labels=list(range(k)))
    assert res.to_dict() == conger_kappa(ratings, labels=list(range(k)), n_boot=1000, seed=0).to_dict()
    assert (res.n_boot, res.seed, res.ci_method) == (1000, 0, "bootstrap_percentile")


def replayed_conger(rows):
    """Conger's kappa of one resample by the pairwise definition; NaN where a rater of the data has no
    rating in it (no marginals), no item is pairable, or chance agreement is 1."""
    rated = ~np.isnan(rows)
    if not rated.any(axis=0).all() or not (rated.sum(axis=1) >= 2).any():
        return np.nan
    counts = category_counts(rows, 3)
    if (counts.sum(axis=0) == counts.sum()).any():  # one category only
        return np.nan
    return brute_force_conger(rows, 3, None)


# the fourth rater rated two items: many resamples miss both, which leaves Conger's kappa undefined
RARE_RATER = np.array([[0, 0, 1, 0], [1, 1, 1, nan], [2, 2, 1, nan], [0, 1, 0, nan], [2, 2, 2, 2], [1, 0, 1, nan],
                       [0, 0, 0, nan], [1, 2, 2, nan], [2, 2, nan, nan], [0, nan, 0, nan], [1, 1, 1, nan]], float)


@pytest.mark.parametrize(("n_boot", "seed", "confidence"), [(200, 4, 0.9), (1, 0, 0.95)])
def test_bootstrap_equals_the_replayed_bootstrap_and_counts_undefined_resamples(n_boot, seed, confidence):
    reps, (low, high) = replayed_item_bootstrap(RARE_RATER, n_boot, seed, replayed_conger, confidence)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined resamples raise no numpy warning
        res = conger_kappa(RARE_RATER, labels=[0, 1, 2], n_boot=n_boot, seed=seed, confidence=confidence)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    undefined = int(np.isnan(reps).sum())
    assert res.extra["n_boot_undefined"] == undefined and (undefined > 0) == (n_boot > 1)
    assert (res.ci_method, res.ci_level, res.n_boot, res.seed) == ("bootstrap_percentile", confidence, n_boot, seed)
    assert res.se == pytest.approx(loop_linearisation_se(RARE_RATER, 3, None), abs=TOL)


def test_perfect_agreement_has_a_zero_se_and_a_point_interval():
    res = conger_kappa(np.array([[0, 0], [1, 1], [1, 1]], float), labels=[0, 1], n_boot=0)
    assert (res.value, res.se, res.ci_low, res.ci_high, res.ci_method) == (1.0, 0.0, 1.0, 1.0, "t")
    assert res.warnings == ("small_n",)


def test_one_pairable_item_has_no_interval():
    res = conger_kappa(np.array([[0, 1]], float), labels=[0, 1], n_boot=0)
    assert res.to_dict() == {
        "name": "conger_kappa", "value": 0.0, "status": STATUS_OK, "n_items": 1, "n_ratings": 2, "n_items_total": 1,
        "n_ratings_total": 2, "se": None, "ci_low": None, "ci_high": None, "ci_method": None, "ci_level": None,
        "n_boot": 0, "seed": None, "warnings": ["small_n"],
        "extra": {"se_method": "gwet_linearisation", "p_a": 0.0, "p_e": 0.0, "n_raters": 2, "weights": None},
    }


def test_chance_agreement_of_one_up_to_rounding_is_no_variation_without_warnings():
    # categories 0 and 1 fully credit each other: chance agreement is 1, computed as 1 - 4e-16
    w = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = conger_kappa(np.array([[0, 0], [1, 0], [0, 0]], float), labels=[0, 1, 2], weights=w, n_boot=0)
        same = conger_kappa(np.zeros((4, 3)), labels=["a", "b"], n_boot=0)
    assert res.to_dict() == {
        "name": "conger_kappa_custom", "value": None, "status": STATUS_NO_VARIATION, "n_items": 3, "n_ratings": 6,
        "n_items_total": 3, "n_ratings_total": 6, "se": None, "ci_low": None, "ci_high": None, "ci_method": None,
        "ci_level": None, "n_boot": 0, "seed": None, "warnings": ["small_n"], "extra": {"percent_agreement": 2 / 3},
    }
    assert same.name == "conger_kappa" and same.status == STATUS_NO_VARIATION


def test_insufficient_data_keeps_the_name_and_the_totals():
    res = conger_kappa(np.array([[0.0, nan, nan], [nan, 1.0, nan]]), labels=["a", "b"], weights="quadratic")
    assert res.to_dict() == {
        "name": "conger_kappa_quadratic", "value": None, "status": "insufficient_data", "n_items": 0,
        "n_ratings": 0, "n_items_total": 2, "n_ratings_total": 2, "se": None, "ci_low": None, "ci_high": None,
        "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"reason": "no_pairable_item"},
    }
