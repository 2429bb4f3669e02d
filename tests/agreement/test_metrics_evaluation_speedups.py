"""Consistency rate on numpy columns (the report passes them) against the definition written out with a Counter."""

import math
from collections import Counter

import numpy as np
import pytest

from agreement.metrics import consistency_rate
from agreement.metrics.evaluation import _first_seen_codes


def _reference(ids, answers) -> dict:
    """Groups by prompt in order of first answer (keys equal as ==); None and NaN answers left out."""
    groups: dict = {}
    for pid, ans in zip(ids, answers, strict=True):
        if not (ans is None or (isinstance(ans, float) and math.isnan(ans))):
            groups.setdefault(pid, []).append(ans)
    used = [v for v in groups.values() if len(v) >= 2]
    shares = np.array([Counter(v).most_common(1)[0][1] / len(v) for v in used])
    se = float(np.std(shares, ddof=1) / np.sqrt(shares.size)) if shares.size > 1 else None
    return {"value": float(np.mean(shares)), "se": se, "n_items": sum(map(len, used)), "n_prompts": len(used),
            "n_items_total": len(ids), "n_ratings_total": sum(map(len, groups.values()))}


def _summary(res) -> dict:
    return {"value": res.value, "se": res.se, "n_items": res.n_items, "n_prompts": res.extra["n_prompts"],
            "n_items_total": res.n_items_total, "n_ratings_total": res.n_ratings_total}


def _columns(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 60, n) * 7 - 100  # negative and positive ids, first appearances out of sorted order
    answers = rng.integers(0, 4, n).astype(float) + rng.integers(0, 3, n) * 10.0
    answers[rng.random(n) < 0.2] = np.nan
    return ids, answers


@pytest.mark.parametrize("seed", [1, 2])
def test_numeric_columns_equal_the_definition(seed):
    ids, answers = _columns(seed)
    expected = _reference(ids.tolist(), answers.tolist())
    for pair in ((ids, answers), (ids.astype(float), answers), (ids.astype(np.uint32), answers),
                 (ids.astype(str), answers.astype(object)), (ids.astype(object), answers.tolist()),
                 (ids.tolist(), answers)):
        assert _summary(consistency_rate(*pair)) == pytest.approx(expected, rel=1e-12)
    integer_answers = np.where(np.isnan(answers), -1, answers).astype(np.int16)  # no missing answer
    assert _summary(consistency_rate(ids, integer_answers)) == pytest.approx(
        _reference(ids.tolist(), integer_answers.tolist()), rel=1e-12)


def test_text_and_mixed_answers_in_numpy_columns():
    ids = np.array(["b", "a", "b", "a", "c", "c", "a", "b"])
    answers = np.array(["x", "y", "x", None, 2, 2.0, "y", np.nan], dtype=object)
    res = consistency_rate(ids, answers)
    assert _summary(res) == _reference(ids.tolist(), answers.tolist())
    assert _summary(res) == {"value": 1.0, "se": 0.0, "n_items": 6, "n_prompts": 3, "n_items_total": 8,
                             "n_ratings_total": 6}
    # As texts, "None" and "nan" are answers and "2" differs from "2.0".
    assert _summary(consistency_rate(ids, answers.astype(str))) == {
        "value": pytest.approx(11 / 18), "se": pytest.approx(np.std([2 / 3, 2 / 3, 1 / 2], ddof=1) / math.sqrt(3)),
        "n_items": 8, "n_prompts": 3, "n_items_total": 8, "n_ratings_total": 8}


def test_missing_prompt_ids_are_each_their_own_prompt():
    ids = np.array([np.nan, np.nan, 3.0, 3.0, np.nan])
    answers = np.array([1.0, 1.0, 2.0, 2.0, 1.0])
    res = consistency_rate(ids, answers)
    assert (res.value, res.n_items, res.extra["n_prompts"], res.n_ratings_total) == (1.0, 2, 1, 5)


def test_numeric_answers_all_missing_or_none_paired():
    assert consistency_rate(np.arange(3), np.full(3, np.nan)).extra["reason"] == "empty"
    lone = consistency_rate(np.arange(3), np.array([1.0, np.nan, 2.0]))
    assert (lone.extra["reason"], lone.n_ratings_total) == ("no_pairable_item", 2)
    with pytest.raises(ValueError, match="same length"):
        consistency_rate(np.arange(3), np.arange(2.0))


SAME = ([0, 1, 0, 2, 1, 3], [0, 1, 1, 2])
NAN = ([0, 1, 0, 2, 3, 4], [0, 1, 2, 3])  # each NaN its own value


@pytest.mark.parametrize(("values", "expected"), [
    (np.array([30, -2, 30, 7, -2, 5]), SAME), (np.array([30.0, -2.5, 30.0, 7.0, -2.5, 5.0]), SAME),
    (np.array([30.0, np.nan, 30.0, 7.0, np.nan, 5.0]), NAN), (np.array(["d", "b", "d", "c", "b", "a"]), SAME),
    (["d", "b", "d", 7, "b", None], SAME), ([30.0, float("nan"), 30.0, 7.0, float("nan"), 5.0], NAN),
])
def test_codes_are_numbered_in_order_of_first_appearance(values, expected):
    codes = _first_seen_codes(values, np.arange(6))
    assert codes.tolist() == expected[0] and codes.dtype == np.intp
    assert _first_seen_codes(values, np.array([5, 1, 4, 0])).tolist() == expected[1]
