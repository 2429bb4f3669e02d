"""Cohen's weighted kappa with a user-given weight matrix: the built-in linear and quadratic weights
given as matrices, a hand-computed example, asymmetric weights, and the validation of the matrix."""

import re

import numpy as np
import pytest
from hypothesis import given
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import cohen_kappa, weight_matrix, weighted_cohen_kappa

from ._metrics_strategies import FAST, rating_matrices
from .test_metrics_kappa import raw_from_table

TOL = 1e-9


@given(rating_matrices(min_raters=2, max_raters=2))
@FAST
def test_builtin_weights_given_as_matrices_equal_the_builtins(case):
    ratings, k = case
    idx = np.arange(k, dtype=float)
    for name, d in (("linear", np.abs(idx[:, None] - idx[None, :])), ("quadratic", (idx[:, None] - idx[None, :]) ** 2)):
        builtin = cohen_kappa(ratings[:, 0], ratings[:, 1], labels=list(range(k)), weights=name, n_boot=0)
        as_disagreement = weighted_cohen_kappa(ratings[:, 0], ratings[:, 1], labels=list(range(k)), weights=d,
                                               kind="disagreement", n_boot=0)
        as_agreement = weighted_cohen_kappa(ratings[:, 0], ratings[:, 1], labels=list(range(k)),
                                            weights=1 - d / d.max(), n_boot=0)
        for res in (as_disagreement, as_agreement):
            assert res.status == builtin.status
            if builtin.ok:
                assert res.value == pytest.approx(builtin.value, abs=TOL)
                # Variances, not their roots: where the variance is 0 (e.g. kappa 0 on a few items), a rounding residue
                # of 1e-16 is a standard error of 1e-8.
                assert res.se**2 == pytest.approx(builtin.se**2, abs=TOL)


def test_hand_computed_example():
    # 3 categories, table [[10, 2, 0], [3, 8, 2], [1, 1, 3]] (n = 30), partial credit 0.5 for neighbours
    table = [[10, 2, 0], [3, 8, 2], [1, 1, 3]]
    w = np.array([[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])
    # p_o = (21 + 0.5 * (2 + 3 + 2 + 1)) / 30 = 25 / 30; rows 12, 13, 5; columns 14, 11, 5
    # p_e = sum w_ij row_i col_j / 900 = (168 + 66 + 0 + 91 + 143 + 32.5 + 0 + 27.5 + 25) / 900 = 553 / 900
    p_o, p_e = 25 / 30, 553 / 900
    a, b = raw_from_table(table)
    res = weighted_cohen_kappa(a, b, labels=["low", "mid", "high"], weights=w, n_boot=0)
    assert res.value == pytest.approx((p_o - p_e) / (1 - p_e), abs=TOL)
    assert res.value == pytest.approx(197 / 347, abs=TOL)  # (750 - 553) / (900 - 553)
    assert res.extra["symmetric"] is True and res.name == "cohen_kappa_custom"
    # these weights are the linear ones on three categories
    assert res.value == pytest.approx(cohen_kappa_score(a, b, labels=[0, 1, 2], weights="linear"), abs=TOL)


def test_asymmetric_weights_depend_on_the_order_of_the_raters():
    # under-triage (rater b lower than rater a) costs twice an over-triage
    d = np.array([[0, 1, 2], [2, 0, 1], [4, 2, 0]], float)
    a, b = raw_from_table([[10, 2, 0], [3, 8, 2], [1, 1, 3]])
    ab = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights=d, kind="disagreement", n_boot=0)
    ba = weighted_cohen_kappa(b, a, labels=[0, 1, 2], weights=d, kind="disagreement", n_boot=0)
    assert ab.extra["symmetric"] is False and ab.value != pytest.approx(ba.value)
    t = np.array([[10, 2, 0], [3, 8, 2], [1, 1, 3]], float)
    expected = 1 - (d * t).sum() / (d * np.outer(t.sum(1), t.sum(0)) / t.sum()).sum()
    assert ab.value == pytest.approx(expected, abs=TOL)
    assert weighted_cohen_kappa(b, a, labels=[0, 1, 2], weights=d.T, kind="disagreement", n_boot=0).value == \
        pytest.approx(ab.value, abs=TOL)


