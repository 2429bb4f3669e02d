"""Krippendorff's alpha: Krippendorff's (2011) example with missing values at each level, the
``krippendorff`` package on random inputs (point estimate and the bootstrap statistic), and the
package's edge cases that we turn into statuses."""

import krippendorff
import numpy as np
import pytest
from hypothesis import given

from agreement.metrics import STATUS_INSUFFICIENT, STATUS_NO_VARIATION, STATUS_OK, krippendorff_alpha
from agreement.metrics._pooled import PooledItems
from agreement.metrics.alpha import alpha_from_coincidences

from ._metrics_strategies import FAST, rating_matrices

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
