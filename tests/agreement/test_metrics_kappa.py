"""Cohen's kappa: published values (SAS via statsmodels' tests, the kappa paradox), scikit-learn and
statsmodels on random inputs, the jackknife of the average against brute force, judge and test-retest."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    cohen_kappa,
    intra_rater_agreement,
    judge_agreement,
    pairwise_cohen_kappa,
)
from agreement.metrics.kappa import consensus_ratings

from ._metrics_strategies import FAST, rating_matrices

TOL = 1e-9


def raw_from_table(table):
    """Two rating vectors reproducing a K x K contingency table."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return np.array(a, float), np.array(b, float)


def sklearn_kappa(a, b, k, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a, b, labels=list(range(k)), weights=weights)


def table_of(a, b, k):
    t = np.zeros((k, k))
    np.add.at(t, (a.astype(int), b.astype(int)), 1)
    return t


# SAS PROC FREQ output reproduced in statsmodels' own tests (table10, n = 19)
SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def test_sas_example_unweighted_kappa_ase_and_wald_interval():
    a, b = raw_from_table(SAS_TABLE)
    res = cohen_kappa(a, b, labels=["x", "y", "z"], n_boot=0)
    assert res.value == pytest.approx(0.4842, abs=5e-5)
    assert res.se == pytest.approx(0.1380, abs=5e-5)
    assert (res.ci_low, res.ci_high) == (pytest.approx(0.2137, abs=5e-5), pytest.approx(0.7547, abs=5e-5))
    assert res.ci_method == "wald" and res.n_items == 19
    sm = sm_cohens_kappa(np.array(SAS_TABLE))
    assert res.value == pytest.approx(sm.kappa, abs=TOL) and res.se == pytest.approx(sm.std_kappa, abs=TOL)


def test_sas_example_linear_weighted_kappa_and_ase():
    a, b = raw_from_table(SAS_TABLE)
    res = cohen_kappa(a, b, labels=["x", "y", "z"], weights="linear", n_boot=0)
    assert res.value == pytest.approx(0.4701, abs=5e-5)
    assert res.se == pytest.approx(0.1457, abs=5e-5)
    assert (res.ci_low, res.ci_high) == (pytest.approx(0.1845, abs=5e-5), pytest.approx(0.7558, abs=5e-5))


@pytest.mark.parametrize(
    ("table", "expected"),
    [([[40, 9], [6, 45]], 291 / 416), ([[80, 10], [5, 5]], 7 / 22)],
    ids=["balanced", "skewed"],
)
def test_kappa_paradox_tables_give_published_kappa_at_equal_agreement(table, expected):
    a, b = raw_from_table(table)
    res = cohen_kappa(a, b, labels=[0, 1], n_boot=0)
    assert res.value == pytest.approx(expected, abs=TOL)
    assert res.extra["percent_agreement"] == pytest.approx(0.85)


def test_one_disagreement_in_constant_data_gives_kappa_zero():
    res = cohen_kappa([0, 0, 0, 0, 0], [0, 0, 0, 0, 1], labels=[0, 1], n_boot=0)
    assert res.status == STATUS_OK and res.value == pytest.approx(0.0, abs=TOL)


def test_unused_middle_category_is_kept_on_the_declared_scale():
    # Likert 1..5 (indices 0..4) where 3 (index 2) is never used
    a = np.array([0, 1, 3, 4, 4, 0, 1, 3])
    b = np.array([1, 1, 3, 3, 4, 0, 0, 4])
    res = cohen_kappa(a, b, labels=[1, 2, 3, 4, 5], weights="linear", n_boot=0)
    declared = cohen_kappa_score(a, b, labels=[0, 1, 2, 3, 4], weights="linear")
    observed_only = cohen_kappa_score(a, b, weights="linear")
    assert res.value == pytest.approx(declared, abs=TOL)
    assert abs(declared - observed_only) > 0.01