SQUARE = "a weight matrix must be 3 x 3 (one row and column per declared category), not (2, 2)"
SELF = " on the diagonal (a category agrees with itself)"


@pytest.mark.parametrize(("matrix", "kind", "message"), [
    (np.eye(2), "agreement", SQUARE),
    ([[1, 0.5, 0], [0.5, 0.9, 0.5], [0, 0.5, 1]], "agreement", "agreement weights must be 1" + SELF),
    ([[1, 1.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]], "agreement", "agreement weights must lie in [0, 1]"),
    ([[1, -0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]], "agreement", "agreement weights must lie in [0, 1]"),
    (np.ones((3, 3)), "agreement", "agreement weights are all 1: no disagreement is possible"),
    ([[0, 1, np.nan], [1, 0, 1], [2, 1, 0]], "disagreement", "weight matrix entries must be finite"),
    ([[1, None, 0], [0.5, 1, 0.5], [0, 0.5, 1]], "agreement", "weight matrix entries must be finite"),
    ([[0, -1, 2], [1, 0, 1], [2, 1, 0]], "disagreement", "disagreement weights must be >= 0"),
    ([[1, 1, 2], [1, 0, 1], [2, 1, 0]], "disagreement", "disagreement weights must be 0" + SELF),
    (np.zeros((3, 3)), "disagreement", "disagreement weights are all 0: no disagreement is possible"),
    (np.eye(3), "similarity", "kind must be one of ('agreement', 'disagreement')"),
    ("linear", "disagreement", "kind applies to a weight matrix, not to a named weighting"),
    ("cubic", "agreement", "weights must be one of (None, 'linear', 'quadratic') or a 3 x 3 matrix, not 'cubic'"),
])
def test_invalid_matrices_are_refused_with_their_message(matrix, kind, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        weight_matrix(3, matrix, kind=kind)


def test_a_matrix_of_text_is_a_value_error():
    with pytest.raises(ValueError, match="could not convert string to float"):
        weight_matrix(2, [["a", "b"], ["c", "d"]])


def test_two_categories_with_no_possible_disagreement_are_refused():
    with pytest.raises(ValueError, match="all 1"):
        weight_matrix(2, np.ones((2, 2)))
    with pytest.raises(ValueError, match="all 0"):
        weight_matrix(2, np.zeros((2, 2)), kind="disagreement")


def test_one_category_gives_the_one_by_one_identity():
    for matrix, kind in (([[1]], "agreement"), ([[0]], "disagreement")):
        w = weight_matrix(1, matrix, kind=kind)
        assert w.shape == (1, 1) and w[0, 0] == 1.0 and not np.isnan(w).any()


def test_disagreement_weights_become_one_minus_d_over_its_maximum():
    d = np.array([[0, 1, 2], [2, 0, 1], [4, 2, 0]], float)
    np.testing.assert_array_equal(weight_matrix(3, d, kind="disagreement"), 1 - d / 4)
    np.testing.assert_array_equal(weight_matrix(3, d.tolist(), kind="disagreement"), 1 - d / 4)


def test_named_weights_pass_through():
    a, b = raw_from_table([[10, 2, 0], [3, 8, 2], [1, 1, 3]])
    res = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert res.value == pytest.approx(cohen_kappa_score(a, b, labels=[0, 1, 2], weights="quadratic"), abs=TOL)
    for weights in (None, "linear"):
        options = {"n_boot": 60, "seed": 3, "confidence": 0.9}
        res = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights=weights, **options)
        assert res.to_dict() == cohen_kappa(a, b, labels=[0, 1, 2], weights=weights, **options).to_dict()
        assert res.name == ("cohen_kappa" if weights is None else "cohen_kappa_linear") and res.n_boot == 60


