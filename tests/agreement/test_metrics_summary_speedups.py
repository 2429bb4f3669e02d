"""The report's shortcuts against the definitions they replace: the t interval against scipy's, the average
pairwise kappa without per-pair results against the one with them, and its pair counts and spread against
those taken from the listed pairs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agreement.metrics import agreement_summary, conger_kappa, fleiss_kappa, judge_agreement, pairwise_cohen_kappa
from agreement.metrics._core import t_interval
from agreement.metrics.results import REASON_NO_OVERLAP

from ._metrics_strategies import rating_matrices
from .test_metrics_kappa_speedups import designs

nan = np.nan


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("df", [1, 2, 3, 9, 29, 199, 1959, 10**6])
def test_t_interval_is_scipys_to_the_last_bit(confidence, df):
    rng = np.random.default_rng(df)
    for value, se in [(0.0, 1.0), (0.37, 0.05), (-0.9, 2.5e-4), *zip(rng.normal(size=5), rng.exponential(size=5))]:
        expected = stats.t.interval(confidence, df=df, loc=value, scale=se)
        assert t_interval(confidence, df, float(value), float(se)) == (float(expected[0]), float(expected[1]))


@given(confidence=st.floats(0.01, 0.999), df=st.integers(1, 10**5), value=st.floats(-1, 1),
       se=st.floats(1e-9, 10))
@settings(max_examples=200, deadline=None)
def test_t_interval_is_scipys_everywhere(confidence, df, value, se):
    expected = stats.t.interval(confidence, df=df, loc=value, scale=se)
    assert t_interval(confidence, df, value, se) == (float(expected[0]), float(expected[1]))


def test_t_interval_figures_are_scipys():
    """The coefficients that print a t interval (over the items rated) give scipy's bounds, upper end clipped at 1."""
    ratings = designs()[0]
    df = int(np.count_nonzero((~np.isnan(ratings)).any(axis=1))) - 1
    for coef in (fleiss_kappa(ratings, labels=range(4), n_boot=0), conger_kappa(ratings, labels=range(4), n_boot=0)):
        low, high = stats.t.interval(0.95, df=df, loc=coef.value, scale=coef.se)
        assert coef.ci_method == "t" and (coef.ci_low, coef.ci_high) == (float(low), min(1.0, float(high)))


def special_panels():
    """Pairs without a co-rated item, pairs rated in one category only, a single pairable item, no pair."""
    no_overlap = np.array([[0, nan, 1], [1, nan, 1], [nan, 2, 2], [nan, 0, 0], [2, nan, 1]], float)
    one_category = np.array([[1, 1, nan], [1, 1, 0], [1, 1, 2], [nan, 1, 1]], float)
    single = np.array([[0, 1, nan], [nan, nan, 2]], float)
    nothing = np.array([[0, nan], [nan, 1]], float)
    return [no_overlap, one_category, single, nothing]


def counts_from_pairs(result):
    """The average's pair counts and spread as the listed pairs give them."""
    coefs = [p.kappa for p in result.pairs]
    values = np.array([c.value for c in coefs if c.ok])
    counts = {"n_pairs": len(coefs), "n_pairs_defined": sum(c.ok for c in coefs),
              "n_pairs_no_overlap": sum(c.extra.get("reason") == REASON_NO_OVERLAP for c in coefs),
              "n_pairs_no_variation": sum(c.status == "undefined_no_variation" for c in coefs)}
    spread = {"min": float(values.min()), "max": float(values.max()), "median": float(np.median(values))} \
        if values.size else {}
    return counts, spread


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("panel", range(7))
def test_average_alone_equals_the_average_with_pairs(weights, panel):
    ratings = (designs() + special_panels())[panel]
    k = int(np.nanmax(ratings)) + 1 if np.any(~np.isnan(ratings)) else 1
    labels = list(range(max(k, 3)))
    full = pairwise_cohen_kappa(ratings, labels=labels, weights=weights)
    alone = pairwise_cohen_kappa(ratings, labels=labels, weights=weights, pairs=False)
    assert alone.pairs == () and alone.raters == full.raters
    assert alone.average.to_dict() == full.average.to_dict()
    if full.average.ok:
        counts, spread = counts_from_pairs(full)
        assert {key: full.average.extra[key] for key in (*counts, *spread)} == {**counts, **spread}


@given(rating_matrices(min_raters=2, max_raters=6, max_items=25))
@settings(max_examples=150, deadline=None)
def test_average_alone_equals_the_average_with_pairs_on_any_matrix(drawn):
    ratings, k = drawn
    labels = list(range(k))
    for weights in (None, "quadratic"):
        full = pairwise_cohen_kappa(ratings, labels=labels, weights=weights)
        alone = pairwise_cohen_kappa(ratings, labels=labels, weights=weights, pairs=False)
        assert alone.average.to_dict() == full.average.to_dict()
        if full.average.ok:
            counts, spread = counts_from_pairs(full)
            assert {key: full.average.extra[key] for key in (*counts, *spread)} == {**counts, **spread}


@pytest.mark.parametrize("ordinal", [False, True])
def test_summary_without_pairs_is_the_summary_less_its_pairs(ordinal):
    ratings = designs()[1]
    full = agreement_summary(ratings, labels=range(3), ordinal=ordinal, n_boot=50, seed=3).to_dict()
    alone = agreement_summary(ratings, labels=range(3), ordinal=ordinal, n_boot=50, seed=3, pairs=False).to_dict()
    assert full["pairwise"]["pairs"] and alone["pairwise"]["pairs"] == []
    full["pairwise"]["pairs"] = []
    assert alone == full


def test_judge_average_counts_equal_those_of_its_pairs():
    ratings = special_panels()[0]
    judge = np.array([0, 1, 2, 0, nan])
    result = judge_agreement(ratings, judge, labels=range(3), n_boot=0)
    counts = {"n_pairs": 3, "n_pairs_defined": sum(p.kappa.ok for p in result.per_rater),
              "n_pairs_no_overlap": sum(p.kappa.extra.get("reason") == REASON_NO_OVERLAP for p in result.per_rater),
              "n_pairs_no_variation": sum(p.kappa.status == "undefined_no_variation" for p in result.per_rater)}
    assert {key: result.per_rater_average.extra[key] for key in counts} == counts
