"""Krippendorff's alpha: Krippendorff's (2011) example with missing values at each level, the
``krippendorff`` package on random inputs (point estimate and the bootstrap statistic), and the
package's edge cases that we turn into statuses."""

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given

from agreement.metrics import STATUS_INSUFFICIENT, STATUS_NO_VARIATION, STATUS_OK, krippendorff_alpha
from agreement.metrics._pooled import PooledItems
from agreement.metrics.alpha import alpha_coefficient, alpha_from_coincidences

from ._metrics_strategies import FAST, rating_matrices
from .test_se_reference import replayed_item_bootstrap

TOL = 1e-9
nan = np.nan
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]).T - 1
LIKERT = [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("level", "published", "exact"),
    [("nominal", 0.743, 0.743421052631579), ("ordinal", 0.815, 0.8153875037548814),
     ("interval", 0.849, 0.8491071428571428)],
)
def test_krippendorff_2011_example_with_missing_values(level, published, exact):
    res = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level=level, n_boot=0)
    assert round(res.value, 3) == published
    assert res.value == pytest.approx(exact, abs=TOL)
    reference = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011.T + 1, value_domain=LIKERT,
                                   level_of_measurement=level)
    assert res.value == pytest.approx(reference, abs=TOL)
    assert (res.n_items, res.n_ratings, res.n_items_total, res.n_ratings_total) == (11, 40, 12, 41)


def test_bootstrap_se_of_the_example_is_close_to_the_published_one():
    res = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level="nominal", n_boot=4000, seed=0)
    assert res.se == pytest.approx(0.144, abs=0.01)  # research notes: 0.144 (B = 4000), irrCAC analytic 0.146
    assert res.ci_high == 1.0 and res.ci_low == pytest.approx(0.41, abs=0.03)
    assert res.extra["se_method"] == "bootstrap"


@FAST
@given(rating_matrices())
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_matches_krippendorff_package_and_bootstrap_statistic(level, data):
    ratings, k = data
    res = krippendorff_alpha(ratings, labels=list(range(k)), level=level, n_boot=0)
    pairable = (~np.isnan(ratings)).sum(axis=1) >= 2
    values = ratings[pairable][~np.isnan(ratings[pairable])]
    if (~np.isnan(ratings)).any(axis=0).sum() < 2 or not pairable.any():
        assert res.status == STATUS_INSUFFICIENT
        return
    if np.unique(values).size < 2:
        assert res.status == STATUS_NO_VARIATION and res.value is None
        assert res.extra["percent_agreement"] == 1.0
        return
    expected = krippendorff.alpha(reliability_data=ratings.T, value_domain=list(range(k)), level_of_measurement=level)
    assert res.status == STATUS_OK
    assert res.value == pytest.approx(expected, abs=TOL)
    # the bootstrap replicates use our own formula: at unit weights it must be the package's value
    items = PooledItems(ratings, k)
    assert alpha_from_coincidences(items.coincidences(items.sums()), level) == pytest.approx(expected, abs=TOL)


def test_unused_category_matches_package_on_the_declared_domain():
    ratings = np.array([[0, 0], [1, 1], [4, 4], [0, 1], [4, 1], [1, 0]], float)
    for level in ("ordinal", "interval"):
        ours = krippendorff_alpha(ratings, labels=LIKERT, level=level, n_boot=0).value
        declared = krippendorff.alpha(reliability_data=ratings.T, value_domain=range(5), level_of_measurement=level)
        assert ours == pytest.approx(declared, abs=TOL)
    observed_only = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement="interval")
    assert krippendorff_alpha(ratings, labels=LIKERT, level="interval", n_boot=0).value == pytest.approx(observed_only)


def test_package_issue_9_single_pairable_unit_that_agrees_is_no_variation_not_nan():
    # alpha([[0,1,0,1],[0,nan,nan,nan]], "nominal") is NaN with a RuntimeWarning in the package
    ratings = np.array([[0, 1, 0, 1], [0, nan, nan, nan]]).T
    res = krippendorff_alpha(ratings, labels=[0, 1], n_boot=0)
    assert res.status == STATUS_NO_VARIATION and res.value is None and res.n_items == 1


def test_package_issue_27_total_disagreement_is_minus_one_half():
    res = krippendorff_alpha(np.array([[0, 1], [1, 0]], float), labels=["A", "B"], n_boot=0)
    assert res.value == pytest.approx(-0.5, abs=TOL)


def test_one_declared_category_is_no_variation_instead_of_the_package_error():
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(reliability_data=[[0, 0], [0, 0]], level_of_measurement="nominal")
    res = krippendorff_alpha(np.zeros((2, 2)), labels=["only"], n_boot=10)
    assert res.status == STATUS_NO_VARIATION and res.value is None