def test_defaults_are_a_thousand_resamples_with_seed_zero():
    a, b = raw_from_table([[10, 2, 0], [3, 8, 2], [1, 1, 3]])
    w = np.array([[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])
    for weights in (w, "linear"):
        res = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights=weights)
        assert res.to_dict() == weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights=weights, n_boot=1000,
                                                     seed=0).to_dict()
        assert (res.n_boot, res.seed, res.ci_method) == (1000, 0, "bootstrap_percentile")


def test_matrix_bootstrap_equals_the_builtin_weights_bootstrap():
    # the same seeded tables and a kappa invariant to the scale of d: the built-in linear weights' interval,
    # itself pinned against the replayed bootstrap in test_se_reference.py
    a, b = raw_from_table([[10, 2, 0], [3, 8, 2], [1, 1, 3]])
    w = np.array([[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])
    res = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights=w, n_boot=200, seed=5, confidence=0.9)
    builtin = cohen_kappa(a, b, labels=[0, 1, 2], weights="linear", n_boot=200, seed=5, confidence=0.9)
    assert res.ci_low == pytest.approx(builtin.ci_low, abs=TOL)
    assert res.ci_high == pytest.approx(builtin.ci_high, abs=TOL)
    assert (res.ci_method, res.ci_level, res.n_boot, res.seed) == ("bootstrap_percentile", 0.9, 200, 5)
    assert res.extra == {**builtin.extra, "weights": "custom", "weight_matrix": w.tolist(), "symmetric": True,
                         "kind": "agreement"}


def test_whole_result_with_missing_ratings():
    a = np.array([0, 1, 2, np.nan, 1, 2, 0, np.nan])
    b = np.array([0, 2, 2, 1, np.nan, 2, 1, np.nan])
    d = np.array([[0, 1, 3], [1, 0, 1], [3, 1, 0]], float)
    res = weighted_cohen_kappa(a, b, labels=["x", "y", "z"], weights=d, kind="disagreement", n_boot=0)
    t = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 2]], float)  # the five items rated by both
    expected = 1 - (d * t).sum() / (d * np.outer(t.sum(1), t.sum(0)) / 5).sum()
    assert res.value == pytest.approx(expected, abs=TOL)
    assert (res.name, res.n_items, res.n_ratings, res.n_items_total, res.n_ratings_total) == (
        "cohen_kappa_custom", 5, 10, 8, 12)
    assert res.extra["weight_matrix"] == (1 - d / 3).tolist() and res.extra["kind"] == "disagreement"
    assert res.extra["symmetric"] is True and res.ci_method == "wald"


@pytest.mark.parametrize(("a", "b", "reason", "n_ratings"), [
    ([np.nan] * 3, [np.nan] * 3, "empty", 0),
    ([np.nan] * 3, [0, 1, np.nan], "single_rater", 2),
])
def test_insufficient_data(a, b, reason, n_ratings):
    res = weighted_cohen_kappa(a, b, labels=[0, 1], weights=[[1, 0.5], [0.5, 1]], n_boot=0)
    assert res.to_dict() == {
        "name": "cohen_kappa_custom", "value": None, "status": "insufficient_data", "n_items": 0, "n_ratings": 0,
        "n_items_total": 3, "n_ratings_total": n_ratings, "se": None, "ci_low": None, "ci_high": None,
        "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"reason": reason, "weight_matrix": [[1, 0.5], [0.5, 1]], "symmetric": True, "kind": "agreement"},
    }


@pytest.mark.parametrize(("a", "b"), [([0, 3], [0, 1]), ([0, 1], [0.5, 1])])
def test_ratings_are_validated_on_both_sides(a, b):
    w = [[1, 0.5], [0.5, 1]]
    for first, second in ((a, b), (b, a)):
        with pytest.raises(ValueError, match=r"^ratings must be category indices 0\.\.1 or NaN$"):
            weighted_cohen_kappa(first, second, labels=[0, 1], weights=w, n_boot=0)
    with pytest.raises(ValueError, match="^a and b must have the same length$"):
        weighted_cohen_kappa([0, 1], [0], labels=[0, 1], weights=w, n_boot=0)
