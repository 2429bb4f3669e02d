"""Evaluation metrics (accuracy, calibration, consistency, triage), order effects and confidence helpers."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_OK,
    accuracy,
    calibration,
    confidence_distribution,
    consistency_rate,
    fleiss_kappa,
    mask_below_confidence,
    order_effect,
    triage_rates,
)

TOL = 1e-12


def test_accuracy_exact_and_within_one_level_with_wilson_interval():
    predicted = [0, 1, 2, 3, 4, np.nan, 2]
    reference = [0, 2, 2, 1, 4, 3, np.nan]
    exact = accuracy(predicted, reference)
    assert exact.value == pytest.approx(3 / 5) and exact.n_items == 5 and exact.n_items_total == 7
    low, high = proportion_confint(3, 5, alpha=0.05, method="wilson")
    assert (exact.ci_low, exact.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    within = accuracy(predicted, reference, tolerance=1)
    assert within.value == pytest.approx(4 / 5) and within.name == "accuracy_within_1"


def test_calibration_ece_brier_and_reliability_bins():
    conf = np.array([0.05, 0.15, 0.95, 1.0, 0.55, 0.58, np.nan])
    correct = np.array([0, 0, 1, 0, 1, 0, 1])
    res = calibration(conf, correct)
    assert len(res.bins) == 10 and res.bins[0].lower == 0.0 and res.bins[-1].upper == 1.0
    assert [b.n for b in res.bins] == [1, 1, 0, 0, 0, 2, 0, 0, 0, 2]
    assert res.bins[2].accuracy is None and res.bins[2].mean_confidence is None
    # ECE = sum over bins of n_b/n * |acc_b - conf_b|
    expected = (1 * 0.05 + 1 * 0.15 + 2 * abs(0.5 - 0.565) + 2 * abs(0.5 - 0.975)) / 6
    assert res.ece.value == pytest.approx(expected, abs=TOL)
    c, y = conf[:-1], correct[:-1]
    assert res.brier.value == pytest.approx(np.mean((c - y) ** 2), abs=TOL)
    assert res.ece.n_items == 6 and res.ece.n_items_total == 7
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration([1.2], [1])
    assert calibration([], []).ece.status == STATUS_INSUFFICIENT


def test_consistency_rate_averages_modal_share_over_prompts():
    ids = ["p1", "p1", "p1", "p2", "p2", "p3", "p4", "p4"]
    answers = ["A", "A", "B", "C", "C", "D", None, "E"]
    res = consistency_rate(ids, answers)
    assert res.value == pytest.approx((2 / 3 + 1) / 2)
    assert res.extra["n_prompts"] == 2 and res.n_items == 5
    assert consistency_rate(["a", "b"], ["x", "y"]).extra["reason"] == "no_pairable_item"
    assert consistency_rate([], []).extra["reason"] == "empty"


@pytest.mark.parametrize("higher_is_more_urgent", [True, False])
def test_triage_rates_follow_the_stated_urgency_direction(higher_is_more_urgent):
    predicted = [0, 1, 2, 2, 4, np.nan]
    reference = [1, 1, 1, 3, 4, 2]
    res = triage_rates(predicted, reference, higher_is_more_urgent=higher_is_more_urgent)
    below, above = 2 / 5, 1 / 5  # predicted < reference on 2 items, > on 1
    under, over = (below, above) if higher_is_more_urgent else (above, below)
    assert res.under_triage.value == pytest.approx(under) and res.over_triage.value == pytest.approx(over)
    assert res.exact.value == pytest.approx(2 / 5)
    assert res.under_triage.value + res.over_triage.value + res.exact.value == pytest.approx(1.0)


def test_order_effect_buckets_and_slope_match_linregress():
    rng = np.random.default_rng(0)
    positions = rng.integers(1, 41, 300)
    scores = 4 - 0.02 * positions + rng.normal(0, 0.5, 300)
    res = order_effect(positions, scores, bucket_size=10)
    assert [(b.first, b.last) for b in res.buckets] == [(1, 10), (11, 20), (21, 30), (31, 40)]
    first = scores[positions <= 10]
    assert res.buckets[0].n == first.size and res.buckets[0].mean == pytest.approx(first.mean())
    fit = stats.linregress(positions, scores)
    assert res.slope.value == pytest.approx(fit.slope, abs=TOL) and res.intercept == pytest.approx(fit.intercept)
    t = stats.t.ppf(0.975, 298)
    assert res.slope.ci_low == pytest.approx(fit.slope - t * fit.stderr, abs=TOL)
    assert res.slope.ci_high < 0  # the simulated fatigue is detected
    flat = order_effect([3, 3, 3], [1, 2, 3])
    assert flat.slope.status == STATUS_INSUFFICIENT and len(flat.buckets) == 1


def test_confidence_distribution_counts_levels_and_missing():
    res = confidence_distribution([0, 0, 0, 1, np.nan], levels=["low", "medium", "high"])
    assert res.counts == {"low": 3, "medium": 1, "high": 0}
    assert res.proportions == {"low": 0.75, "medium": 0.25, "high": 0.0}
    assert (res.n, res.n_missing) == (4, 1)
    assert confidence_distribution([], levels=["low"]).proportions == {"low": None}


def test_agreement_restricted_to_confident_ratings():
    ratings = np.array([[0, 0, 1], [1, 1, 1], [0, 1, 0], [1, 1, 0]], float)
    confidence = np.array([[2, 2, 0], [1, 2, 2], [2, 0, np.nan], [2, 2, 2]], float)
    masked = mask_below_confidence(ratings, confidence, 2)
    expected = np.array([[0, 0, np.nan], [np.nan, 1, 1], [0, np.nan, np.nan], [1, 1, 0]])
    np.testing.assert_array_equal(masked, expected)
    assert not np.isnan(ratings).any()  # the input is left unchanged
    res = fleiss_kappa(masked, labels=["no", "yes"], n_boot=0)
    assert res.status == STATUS_OK and res.n_items == 3


@pytest.mark.parametrize(("hits", "confidence", "null"), [
    ([True, False, True, True, False, True, True], 0.95, None),
    ([[1, 0], [0, 0], [1, 1]], 0.8, 0.5),  # any shape, flattened; 0/1 read as False/True
    ([True] * 9 + [False], 0.9, 0.6),
    ([False] * 4, 0.95, 0.25),
    ([2, 0, 0.5, -1], 0.95, 0.5),  # truthy values are hits
])
def test_proportion_is_the_wilson_interval_with_an_exact_binomial_test(hits, confidence, null):
    from agreement.metrics import proportion

    flat = np.asarray(hits, dtype=bool).reshape(-1)
    n, k = flat.size, int(flat.sum())
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    res = proportion(hits, name="position_bias", n_total=n + 3, confidence=confidence, null=null)
    extra = {"successes": k}
    if null is not None:
        extra.update(null=null, p_value=stats.binomtest(k, n, null).pvalue)
    assert res.to_dict() == {
        "name": "position_bias", "value": k / n, "status": STATUS_OK, "n_boot": 0, "seed": None, "n_items": n,
        "n_ratings": n,
        "n_items_total": n + 3, "n_ratings_total": n + 3, "se": pytest.approx(np.sqrt(k / n * (1 - k / n) / n)),
        "ci_low": pytest.approx(low, abs=TOL), "ci_high": pytest.approx(high, abs=TOL), "ci_method": "wilson",
        "ci_level": confidence, "warnings": res.to_dict()["warnings"],
        "extra": {key: pytest.approx(v, abs=TOL) if key == "p_value" else v for key, v in extra.items()},
    }
    assert proportion(hits).name == "proportion" and proportion(hits).n_items_total == n
    assert proportion(hits).ci_level == 0.95 and "null" not in proportion(hits).extra


def test_proportion_of_nothing_is_insufficient_and_takes_no_test():
    from agreement.metrics import proportion

    res = proportion([], name="win_share", n_total=4, null=0.5)
    assert (res.name, res.status, res.value, res.n_items_total, res.extra) == ("win_share", STATUS_INSUFFICIENT,
                                                                                None, 4, {"reason": "empty"})
    with pytest.raises(ValueError):
        proportion([True], confidence=1.5)
