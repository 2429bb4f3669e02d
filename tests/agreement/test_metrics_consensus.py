"""Consensus of clinicians: tie rules (never silently dropped), rules valid for the scale, the judge's
comparison with the consensus, and the leave-one-clinician-out comparison against brute force."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from agreement.metrics import (
    STATUS_INVALID_FOR_SCALE,
    STATUS_OK,
    consensus_ratings,
    consensus_validity,
    judge_agreement,
    judge_vs_leave_one_out,
)
from agreement.metrics.consensus import consensus_with_ties

TOL = 1e-9
nan = np.nan
RATINGS = np.array([[0, 0, 1], [0, 1, nan], [2, nan, nan], [nan] * 3, [1, 2, nan], [0, 2, nan], [0, 1, 2]])


@pytest.mark.parametrize(("method", "tie", "expected", "n_tied"), [
    ("majority", "exclude", [0, nan, 2, nan, nan, nan, nan], 4),
    ("majority", "lower", [0, 0, 2, nan, 1, 0, 0], 4),
    ("majority", "higher", [0, 1, 2, nan, 2, 2, 2], 4),
    ("median", "exclude", [0, nan, 2, nan, nan, 1, 1], 2),
    ("median", "lower", [0, 0, 2, nan, 1, 1, 1], 2),
    ("median", "higher", [0, 1, 2, nan, 2, 1, 1], 2),
    ("mean", "exclude", [0, nan, 2, nan, nan, 1, 1], 2),
    ("mean", "lower", [0, 0, 2, nan, 1, 1, 1], 2),
    ("mean", None, [0, 1, 2, nan, 2, 1, 1], 2),
])
def test_tie_rules_keep_or_exclude_ties_and_always_count_them(method, tie, expected, n_tied):
    out, tied = consensus_ratings(RATINGS, 3, method, tie=tie)
    np.testing.assert_array_equal(out, expected)
    assert tied == n_tied


def test_random_tie_rule_is_seeded_and_picks_a_tied_category():
    out, tied = consensus_ratings(RATINGS, 3, "majority", tie="random", seed=5)
    again, _ = consensus_ratings(RATINGS, 3, "majority", tie="random", seed=5)
    np.testing.assert_array_equal(out, again)
    assert tied == 4
    assert out[1] in (0, 1) and out[4] in (1, 2) and out[6] in (0, 1, 2) and out[0] == 0
    picks = {consensus_ratings(RATINGS, 3, "majority", tie="random", seed=s)[0][6] for s in range(30)}
    assert picks == {0.0, 1.0, 2.0}  # any of a three-way tie, not only the extremes


def test_rules_must_fit_the_scale():
    assert consensus_validity("median", "nominal") == "consensus_needs_ordered_scale"
    assert consensus_validity("mean", "nominal") == "consensus_needs_ordered_scale"
    assert consensus_validity("majority", "nominal", "lower") == "tie_rule_needs_ordered_scale"
    assert consensus_validity("majority", "nominal", "random") is None
    assert consensus_validity("median", "ordinal", "lower") is None
    assert consensus_validity("median", None) is None  # undeclared: not checked
    with pytest.raises(ValueError, match="tie"):
        consensus_validity("majority", "nominal", "first")
    with pytest.raises(ValueError, match="scale"):
        consensus_validity("majority", "ratio")


def test_judge_agreement_reports_ties_in_its_main_fields_and_refuses_invalid_rules():
    judge = np.array([0, 1, 2, 1, 2, 0, 1], float)
    res = judge_agreement(RATINGS, judge, labels=["a", "b", "c"], consensus="majority", n_boot=0)
    assert (res.n_consensus_ties, res.consensus_tie_rule, res.scale) == (4, "exclude", None)
    assert res.vs_consensus.extra["n_tied"] == 4 and res.vs_consensus.n_items == 2
    kept = judge_agreement(RATINGS, judge, labels=["a", "b", "c"], consensus="majority", tie="lower",
                           scale="ordinal", n_boot=0)
    assert kept.n_consensus_ties == 4 and kept.vs_consensus.n_items == 6
    refused = judge_agreement(RATINGS, judge, labels=["a", "b", "c"], consensus="median", scale="nominal", n_boot=0)
    assert refused.vs_consensus.status == STATUS_INVALID_FOR_SCALE and refused.vs_consensus.value is None
    assert refused.vs_consensus.extra["reason"] == "consensus_needs_ordered_scale"
    assert refused.per_rater_average.status == STATUS_OK  # the per-clinician kappas need no consensus
    assert refused.to_dict()["n_consensus_ties"] == 0


def kappa(a, b, k, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a, b, labels=list(range(k)), weights=weights)


def brute_force_loo(ratings, judge, k, weights, method, tie):
    out = []
    for r in range(ratings.shape[1]):
        centre, _ = consensus_ratings(np.delete(ratings, r, axis=1), k, method, tie=tie)
        used = ~np.isnan(centre) & ~np.isnan(judge) & ~np.isnan(ratings[:, r])
        out.append((kappa(judge[used], centre[used], k, weights), kappa(ratings[used, r], centre[used], k, weights),
                    used))
    return out


def jackknife(values):
    values = np.asarray(values)
    m = values.size
    return np.sqrt((m - 1) / m * ((values - values.mean()) ** 2).sum())


@pytest.mark.parametrize(("method", "tie", "weights"), [("median", "lower", "quadratic"),
                                                         ("majority", "exclude", None)])
def test_leave_one_out_matches_brute_force_with_jackknife(method, tie, weights):
    rng = np.random.default_rng(3)
    n, n_raters, k = 40, 4, 4
    truth = rng.integers(0, k, n)
    ratings = np.clip(truth[:, None] + rng.integers(-1, 2, (n, n_raters)), 0, k - 1).astype(float)
    ratings[rng.random((n, n_raters)) < 0.25] = nan
    judge = np.clip(truth + rng.integers(-1, 2, n), 0, k - 1).astype(float)
    judge[:3] = nan
    res = judge_vs_leave_one_out(ratings, judge, labels=list(range(k)), weights=weights, consensus=method, tie=tie,
                                 scale="ordinal", rater_ids="abcd")
    brute = brute_force_loo(ratings, judge, k, weights, method, tie)
    for row, (kj, kc, used) in zip(res.per_rater, brute, strict=True):
        assert row.judge_kappa.value == pytest.approx(kj, abs=TOL)
        assert row.clinician_kappa.value == pytest.approx(kc, abs=TOL)
        assert row.difference.value == pytest.approx(kj - kc, abs=TOL)
        assert row.n_items == used.sum()
    assert [row.rater for row in res.per_rater] == list("abcd")
    assert res.difference.value == pytest.approx(np.mean([kj - kc for kj, kc, _ in brute]), abs=TOL)
    assert res.judge_average.value == pytest.approx(np.mean([kj for kj, _, _ in brute]), abs=TOL)
    # delete-one-item jackknife, recomputing every leave-one-out consensus and kappa
    population = np.flatnonzero(np.any([used for *_, used in brute], axis=0))
    reps = []
    for i in population:
        again = brute_force_loo(np.delete(ratings, i, 0), np.delete(judge, i), k, weights, method, tie)
        reps.append([np.mean([kj - kc for kj, kc, _ in again]), np.mean([kj for kj, _, _ in again])])
    reps = np.array(reps)
    assert res.difference.se == pytest.approx(jackknife(reps[:, 0]), abs=1e-9)
    assert res.judge_average.se == pytest.approx(jackknife(reps[:, 1]), abs=1e-9)
    first = np.flatnonzero(brute[0][2])
    reps0 = [brute_force_loo(np.delete(ratings, i, 0), np.delete(judge, i), k, weights, method, tie)[0]
             for i in first]
    assert res.per_rater[0].difference.se == pytest.approx(jackknife([kj - kc for kj, kc, _ in reps0]), abs=1e-9)


def test_leave_one_out_counts_ties_and_refuses_invalid_rules():
    rng = np.random.default_rng(0)
    ratings = rng.integers(0, 3, (30, 3)).astype(float)
    judge = rng.integers(0, 3, 30).astype(float)
    res = judge_vs_leave_one_out(ratings, judge, labels=["a", "b", "c"], consensus="majority")
    # two other clinicians tie whenever they disagree: every such item is counted, and excluded
    for r, row in enumerate(res.per_rater):
        others = np.delete(ratings, r, axis=1)
        assert row.n_ties == int((others[:, 0] != others[:, 1]).sum())
        assert row.n_items == 30 - row.n_ties
    assert res.n_ties == sum(row.n_ties for row in res.per_rater) and res.tie_rule == "exclude"
    refused = judge_vs_leave_one_out(ratings, judge, labels=["a", "b", "c"], consensus="mean", scale="nominal")
    assert refused.difference.status == STATUS_INVALID_FOR_SCALE and refused.per_rater == ()
    single = judge_vs_leave_one_out(ratings[:, :1], judge, labels=["a", "b", "c"])
    assert single.judge_average.extra["reason"] == "single_rater"


@pytest.mark.parametrize("method", ["median", "mean"])
def test_random_tie_rule_of_a_centre_draws_low_or_high_in_item_order(method):
    # items 1, 4 and 5 fall halfway between two categories (1 of 0/1, 4 of 1/2, 5 of 0/1)
    ratings = np.array([[0, 0], [0, 1], [2, 2], [nan, nan], [1, 2], [1, 0], [1, 1]], float)
    low, high = np.array([0, 1, 0]), np.array([1, 2, 1])
    seen = set()
    for seed in range(12):
        out, tied = consensus_ratings(ratings, 3, method, tie="random", seed=seed)
        draw = np.random.default_rng(seed).random(3) < 0.5  # one draw per tied item, in item order
        picks = np.where(draw, low, high)
        np.testing.assert_array_equal(out, [0, picks[0], 2, nan, picks[1], picks[2], 1])
        assert tied == 3
        seen.update(zip(out[[1, 4, 5]], draw, strict=True))
    assert {pick for pick, _ in seen} == {0.0, 1.0, 2.0}  # both ends are drawn


def test_random_tie_rule_seed_defaults_to_zero():
    ratings = np.array([[0, 1], [1, 2], [0, 2], [2, 1], [0, 1], [1, 0]], float)
    for method in ("majority", "median", "mean"):
        default, _ = consensus_ratings(ratings, 3, method, tie="random")
        np.testing.assert_array_equal(default, consensus_ratings(ratings, 3, method, tie="random", seed=0)[0])
        np.testing.assert_array_equal(default, consensus_with_ties(ratings, 3, method, tie="random")[0])
        assert any((consensus_ratings(ratings, 3, method, tie="random", seed=s)[0] != default).any()
                   for s in (1, 2))


def test_higher_of_a_majority_tie_is_the_highest_tied_category():
    ratings = np.array([[0, 1, 0, 1], [1, 2, 1, 2], [0, 3, 0, 3], [2, 3, 3, 2]], float)
    out, tied = consensus_ratings(ratings, 4, "majority", tie="higher")
    np.testing.assert_array_equal(out, [1, 2, 3, 3])
    np.testing.assert_array_equal(consensus_ratings(ratings, 4, "majority", tie="lower")[0], [0, 1, 0, 2])
    assert tied == 4


def test_no_rater_columns_give_no_consensus():
    for method in ("majority", "median", "mean"):
        out, tied = consensus_ratings(np.empty((3, 0)), 2, method)
        assert out.shape == (3,) and np.isnan(out).all() and tied == 0


@pytest.mark.parametrize("ratings", [[[0, 3]], [[0, -1]], [[0.5, 1]]], ids=["above_k", "negative", "fraction"])
def test_a_consensus_takes_category_indices_only(ratings):
    with pytest.raises(ValueError, match=r"^ratings must be category indices 0\.\.2 or NaN$"):
        consensus_ratings(ratings, 3, "majority")


def test_higher_tie_rule_needs_an_order_and_options_are_named_in_messages():
    assert consensus_validity("majority", "nominal", "higher") == "tie_rule_needs_ordered_scale"
    assert consensus_validity("majority", "interval", "higher") is None
    with pytest.raises(ValueError, match=r"^consensus must be one of \('majority', 'median', 'mean'\), not 'mode'$"):
        consensus_ratings(RATINGS, 3, "mode")
    with pytest.raises(ValueError, match=r"^tie must be one of \('exclude', 'lower', 'higher', 'random'\), not 'x'$"):
        consensus_ratings(RATINGS, 3, "median", tie="x")
    with pytest.raises(ValueError, match=r"^scale must be one of \('nominal', 'ordinal', 'interval'\), not 'r'$"):
        consensus_validity("median", "r")