def test_unknown_level_is_rejected():
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level="cardinal")


def test_ratio_level_on_krippendorff_2011_example():
    # 0.797 for the ratio metric: Krippendorff (2011), p. 8, as quoted by the krippendorff package's doctest
    res = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level="ratio", n_boot=0)
    assert round(res.value, 3) == 0.797
    reference = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011.T + 1, value_domain=LIKERT,
                                   level_of_measurement="ratio")
    assert res.value == pytest.approx(reference, abs=TOL)
    assert res.extra["level"] == "ratio"


@given(rating_matrices())
@FAST
def test_ratio_level_matches_the_package_and_its_bootstrap_statistic(case):
    ratings, k = case
    values = [0, 1, 2, 5, 10][:k]
    res = krippendorff_alpha(ratings, labels=values, level="ratio", n_boot=0)
    if res.status != STATUS_OK:
        return
    items = PooledItems(ratings, k)
    reference = krippendorff.alpha(value_counts=items.counts[items.pairable], value_domain=values,
                                   level_of_measurement="ratio")
    assert res.value == pytest.approx(reference, abs=TOL)
    again = alpha_from_coincidences(items.coincidences(items.sums()), "ratio", np.asarray(values, float))
    assert again == pytest.approx(res.value, abs=TOL)


def test_ratio_level_needs_numeric_labels_from_zero_up():
    with pytest.raises(ValueError, match="numeric"):
        krippendorff_alpha(KRIPPENDORFF_2011, labels=["a", "b", "c", "d", "e"], level="ratio")
    with pytest.raises(ValueError, match=">= 0"):
        krippendorff_alpha(KRIPPENDORFF_2011, labels=[-2, -1, 0, 1, 2], level="ratio")


def package_alpha(rows, k, level, domain=None):
    """The ``krippendorff`` package on the items of ``rows`` with two or more ratings; NaN where it has no value."""
    counts = np.stack([(rows == c).sum(axis=1) for c in range(k)], axis=1)
    counts = counts[counts.sum(axis=1) >= 2]
    if (counts.sum(axis=0) > 0).sum() < 2:
        return nan
    return krippendorff.alpha(value_counts=counts, value_domain=list(range(k)) if domain is None else domain,
                              level_of_measurement=level)


@pytest.mark.parametrize(("level", "labels", "n_boot", "seed", "confidence"), [
    ("ordinal", LIKERT, 150, 3, 0.9),
    ("ratio", [10, 11, 12, 14, 20], 150, 5, 0.95),  # close values: expected disagreements below 1
    ("nominal", LIKERT, 2, 0, 0.95),  # two replicates: the smallest bootstrap with an SE
])
def test_whole_bootstrap_result_equals_the_replayed_bootstrap(level, labels, n_boot, seed, confidence):
    domain = labels if level == "ratio" else None
    reps, (low, high) = replayed_item_bootstrap(KRIPPENDORFF_2011, n_boot, seed,
                                                lambda rows: package_alpha(rows, 5, level, domain), confidence)
    finite = reps[np.isfinite(reps)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = krippendorff_alpha(KRIPPENDORFF_2011, labels=labels, level=level, n_boot=n_boot, seed=seed,
                                 confidence=confidence)
    assert res.to_dict() == {
        "name": f"krippendorff_alpha_{level}", "status": STATUS_OK,
        "value": pytest.approx(package_alpha(KRIPPENDORFF_2011, 5, level, domain), abs=TOL),
        "n_items": 11, "n_ratings": 40, "n_items_total": 12, "n_ratings_total": 41,
        "se": pytest.approx(np.std(finite, ddof=1), abs=1e-9), "ci_low": pytest.approx(low, abs=1e-9),
        "ci_high": pytest.approx(high, abs=1e-9), "ci_method": "bootstrap_percentile", "ci_level": confidence,
        "n_boot": n_boot, "seed": seed, "warnings": [],
        "extra": {"level": level, "n_boot_undefined": int(reps.size - finite.size), "se_method": "bootstrap"},
    }


def test_one_replicate_has_an_interval_but_no_se_and_no_bootstrap_has_neither():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, n_boot=1, seed=4)
    reps, _ = replayed_item_bootstrap(KRIPPENDORFF_2011, 1, 4, lambda rows: package_alpha(rows, 5, "nominal"))
    assert one.se is None and one.ci_low == one.ci_high == pytest.approx(reps[0], abs=TOL) and one.seed == 4
    none = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level="interval", n_boot=0)
    assert none.to_dict() == {
        "name": "krippendorff_alpha_interval", "status": STATUS_OK, "value": pytest.approx(0.8491071428571428, abs=TOL),
        "n_items": 11, "n_ratings": 40, "n_items_total": 12, "n_ratings_total": 41, "se": None, "ci_low": None,
        "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"level": "interval"},
    }


