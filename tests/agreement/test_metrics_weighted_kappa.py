"""Cohen's weighted kappa with a user-given weight matrix: the built-in linear and quadratic weights
given as matrices, a hand-computed example, asymmetric weights, and the validation of the matrix."""

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
                assert res.se == pytest.approx(builtin.se, abs=TOL)


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


@pytest.mark.parametrize(("matrix", "kind", "message"), [
    (np.eye(2), "agreement", "3 x 3"),
    ([[1, 0.5, 0], [0.5, 0.9, 0.5], [0, 0.5, 1]], "agreement", "diagonal"),
    ([[1, 1.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]], "agreement", r"\[0, 1\]"),
    (np.ones((3, 3)), "agreement", "no disagreement"),
    ([[0, 1, np.nan], [1, 0, 1], [2, 1, 0]], "disagreement", "finite"),
    ([[0, -1, 2], [1, 0, 1], [2, 1, 0]], "disagreement", ">= 0"),
    ([[1, 1, 2], [1, 0, 1], [2, 1, 0]], "disagreement", "diagonal"),
    (np.zeros((3, 3)), "disagreement", "no disagreement"),
    (np.eye(3), "similarity", "kind"),
])
def test_invalid_matrices_are_refused(matrix, kind, message):
    with pytest.raises(ValueError, match=message):
        weight_matrix(3, matrix, kind=kind)


def test_named_weights_pass_through():
    a, b = raw_from_table([[10, 2, 0], [3, 8, 2], [1, 1, 3]])
    res = weighted_cohen_kappa(a, b, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert res.value == pytest.approx(cohen_kappa_score(a, b, labels=[0, 1, 2], weights="quadratic"), abs=TOL)
    with pytest.raises(ValueError):
        weight_matrix(3, "cubic")