@FAST
@given(rating_matrices())
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_every_pair_matches_sklearn_value_and_statsmodels_se(weights, data):
    ratings, k = data
    result = pairwise_cohen_kappa(ratings, labels=list(range(k)), weights=weights)
    assert len(result.pairs) == ratings.shape[1] * (ratings.shape[1] - 1) // 2
    for pair in result.pairs:
        a, b = ratings[:, pair.rater_a], ratings[:, pair.rater_b]
        both = ~np.isnan(a) & ~np.isnan(b)
        c = pair.kappa
        if not both.any():
            assert c.status == STATUS_INSUFFICIENT and c.extra["reason"] == "no_overlap" and c.value is None
            continue
        expected = sklearn_kappa(a[both], b[both], k, weights)
        assert c.n_items == both.sum()
        assert pair.percent_agreement == pytest.approx(np.mean(a[both] == b[both]), abs=TOL)
        if np.isnan(expected):
            assert c.status == STATUS_NO_VARIATION and c.value is None
            assert c.extra["percent_agreement"] == 1.0
            continue
        assert c.status == STATUS_OK
        assert c.value == pytest.approx(expected, abs=TOL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sm = sm_cohens_kappa(table_of(a[both], b[both], k), wt=weights) if weights else sm_cohens_kappa(
                table_of(a[both], b[both], k))
        # compared as variances: where the variance is 0, rounding residue of +-1e-16 becomes 1e-8 after a
        # square root (statsmodels returns NaN for the negative residue; we clip at 0)
        assert c.se**2 == pytest.approx(sm.var_kappa, abs=1e-12)


def brute_force_average(ratings, k, weights):
    values = []
    for i in range(ratings.shape[1]):
        for j in range(i + 1, ratings.shape[1]):
            both = ~np.isnan(ratings[:, i]) & ~np.isnan(ratings[:, j])
            if both.any():
                v = sklearn_kappa(ratings[both, i], ratings[both, j], k, weights)
                if np.isfinite(v):
                    values.append(v)
    return np.mean(values) if values else np.nan


@FAST
@given(rating_matrices(max_items=12, max_raters=4))
@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_average_and_its_jackknife_se_match_brute_force_deletion(weights, data):
    ratings, k = data
    res = pairwise_cohen_kappa(ratings, labels=list(range(k)), weights=weights).average
    mean = brute_force_average(ratings, k, weights)
    if np.isnan(mean):
        assert res.value is None
        return
    assert res.value == pytest.approx(mean, abs=TOL)
    population = np.flatnonzero((~np.isnan(ratings)).sum(axis=1) >= 2)
    replicates = np.array([brute_force_average(np.delete(ratings, i, axis=0), k, weights) for i in population])
    m = population.size
    if m < 2 or np.isnan(replicates).any():
        assert res.se is None
        return
    expected_se = np.sqrt((m - 1) / m * ((replicates - replicates.mean()) ** 2).sum())
    assert res.se == pytest.approx(expected_se, abs=TOL)
    assert res.ci_method == "jackknife_normal"


def test_average_reports_pair_counts_and_sizes():
    ratings = np.array([[0, 0, np.nan], [1, 1, np.nan], [0, 1, np.nan], [np.nan, 1, 1], [np.nan, 0, 0]], float)
    res = pairwise_cohen_kappa(ratings, labels=[0, 1])
    counts = {k: res.average.extra[k] for k in ("n_pairs", "n_pairs_defined", "n_pairs_no_overlap")}
    assert counts == {"n_pairs": 3, "n_pairs_defined": 2, "n_pairs_no_overlap": 1}
    assert res.average.n_items == 5 and res.average.n_items_total == 5 and res.average.n_ratings == 10
    defined = [p.kappa.value for p in res.pairs if p.kappa.ok]
    assert res.average.value == pytest.approx(np.mean(defined))
    matrix = res.matrix()
    assert matrix[0][2] is None and matrix[0][1] == matrix[1][0] == res.pairs[0].kappa.value
    assert matrix[2][2] == 1.0


def test_pair_bootstrap_is_seeded_and_reproducible():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 200)
    ratings = np.where(rng.random((200, 3)) < 0.7, truth[:, None], rng.integers(0, 3, (200, 3))).astype(float)
    run = lambda seed: pairwise_cohen_kappa(ratings, labels=[0, 1, 2], pair_ci="bootstrap", n_boot=300, seed=seed)  # noqa: E731
    first, again, other = run(1), run(1), run(2)
    assert [p.kappa.ci_low for p in first.pairs] == [p.kappa.ci_low for p in again.pairs]
    assert [p.kappa.ci_low for p in first.pairs] != [p.kappa.ci_low for p in other.pairs]
    for pair in first.pairs:
        assert pair.kappa.ci_method == "bootstrap_percentile" and pair.kappa.n_boot == 300
        assert pair.kappa.ci_low < pair.kappa.value < pair.kappa.ci_high
    wald = pairwise_cohen_kappa(ratings, labels=[0, 1, 2])
    assert all(p.kappa.ci_method == "wald" for p in wald.pairs)


def test_cohen_kappa_bootstrap_interval_is_close_to_the_analytic_one():
    rng = np.random.default_rng(11)
    a = rng.integers(0, 4, 2000).astype(float)
    b = np.where(rng.random(2000) < 0.6, a, rng.integers(0, 4, 2000)).astype(float)
    boot = cohen_kappa(a, b, labels=list(range(4)), n_boot=2000, seed=3)
    assert boot.ci_method == "bootstrap_percentile"
    half_width = (boot.ci_high - boot.ci_low) / 2
    assert half_width == pytest.approx(1.96 * boot.se, rel=0.1)


