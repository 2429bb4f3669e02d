"""Order effects and confidence helpers: whole results against scipy's ``linregress`` and numpy, the edges
of the position blocks, the insufficient cases and the validation messages."""

import numpy as np
import pytest
from scipy import stats

from agreement.metrics import confidence_distribution, mask_below_confidence, order_effect

TOL = 1e-12
nan = np.nan


def test_whole_order_effect_against_linregress_and_numpy():
    positions = np.array([1, 2, 3, 11, 12, 25, nan, 4, 30, 5])
    scores = np.array([5, 4, 4, 3, 4, 2, 1, nan, 2, 3.5])
    res = order_effect(positions, scores, bucket_size=10, confidence=0.9)
    keep = ~np.isnan(positions) & ~np.isnan(scores)
    x, y = positions[keep], scores[keep]
    fit = stats.linregress(x, y)
    t = stats.t.ppf(0.95, df=x.size - 2)
    blocks = {(1, 10): y[x <= 10], (11, 20): y[(x > 10) & (x <= 20)], (21, 30): y[x > 20]}
    assert res.to_dict() == {
        "buckets": [{"first": first, "last": last, "n": int(sel.size), "mean": pytest.approx(sel.mean(), abs=TOL),
                     "sd": pytest.approx(np.std(sel, ddof=1), abs=TOL)} for (first, last), sel in blocks.items()],
        "slope": {"name": "slope_per_position", "value": pytest.approx(fit.slope, abs=TOL), "status": "ok",
                  "n_items": 8, "n_ratings": 8, "n_items_total": 10, "n_ratings_total": 10,
                  "se": pytest.approx(fit.stderr, abs=TOL),
                  "ci_low": pytest.approx(fit.slope - t * fit.stderr, abs=TOL),
                  "ci_high": pytest.approx(fit.slope + t * fit.stderr, abs=TOL), "ci_method": "t", "ci_level": 0.9,
                  "n_boot": 0, "seed": None, "warnings": [],
                  "extra": {"p_value": pytest.approx(fit.pvalue, abs=TOL), "se_method": "ols", "bucket_size": 10}},
        "intercept": pytest.approx(fit.intercept, abs=TOL),
    }


def test_default_blocks_of_ten_and_blocks_of_one():
    positions, scores = [1, 10, 11, 20, 21], [1.0, 2.0, 3.0, 5.0, 8.0]
    default = order_effect(positions, scores)
    assert default.to_dict() == order_effect(positions, scores, bucket_size=10, confidence=0.95).to_dict()
    assert [(b.first, b.last, b.n) for b in default.buckets] == [(1, 10, 2), (11, 20, 2), (21, 30, 1)]
    assert default.buckets[0].sd == pytest.approx(np.std([1, 2], ddof=1), abs=TOL) and default.buckets[2].sd is None
    ones = order_effect(positions, scores, bucket_size=1)
    assert [(b.first, b.last, b.n) for b in ones.buckets] == [(p, p, 1) for p in positions]
    shifted = order_effect([0, 1, 2], [1.0, 2.0, 4.0], bucket_size=2, first_position=0)
    assert [(b.first, b.last, b.n) for b in shifted.buckets] == [(0, 1, 2), (2, 3, 1)]


def test_three_ratings_are_enough_for_a_slope():
    res = order_effect([1, 2, 3], [1.0, 3.0, 2.0])
    fit = stats.linregress([1, 2, 3], [1.0, 3.0, 2.0])
    assert res.slope.ok and res.slope.value == pytest.approx(fit.slope, abs=TOL)


@pytest.mark.parametrize(("positions", "scores", "reason", "n_buckets"), [
    ([], [], "empty", 0),
    ([nan, 2], [1.0, nan], "empty", 0),
    ([4], [2.0], "no_pairable_item", 1),
    ([4, 9], [2.0, 3.0], "no_pairable_item", 1),
    ([3, 3, 3], [1.0, 2.0, 3.0], "no_pairable_item", 1),
])
def test_too_few_ratings_or_one_position_give_no_slope(positions, scores, reason, n_buckets):
    res = order_effect(positions, scores)
    assert res.intercept is None and len(res.buckets) == n_buckets
    assert res.slope.to_dict() == {
        "name": "slope_per_position", "value": None, "status": "insufficient_data", "n_items": 0, "n_ratings": 0,
        "n_items_total": len(positions), "n_ratings_total": len(positions), "se": None, "ci_low": None,
        "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"reason": reason},
    }


@pytest.mark.parametrize(("positions", "scores", "options", "message"), [
    ([1, 2], [1.0], {}, "positions and scores must have the same length"),
    ([1, 2], [1.0, 2.0], {"bucket_size": 0}, "bucket_size must be >= 1"),
    ([0, 2], [1.0, 2.0], {}, "positions must be >= first_position"),
    ([5, 2, nan], [1.0, 2.0, 3.0], {"first_position": 3}, "positions must be >= first_position"),
])
def test_order_effect_messages(positions, scores, options, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        order_effect(positions, scores, **options)


def test_confidence_distribution_whole_result_and_validation():
    res = confidence_distribution([2, 0, nan, 2], levels=("low", "mid", "high"))
    assert res.to_dict() == {"levels": ["low", "mid", "high"], "counts": {"low": 1, "mid": 0, "high": 2},
                             "proportions": {"low": 1 / 3, "mid": 0.0, "high": 2 / 3}, "n": 3, "n_missing": 1}
    for values in ([0, 3], [0.5]):
        with pytest.raises(ValueError, match="category indices"):
            confidence_distribution(values, levels=["low", "mid", "high"])


def test_mask_below_confidence_takes_integers_and_missing_levels():
    masked = mask_below_confidence([[0, 1], [2, 1]], [[1, None], [0, 2]], 1)
    np.testing.assert_array_equal(masked, [[0, nan], [nan, 1]])
    assert masked.dtype == float
    with pytest.raises(ValueError, match="^ratings and confidence must have the same shape$"):
        mask_below_confidence([[0, 1]], [[1]], 1)
