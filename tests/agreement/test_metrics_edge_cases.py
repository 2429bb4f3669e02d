"""Every documented edge case returns its documented status, never NaN or an exception.

Cases (research notes, section 7): empty input, a single rater, items rated once, no overlap between
a pair, one category only (observed, and declared K = 1), perfect agreement, total disagreement,
one item that agrees / disagrees.
"""

import json

import numpy as np
import pytest

from agreement.metrics import (
    REASON_EMPTY,
    REASON_NO_OVERLAP,
    REASON_NO_PAIRABLE,
    REASON_SINGLE_RATER,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    WARN_SMALL_N,
    agreement_summary,
    cohen_kappa,
    judge_agreement,
    krippendorff_alpha,
    pairwise_cohen_kappa,
)

nan = np.nan
LABELS = ["a", "b", "c"]
POOLED = ("percent_agreement", "fleiss_kappa", "gwet_ac1", "brennan_prediger")


def all_coefficients(ratings, labels=LABELS):
    summary = agreement_summary(ratings, labels=labels, ordinal=True, n_boot=50)
    text = json.dumps(summary.to_dict())  # JSON-serialisable, no NaN anywhere
    assert "NaN" not in text and "Infinity" not in text
    coefficients = {name: getattr(summary, name) for name in (*POOLED, "gwet_ac2")}
    coefficients.update({f"alpha_{k}": v for k, v in summary.alpha.items()})
    coefficients["average_kappa"] = summary.pairwise.average
    return summary, coefficients


@pytest.mark.parametrize(
    ("ratings", "reason"),
    [
        (np.zeros((0, 0)), REASON_EMPTY),
        (np.full((4, 3), nan), REASON_EMPTY),
        (np.array([[0], [1], [2]], float), REASON_SINGLE_RATER),
        (np.array([[0, nan], [1, nan], [2, nan]]), REASON_SINGLE_RATER),
        (np.array([[0, nan], [nan, 1], [2, nan]]), REASON_NO_PAIRABLE),
    ],
    ids=["empty_matrix", "all_missing", "single_rater", "second_rater_empty", "items_rated_once"],
)
def test_nothing_to_compare_gives_insufficient_data_with_reason(ratings, reason):
    _, coefficients = all_coefficients(ratings)
    for name, coef in coefficients.items():
        assert coef.status == STATUS_INSUFFICIENT, name
        assert coef.extra["reason"] == reason, name
        assert coef.value is None and coef.ci_low is None


def test_no_overlap_between_a_pair_is_reported_per_pair():
    ratings = np.array([[0, 1, nan], [1, 0, nan], [nan, 1, 1], [nan, 0, 0]])
    res = pairwise_cohen_kappa(ratings, labels=LABELS)
    by_pair = {(p.rater_a, p.rater_b): p.kappa for p in res.pairs}
    assert by_pair[(0, 2)].status == STATUS_INSUFFICIENT and by_pair[(0, 2)].extra["reason"] == REASON_NO_OVERLAP
    assert by_pair[(0, 1)].status == STATUS_OK and by_pair[(1, 2)].status == STATUS_OK
    assert res.average.status == STATUS_OK and res.average.extra["n_pairs_no_overlap"] == 1
    alone = cohen_kappa(ratings[:, 0], ratings[:, 2], labels=LABELS)
    assert alone.status == STATUS_INSUFFICIENT and alone.extra["reason"] == REASON_NO_OVERLAP
    judge = judge_agreement(ratings[:2, :1], [nan, nan], labels=LABELS)
    assert judge.per_rater_average.extra["reason"] == REASON_SINGLE_RATER


def test_items_rated_once_are_ignored_by_alpha_but_enter_fleiss_prevalence():
    # research notes: alpha 0.4444 ignores the single-rated item; Fleiss/AC1/BP use it in chance agreement
    ratings = np.array([[0, 0, 1], [1, 1, 1], [0, 1, 0], [2, nan, nan]])
    summary, coefficients = all_coefficients(ratings)
    assert coefficients["fleiss_kappa"].n_items == 3 and coefficients["fleiss_kappa"].n_items_total == 4
    assert summary.prevalence["c"] == pytest.approx(1 / 10)
    without = agreement_summary(ratings[:3], labels=LABELS, n_boot=0)
    assert summary.alpha["nominal"].value == pytest.approx(without.alpha["nominal"].value)
    assert summary.fleiss_kappa.value != pytest.approx(without.fleiss_kappa.value)


@pytest.mark.parametrize("labels", [LABELS, ["only"]], ids=["declared_3", "declared_1"])
def test_one_category_only_is_undefined_with_full_agreement(labels):
    ratings = np.array([[0, 0, 0], [0, 0, nan], [0, nan, 0]], float)
    _, coefficients = all_coefficients(ratings, labels)
    undefined = ["fleiss_kappa", "alpha_nominal", "alpha_ordinal", "alpha_interval", "average_kappa"]
    if len(labels) == 1:
        undefined += ["gwet_ac1", "gwet_ac2", "brennan_prediger"]
    for name in undefined:
        coef = coefficients[name]
        assert coef.status == STATUS_NO_VARIATION and coef.value is None, name
        assert coef.extra["percent_agreement"] == 1.0, name
    assert coefficients["percent_agreement"].value == 1.0
    if len(labels) > 1:  # AC1 and Brennan-Prediger stay defined on a declared scale (irrCAC gives 1)
        for name in ("gwet_ac1", "gwet_ac2", "brennan_prediger"):
            assert coefficients[name].status == STATUS_OK and coefficients[name].value == pytest.approx(1.0), name
    kappa = cohen_kappa([1, 1, 1], [1, 1, 1], labels=LABELS)
    assert kappa.status == STATUS_NO_VARIATION and kappa.extra["percent_agreement"] == 1.0


def test_perfect_agreement_with_two_categories_is_one_everywhere():
    ratings = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 0, nan]], float)
    _, coefficients = all_coefficients(ratings)
    for name, coef in coefficients.items():
        assert coef.status == STATUS_OK and coef.value == pytest.approx(1.0), name
        assert WARN_SMALL_N in coef.warnings


def test_total_disagreement_matches_the_libraries():
    ratings = np.array([[0, 1], [1, 0]], float)
    _, coefficients = all_coefficients(ratings, ["x", "y"])
    assert coefficients["average_kappa"].value == pytest.approx(-1.0)
    assert coefficients["fleiss_kappa"].value == pytest.approx(-1.0)
    assert coefficients["alpha_nominal"].value == pytest.approx(-0.5)
    assert coefficients["brennan_prediger"].value == pytest.approx(-1.0)


def test_one_item():
    agree = cohen_kappa([1], [1], labels=LABELS)
    assert agree.status == STATUS_NO_VARIATION and agree.n_items == 1
    disagree = cohen_kappa([0], [1], labels=LABELS, n_boot=20)
    assert disagree.status == STATUS_OK and disagree.value == pytest.approx(0.0)  # sklearn and statsmodels: 0
    assert WARN_SMALL_N in disagree.warnings
    alpha = krippendorff_alpha(np.array([[0, 1]], float), labels=LABELS, n_boot=20)
    assert alpha.status == STATUS_OK and alpha.value == pytest.approx(0.0)