def test_judge_against_each_rater_matches_cohen_kappa_and_consensus_matches_sklearn():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 5, 120)
    ratings = np.clip(truth[:, None] + rng.integers(-1, 2, (120, 4)), 0, 4).astype(float)
    ratings[rng.random((120, 4)) < 0.3] = np.nan
    judge = np.clip(truth + rng.integers(-1, 2, 120), 0, 4).astype(float)
    judge[:5] = np.nan
    res = judge_agreement(ratings, judge, labels=[1, 2, 3, 4, 5], weights="quadratic", consensus="median",
                          rater_ids=["a", "b", "c", "d"], n_boot=0)
    for r, pair in enumerate(res.per_rater):
        single = cohen_kappa(ratings[:, r], judge, labels=[1, 2, 3, 4, 5], weights="quadratic", n_boot=0)
        assert pair.rater_a == "abcd"[r] and pair.rater_b == "judge"
        assert pair.kappa.value == pytest.approx(single.value, abs=TOL)
        assert pair.kappa.se == pytest.approx(single.se, abs=TOL)
    assert res.per_rater_average.value == pytest.approx(np.mean([p.kappa.value for p in res.per_rater]), abs=TOL)
    centre = np.floor(np.nanmedian(np.where(np.isnan(ratings).all(1)[:, None], 0, ratings), axis=1) + 0.5)
    centre[np.isnan(ratings).all(axis=1)] = np.nan
    both = ~np.isnan(centre) & ~np.isnan(judge)
    expected = cohen_kappa_score(centre[both], judge[both], labels=list(range(5)), weights="quadratic")
    assert res.vs_consensus.value == pytest.approx(expected, abs=TOL)
    assert res.vs_consensus.extra["consensus"] == "median"


def test_consensus_majority_leaves_out_ties_and_rounds_half_up():
    ratings = np.array([[0, 0, 1], [0, 1, np.nan], [2, np.nan, np.nan], [np.nan] * 3, [1, 2, np.nan]])
    majority, tied = consensus_ratings(ratings, 3, "majority")
    np.testing.assert_array_equal(majority, [0, np.nan, 2, np.nan, np.nan])
    assert tied == 2
    mean, _ = consensus_ratings(ratings, 3, "mean")
    np.testing.assert_array_equal(mean, [0, 1, 2, np.nan, 2])  # 0.5 -> 1, 1.5 -> 2
    median, _ = consensus_ratings(ratings, 3, "median")
    np.testing.assert_array_equal(median, [0, 1, 2, np.nan, 2])


def test_test_retest_per_rater_and_pooled_match_sklearn():
    rng = np.random.default_rng(4)
    raters = rng.choice(["r1", "r2", "r3"], 150)
    first = rng.integers(0, 3, 150).astype(float)
    repeat = np.where(rng.random(150) < 0.7, first, rng.integers(0, 3, 150)).astype(float)
    repeat[:3] = np.nan
    res = intra_rater_agreement(raters, first, repeat, labels=["a", "b", "c"], n_boot=200)
    ok = ~np.isnan(repeat)
    for rater, coef in res.per_rater:
        sel = ok & (raters == rater)
        assert coef.value == pytest.approx(cohen_kappa_score(first[sel], repeat[sel], labels=[0, 1, 2]), abs=TOL)
        assert coef.n_items == sel.sum() and coef.ci_method == "bootstrap_percentile"
    assert [r for r, _ in res.per_rater] == list(dict.fromkeys(raters))
    assert res.pooled.value == pytest.approx(cohen_kappa_score(first[ok], repeat[ok], labels=[0, 1, 2]), abs=TOL)
    assert res.pooled.n_items_total == 150


def test_results_serialise_to_json_without_nan():
    ratings = np.array([[0, 0, np.nan], [0, 0, np.nan], [np.nan, 1, 0]], float)
    res = pairwise_cohen_kappa(ratings, labels=[0, 1], n_boot=0)
    text = json.dumps(res.to_dict())
    assert "NaN" not in text
    again = json.loads(text)
    assert again["pairs"][0]["kappa"]["status"] == STATUS_NO_VARIATION


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="category indices"):
        pairwise_cohen_kappa(np.array([[0, 3]], float), labels=[0, 1, 2])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa([0], [0], labels=[0, 1], weights="cubic")
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([0, 1], [0], labels=[0, 1])
    with pytest.raises(ValueError, match="rater_ids"):
        pairwise_cohen_kappa(np.zeros((2, 2)), labels=[0, 1], rater_ids=["a"])


@FAST
@given(rating_matrices())
def test_average_kappa_interval_stays_within_minus_one_and_one(case):
    ratings, k = case
    average = pairwise_cohen_kappa(ratings, labels=list(range(k)), n_boot=0).average
    if average.ci_low is not None:
        assert -1.0 <= average.ci_low <= average.value <= average.ci_high <= 1.0


def test_a_wald_interval_that_would_pass_one_is_clipped_and_says_so():
    from agreement.metrics import cohen_kappa

    a = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    b = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 0])
    result = cohen_kappa(a, b, labels=[0, 1], n_boot=0)
    table = np.array([[5, 0], [1, 4]])
    reference = sm_cohens_kappa(table)
    assert result.value == pytest.approx(reference.kappa) and result.se == pytest.approx(reference.std_kappa)
    assert reference.kappa_upp > 1 and result.ci_high == 1.0 and result.extra["ci_clipped"] is True
    assert result.ci_low == pytest.approx(reference.kappa_low)