def test_defaults_are_nominal_with_a_thousand_resamples_and_seed_zero():
    res = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT)
    same = krippendorff_alpha(KRIPPENDORFF_2011, labels=LIKERT, level="nominal", n_boot=1000, seed=0, confidence=0.95)
    assert res.to_dict() == same.to_dict() and (res.n_boot, res.seed) == (1000, 0)


def test_insufficient_and_no_variation_results_are_named_by_level():
    res = krippendorff_alpha(np.array([[0, nan], [nan, 1]]), labels=[0, 1], level="ordinal", n_boot=0)
    assert (res.name, res.extra, res.n_items_total, res.n_ratings_total) == (
        "krippendorff_alpha_ordinal", {"reason": "no_pairable_item"}, 2, 2)
    same = krippendorff_alpha(np.array([[1, 1], [1, nan], [1, 1]]), labels=[0, 1], level="interval", n_boot=5)
    assert same.to_dict() == {
        "name": "krippendorff_alpha_interval", "value": None, "status": STATUS_NO_VARIATION, "n_items": 2,
        "n_ratings": 4, "n_items_total": 3, "n_ratings_total": 5, "se": None, "ci_low": None, "ci_high": None,
        "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": ["small_n"],
        "extra": {"percent_agreement": 1.0},
    }


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_from_coincidences_keeps_the_leading_axes(level):
    values = np.array([10.0, 11, 12, 14, 20])
    items = PooledItems(KRIPPENDORFF_2011, 5)
    single = items.coincidences(items.sums())
    expected = package_alpha(KRIPPENDORFF_2011, 5, level, values.tolist() if level == "ratio" else None)
    one = alpha_from_coincidences(single, level, values)
    assert np.shape(one) == () and one == pytest.approx(expected, abs=TOL)
    stacked = np.stack([np.stack([single, single * 2, single]), np.stack([single] * 3)])  # (2, 3, K, K)
    many = alpha_from_coincidences(stacked, level, values)
    assert many.shape == (2, 3) and np.isfinite(many).all()
    np.testing.assert_allclose(many[1], expected, atol=TOL)
    # one ratio coincidence matrix whose expected disagreement is far below 1 (values 10 and 11)
    tiny = np.array([[0, 1], [1, 0]], float)
    assert alpha_from_coincidences(tiny, "ratio", values[:2]) == pytest.approx(
        krippendorff.alpha(value_counts=[[1, 1]], value_domain=[10, 11], level_of_measurement="ratio"), abs=TOL)


def test_alpha_coefficient_validates_the_level_and_the_ratio_values():
    items = PooledItems(KRIPPENDORFF_2011, 5)
    options = {"n_boot": 0, "seed": 0, "confidence": 0.95}
    with pytest.raises(ValueError, match=r"^level must be one of \('nominal', 'ordinal', 'interval', 'ratio'\), "
                                         r"not 'cardinal'$"):
        alpha_coefficient(items, "cardinal", **options)
    for values in (None, np.arange(4.0)):
        with pytest.raises(ValueError, match="^the ratio level needs the labels' numeric values$"):
            alpha_coefficient(items, "ratio", values=values, **options)


def test_ratio_label_messages():
    with pytest.raises(ValueError, match=r"^the ratio level needs numeric labels \(the values themselves, with an "
                                         r"absolute zero\)$"):
        krippendorff_alpha(KRIPPENDORFF_2011, labels=["a", "b", "c", "d", "e"], level="ratio")
    for labels in ([-2, -1, 0, 1, 2], [0, 1, 1, 2, 3], [0, 1, 2, 3, np.inf]):
        with pytest.raises(ValueError, match="^ratio labels must be distinct finite numbers >= 0$"):
            krippendorff_alpha(KRIPPENDORFF_2011, labels=labels, level="ratio")


def test_resamples_without_variation_are_undefined_and_counted_without_warnings():
    ratings = np.array([[0, 0], [0, 0], [0, 0], [1, 0], [0, 0], [1, 1]], float)
    reps, (low, high) = replayed_item_bootstrap(ratings, 200, 2, lambda rows: package_alpha(rows, 2, "nominal"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = krippendorff_alpha(ratings, labels=[0, 1], n_boot=200, seed=2)
    assert res.extra["n_boot_undefined"] == np.isnan(reps).sum() > 0
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
