"""Whole results pinned: every field a caller or a report reads (name, status, sizes, SE, bounds, extra).

A report prints names, statuses and counts as they come, so a wrong one is a visible defect even when
the number is right. Each test below compares ``to_dict()`` of a small worked example with the value
written out by hand; the error messages of bad input are compared whole.
"""

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from agreement.metrics import accuracy, calibration, consistency_rate, triage_rates


def approx_dict(expected: dict) -> dict:
    """``expected`` with every float wrapped in pytest.approx (recursively)."""
    def wrap(v):
        if isinstance(v, float):
            return pytest.approx(v, abs=1e-9)
        if isinstance(v, dict):
            return {k: wrap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [wrap(x) for x in v]
        return v
    return wrap(expected)


def wilson(k, n, confidence=0.95):
    return list(proportion_confint(k, n, alpha=1 - confidence, method="wilson"))


def proportion_dict(name, k, n, n_total, extra, confidence=0.95):
    low, high = wilson(k, n, confidence)
    p = k / n
    return {"name": name, "value": p, "status": "ok", "n_items": n, "n_ratings": n, "n_items_total": n_total,
            "n_ratings_total": n_total, "se": math.sqrt(p * (1 - p) / n), "ci_low": low, "ci_high": high,
            "ci_method": "wilson", "ci_level": confidence, "n_boot": 0, "seed": None, "warnings": [],
            "extra": {**extra, "successes": k}}


def empty_dict(name, n_total, reason="empty"):
    return {"name": name, "value": None, "status": "insufficient_data", "n_items": 0, "n_ratings": 0,
            "n_items_total": n_total, "n_ratings_total": n_total, "se": None, "ci_low": None, "ci_high": None,
            "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
            "extra": {"reason": reason}}


def test_accuracy_whole_result():
    predicted = [[0], [1], [2], [None], [4]]  # a column vector, None = no answer
    reference = np.array([[0, 2, 2, 1, 3]]).T
    assert accuracy(predicted, reference).to_dict() == approx_dict(
        proportion_dict("accuracy", 2, 4, 5, {"tolerance": 0}))
    assert accuracy(predicted, reference, tolerance=1).to_dict() == approx_dict(
        proportion_dict("accuracy_within_1", 4, 4, 5, {"tolerance": 1}))
    assert accuracy([None], [1]).to_dict() == empty_dict("accuracy", 1)
    assert accuracy([1, 2], [None, 2]).to_dict() == approx_dict(  # None in the reference is missing too
        proportion_dict("accuracy", 1, 1, 2, {"tolerance": 0}))


def test_triage_whole_result():
    predicted = np.array([[0, 1, 2], [2, 4, 3]], dtype=float)  # flattened row by row
    reference = [[1, 1, 1], [3, 4, np.nan]]
    res = triage_rates(predicted, reference, higher_is_more_urgent=True, confidence=0.9).to_dict()
    extra = {"higher_is_more_urgent": True}
    assert res == approx_dict({
        "under_triage": proportion_dict("under_triage_rate", 2, 5, 6, extra, 0.9),
        "over_triage": proportion_dict("over_triage_rate", 1, 5, 6, extra, 0.9),
        "exact": proportion_dict("exact_triage_rate", 2, 5, 6, extra, 0.9),
    })
    empty = triage_rates([], [], higher_is_more_urgent=False).to_dict()
    assert empty == {"under_triage": empty_dict("under_triage_rate", 0), "over_triage": empty_dict(
        "over_triage_rate", 0), "exact": empty_dict("exact_triage_rate", 0)}


def test_calibration_whole_result():
    conf = [0.1, 0.3, 0.8, 1.0]
    correct = [0, 1, 1, 1]
    res = calibration(conf, correct, n_bins=2).to_dict()
    sq = np.array([0.01, 0.49, 0.04, 0.0])
    sizes = {"n_items": 4, "n_ratings": 4, "n_items_total": 4, "n_ratings_total": 4}
    none = {"se": None, "ci_low": None, "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0,
            "seed": None, "warnings": []}
    assert res == approx_dict({
        "ece": {"name": "expected_calibration_error", "value": 2 / 4 * abs(0.5 - 0.2) + 2 / 4 * abs(1 - 0.9),
                "status": "ok", **sizes, **none,
                "extra": {"n_bins": 2, "binning": "equal width, [lower, upper), last bin closed"}},
        "brier": {"name": "brier_score", "value": float(sq.mean()), "status": "ok", **sizes, **none,
                  "se": float(np.std(sq, ddof=1) / 2), "extra": {"se_method": "sd/sqrt(n)"}},
        "bins": [{"lower": 0.0, "upper": 0.5, "n": 2, "mean_confidence": 0.2, "accuracy": 0.5},
                 {"lower": 0.5, "upper": 1.0, "n": 2, "mean_confidence": 0.9, "accuracy": 1.0}],
    })
    one_bin = calibration([0.2, 0.9], [0, 1], n_bins=1)
    assert [b.n for b in one_bin.bins] == [2] and one_bin.brier.se == pytest.approx(np.std([0.04, 0.01], ddof=1)
                                                                                    / math.sqrt(2))
    empty = calibration([np.nan], [1], n_bins=2).to_dict()
    assert empty == {"ece": empty_dict("expected_calibration_error", 1), "brier": empty_dict("brier_score", 1),
                     "bins": [{"lower": 0.0, "upper": 0.5, "n": 0, "mean_confidence": None, "accuracy": None},
                              {"lower": 0.5, "upper": 1.0, "n": 0, "mean_confidence": None, "accuracy": None}]}


def test_consistency_whole_result():
    ids = ["a", "a", "a", "b", "b", "c", "c"]
    answers = [1.5, 1.5, 2.5, 0.5, np.nan, "x", "x"]  # float answers, NaN missing
    res = consistency_rate(ids, answers).to_dict()
    shares = np.array([2 / 3, 1.0])
    assert res == approx_dict({
        "name": "consistency_rate", "value": float(shares.mean()), "status": "ok", "n_items": 5, "n_ratings": 5,
        "n_items_total": 7, "n_ratings_total": 6, "se": float(np.std(shares, ddof=1) / math.sqrt(2)),
        "ci_low": None, "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None,
        "warnings": [], "extra": {"n_prompts": 2, "se_method": "sd/sqrt(prompts)"}})
    no_pair = consistency_rate(["a", "b"], ["x", None]).to_dict()
    assert no_pair == {**empty_dict("consistency_rate", 2, "no_pairable_item"), "n_ratings_total": 1}
    assert consistency_rate(["a"], [None]).to_dict() == {**empty_dict("consistency_rate", 1), "n_ratings_total": 0}


@pytest.mark.parametrize(("call", "message"), [
    (lambda: accuracy([0, 1], [0]), "predicted and reference must have the same length"),
    (lambda: accuracy([0], [0], tolerance=-1), "tolerance must be >= 0"),
    (lambda: calibration([0.5], [1], n_bins=0), "n_bins must be >= 1"),
    (lambda: calibration([1.5], [1]), r"stated confidence must lie in \[0, 1\]"),
    (lambda: calibration([0.5], [0.5]), "correct must be 0, 1 or NaN"),
    (lambda: consistency_rate(["a"], []), "prompt_ids and answers must have the same length"),
])
def test_evaluation_error_messages(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()
