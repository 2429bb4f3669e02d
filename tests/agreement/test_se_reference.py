"""Every standard error and interval bound pinned against an independent reference.

References: statsmodels ``cohens_kappa`` (Fleiss, Cohen & Everitt 1969 SE and its Wald bounds, at two
confidence levels and every weighting), statsmodels ``proportion_confint(method="wilson")``, scipy's t
quantiles, and brute force: a literal delete-one-item jackknife loop, and the bootstrap replayed by hand
(the same seeded draws, each replicate recomputed from scratch with an independent formula, then the
percentile interval taken with numpy). The rare branches (zero or one usable row, a constant side, the
Bradley-Terry step-halving safeguard) run here too.
"""

import warnings

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    _bootstrap,
    accuracy,
    bradley_terry,
    calibration,
    cohen_kappa,
    consistency_rate,
    fleiss_kappa,
    gwet_ac,
    intra_rater_agreement,
    judge_agreement,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    percent_agreement,
    rank_agreement,
    triage_rates,
)
from agreement.metrics.kappa import consensus_ratings
from agreement.metrics.ranking import _condition_means, _fit, _stratified_weights

TOL = 1e-9
WEIGHTS = [None, "linear", "quadratic"]


# --- independent reference formulas -------------------------------------------------------------------

def agreement_matrix(k, weights):
    """Cohen (1968) agreement weights on category indices."""
    i = np.arange(k)
    if weights is None:
        return np.eye(k)
    dist = np.abs(i[:, None] - i[None, :]) / (k - 1)
    return 1 - (dist if weights == "linear" else dist**2)


def table_kappa(table, weights):
    """(p_o,w - p_e,w) / (1 - p_e,w) of one K x K count table; NaN where p_e,w = 1."""
    p = np.asarray(table, float) / np.sum(table)
    w = agreement_matrix(p.shape[0], weights)
    po = (w * p).sum()
    pe = (w * np.outer(p.sum(axis=1), p.sum(axis=0))).sum()
    return (po - pe) / (1 - pe) if pe < 1 - 1e-12 else np.nan


def table_of(a, b, k):
    t = np.zeros((k, k))
    np.add.at(t, (np.asarray(a, int), np.asarray(b, int)), 1)
    return t


def raw_from_table(table):
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return np.array(a, float), np.array(b, float)


def replayed_pair_bootstrap(tables, weights, n_boot, seed, confidence=0.95):
    """The per-pair bootstrap replayed: one seeded Multinomial(n, T / n) draw per pair and replicate
    (pairs drawn together in one call, as the library does for up to 64 pairs), kappa recomputed from
    each drawn table with ``table_kappa``; returns [(low, high, n_undefined)] per pair."""
    tables = np.asarray(tables, float)
    k = tables.shape[-1]
    flat = tables.reshape(len(tables), k * k)
    n = flat.sum(axis=1)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n[:, None].astype(np.int64), (flat / n[:, None])[:, None, :], size=(len(tables), n_boot))
    out = []
    for p in range(len(tables)):
        reps = np.array([table_kappa(d.reshape(k, k), weights) for d in draws[p]])
        finite = reps[np.isfinite(reps)]
        low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
        out.append((low, high, int(reps.size - finite.size)))
    return out


def correlated_ratings(seed, n_items, n_raters, k, agree=0.6, missing=0.0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    noise = np.clip(truth[:, None] + rng.integers(-1, 2, (n_items, n_raters)), 0, k - 1)
    ratings = np.where(rng.random((n_items, n_raters)) < agree, truth[:, None], noise).astype(float)
    ratings[rng.random((n_items, n_raters)) < missing] = np.nan
    return ratings


# --- Cohen's kappa: FCE standard error and Wald bounds -----------------------------------------------

SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]  # SAS PROC FREQ example used in statsmodels' tests
TABLE_4 = [[22, 5, 2, 0], [4, 18, 6, 1], [1, 7, 25, 4], [0, 1, 3, 11]]


@pytest.mark.parametrize("table", [SAS_TABLE, TABLE_4], ids=["sas", "4x4"])
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_cohen_se_and_wald_bounds_equal_statsmodels(table, weights, confidence):
    a, b = raw_from_table(table)
    k = len(table)
    res = cohen_kappa(a, b, labels=list(range(k)), weights=weights, n_boot=0, confidence=confidence)
    ref = sm_cohens_kappa(np.array(table), wt=weights) if weights else sm_cohens_kappa(np.array(table))
    assert res.value == pytest.approx(ref.kappa, abs=TOL)
    assert res.se == pytest.approx(ref.std_kappa, abs=TOL)
    z = stats.norm.ppf((1 + confidence) / 2)
    assert res.ci_low == pytest.approx(ref.kappa - z * ref.std_kappa, abs=TOL)
    assert res.ci_high == pytest.approx(ref.kappa + z * ref.std_kappa, abs=TOL)
    if confidence == 0.95:  # statsmodels' own bounds are at 95 %
        assert (res.ci_low, res.ci_high) == (pytest.approx(ref.kappa_low, abs=TOL),
                                             pytest.approx(ref.kappa_upp, abs=TOL))
    assert (res.ci_method, res.ci_level, res.n_boot, res.seed) == ("wald", confidence, 0, None)


def test_sas_quadratic_weighted_kappa():
    # PROC FREQ's weighted kappa with Fleiss-Cohen weights on the same table
    a, b = raw_from_table(SAS_TABLE)
    res = cohen_kappa(a, b, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert res.value == pytest.approx(table_kappa(SAS_TABLE, "quadratic"), abs=TOL)
    assert res.value == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"), abs=TOL)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_cohen_bootstrap_interval_equals_the_replayed_bootstrap(weights):
    a, b = raw_from_table(TABLE_4)
    res = cohen_kappa(a, b, labels=list(range(4)), weights=weights, n_boot=300, seed=11, confidence=0.9)
    ((low, high, undefined),) = replayed_pair_bootstrap([table_of(a, b, 4)], weights, 300, 11, 0.9)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert res.extra["n_boot_undefined"] == undefined
    assert (res.ci_method, res.n_boot, res.seed, res.ci_level) == ("bootstrap_percentile", 300, 11, 0.9)


def test_weighted_bootstrap_replicates_use_the_weights():
    # Ordinal raters who are mostly one level apart: unweighted and quadratic kappa differ a lot, so an
    # interval built from unweighted replicates would not contain the weighted value.
    rng = np.random.default_rng(8)
    a = rng.integers(0, 5, 400).astype(float)
    b = np.clip(a + rng.choice([-1, 1], 400), 0, 4)
    res = cohen_kappa(a, b, labels=list(range(5)), weights="quadratic", n_boot=200, seed=1)
    plain = cohen_kappa(a, b, labels=list(range(5)), n_boot=0)
    assert res.value - plain.value > 0.5
    assert res.ci_low < res.value < res.ci_high
    assert plain.value < res.ci_low


# --- the interval names the method actually used -----------------------------------------------------

def test_interval_method_is_named_for_every_entry_point():
    a, b = raw_from_table(TABLE_4)
    boot = cohen_kappa(a, b, labels=list(range(4)), n_boot=50, seed=2)
    wald = cohen_kappa(a, b, labels=list(range(4)), n_boot=0, seed=2)
    assert (boot.ci_method, boot.n_boot, boot.seed) == ("bootstrap_percentile", 50, 2)
    assert (wald.ci_method, wald.n_boot, wald.seed) == ("wald", 0, None)
    assert wald.ci_low == pytest.approx(wald.value - stats.norm.ppf(0.975) * wald.se, abs=TOL)
    ratings = np.column_stack([a, b, b])
    judged = judge_agreement(ratings[:, :2], b, labels=list(range(4)), n_boot=0)
    assert {p.kappa.ci_method for p in judged.per_rater} == {"wald"} and judged.vs_consensus.ci_method == "wald"
    judged = judge_agreement(ratings[:, :2], b, labels=list(range(4)), n_boot=20, seed=4)
    assert {p.kappa.ci_method for p in judged.per_rater} == {"bootstrap_percentile"}
    assert judged.per_rater_average.ci_method == "jackknife_normal"
    retest = intra_rater_agreement(["r"] * a.size, a, b, labels=list(range(4)), n_boot=0)
    assert retest.pooled.ci_method == "wald" and retest.per_rater[0][1].ci_method == "wald"
    pooled = fleiss_kappa(ratings, labels=list(range(4)), n_boot=0)
    assert (pooled.ci_method, pooled.n_boot, pooled.seed) == ("t", 0, None)


def test_a_bootstrap_without_a_defined_replicate_gives_no_bounds_and_says_why():
    # two items, two resamples that both draw one item twice: kappa is undefined in each
    res = cohen_kappa([0, 1], [0, 1], labels=[0, 1], n_boot=2, seed=3)
    assert res.value == pytest.approx(1.0)
    assert res.ci_low is None and res.ci_high is None
    assert res.extra["n_boot_undefined"] == 2 and res.ci_method == "bootstrap_percentile"


# --- average kappa: jackknife SE and its clipped normal interval -------------------------------------

def literal_jackknife(ratings, statistic):
    """Delete-one-item jackknife SE over the rows with two or more ratings."""
    rows = np.flatnonzero((~np.isnan(ratings)).sum(axis=1) >= 2)
    reps = np.array([statistic(np.delete(ratings, i, axis=0)) for i in rows])
    m = rows.size
    return np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum())


def mean_pairwise_kappa(ratings, k, weights):
    values = []
    for i in range(ratings.shape[1]):
        for j in range(i + 1, ratings.shape[1]):
            both = ~np.isnan(ratings[:, i]) & ~np.isnan(ratings[:, j])
            v = table_kappa(table_of(ratings[both, i], ratings[both, j], k), weights) if both.any() else np.nan
            if np.isfinite(v):
                values.append(v)
    return np.mean(values)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_average_kappa_se_and_bounds_equal_the_literal_jackknife(weights, confidence):
    ratings = correlated_ratings(3, 40, 4, 4, agree=0.5, missing=0.2)
    res = pairwise_cohen_kappa(ratings, labels=list(range(4)), weights=weights, confidence=confidence).average
    se = literal_jackknife(ratings, lambda r: mean_pairwise_kappa(r, 4, weights))
    z = stats.norm.ppf((1 + confidence) / 2)
    assert res.value == pytest.approx(mean_pairwise_kappa(ratings, 4, weights), abs=TOL)
    assert res.se == pytest.approx(se, abs=TOL)
    assert -1 < res.value - z * se and res.value + z * se < 1  # no clipping in this example
    assert res.ci_low == pytest.approx(res.value - z * se, abs=TOL)
    assert res.ci_high == pytest.approx(res.value + z * se, abs=TOL)
    assert (res.ci_method, res.ci_level) == ("jackknife_normal", confidence)


def test_average_kappa_interval_is_clipped_at_one():
    # near-perfect agreement on few items: mean + z se passes 1
    ratings = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 0], [2, 2, 2], [2, 2, 2]], float)
    res = pairwise_cohen_kappa(ratings, labels=[0, 1, 2]).average
    z = stats.norm.ppf(0.975)
    assert res.value + z * res.se > 1
    assert res.ci_high == 1.0 and res.ci_low == pytest.approx(res.value - z * res.se, abs=TOL)


def test_average_kappa_on_one_pairable_item_has_no_interval():
    ratings = np.array([[0, 1], [np.nan, 0], [1, np.nan]], float)
    res = pairwise_cohen_kappa(ratings, labels=[0, 1]).average
    assert res.status == STATUS_OK and res.value == pytest.approx(0.0) and res.n_items == 1
    assert res.se is None and res.ci_low is None and res.ci_method is None and res.ci_level is None


# --- judge: per-rater SEs, the jackknife of the average, bootstrap and consensus --------------------

@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_judge_se_and_intervals_equal_references(weights):
    ratings = correlated_ratings(5, 50, 3, 5, agree=0.55, missing=0.25)
    judge = correlated_ratings(6, 50, 1, 5, agree=0.0)[:, 0]
    top = np.where(np.isnan(ratings), -1, ratings).max(axis=1)
    judge = np.where((np.random.default_rng(7).random(50) < 0.6) & (top >= 0), top, judge)
    judge[:3] = np.nan
    labels = list(range(5))
    res = judge_agreement(ratings, judge, labels=labels, weights=weights, n_boot=200, seed=9)
    tables = []
    for r, pair in enumerate(res.per_rater):
        both = ~np.isnan(ratings[:, r]) & ~np.isnan(judge)
        table = table_of(ratings[both, r], judge[both], 5)
        tables.append(table)
        ref = sm_cohens_kappa(table, wt=weights) if weights else sm_cohens_kappa(table)
        assert pair.kappa.value == pytest.approx(ref.kappa, abs=TOL)
        assert pair.kappa.se == pytest.approx(ref.std_kappa, abs=TOL)
    for pair, (low, high, _) in zip(res.per_rater, replayed_pair_bootstrap(tables, weights, 200, 9), strict=True):
        assert (pair.kappa.ci_low, pair.kappa.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))

    def mean_vs_judge(rows):
        r, j = rows[:, :-1], rows[:, -1]
        values = []
        for c in range(r.shape[1]):
            both = ~np.isnan(r[:, c]) & ~np.isnan(j)
            v = table_kappa(table_of(r[both, c], j[both], 5), weights) if both.any() else np.nan
            if np.isfinite(v):
                values.append(v)
        return np.mean(values)

    # the jackknife population: judged items with at least one clinician rating
    population = ~np.isnan(judge) & (~np.isnan(ratings)).any(axis=1)
    combined = np.column_stack([ratings, judge])[population]
    reps = np.array([mean_vs_judge(np.delete(combined, i, axis=0)) for i in range(len(combined))])
    m = len(combined)
    se = np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum())
    average = res.per_rater_average
    z = stats.norm.ppf(0.975)
    assert average.value == pytest.approx(mean_vs_judge(combined), abs=TOL)
    assert average.se == pytest.approx(se, abs=TOL)
    assert (average.ci_low, average.ci_high) == (pytest.approx(average.value - z * se, abs=TOL),
                                                 pytest.approx(average.value + z * se, abs=TOL))
    centre, _ = consensus_ratings(ratings, 5, "majority")
    alone = cohen_kappa(centre, judge, labels=labels, weights=weights, n_boot=200, seed=9)
    vs = res.vs_consensus
    assert (vs.value, vs.se, vs.ci_low, vs.ci_high) == (alone.value, alone.se, alone.ci_low, alone.ci_high)


def test_mean_consensus_is_the_rounded_mean_not_the_median():
    ratings = np.array([[0, 0, 4], [0, 4, 4], [1, 1, 2], [3, np.nan, np.nan], [0, 3, np.nan]])
    mean, _ = consensus_ratings(ratings, 5, "mean")
    median, _ = consensus_ratings(ratings, 5, "median")
    np.testing.assert_array_equal(mean, [1, 3, 1, 3, 2])  # 4/3, 8/3, 4/3, 3, 1.5 rounded half up
    np.testing.assert_array_equal(median, [0, 4, 1, 3, 2])
    judge = np.array([1, 3, 1, 3, 2], float)
    res = judge_agreement(ratings, judge, labels=list(range(5)), consensus="mean", n_boot=0)
    assert res.vs_consensus.value == pytest.approx(1.0) and res.vs_consensus.extra["consensus"] == "mean"
    res = judge_agreement(ratings, judge, labels=list(range(5)), consensus="median", n_boot=0)
    assert res.vs_consensus.value < 1.0


# --- test-retest, weighted -------------------------------------------------------------------------

@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_test_retest_matches_sklearn_statsmodels_and_the_replayed_bootstrap(weights):
    rng = np.random.default_rng(12)
    raters = rng.choice(["r1", "r2"], 160)
    first = rng.integers(0, 4, 160).astype(float)
    repeat = np.where(rng.random(160) < 0.5, first, np.clip(first + rng.choice([-1, 1], 160), 0, 3))
    repeat[:4] = np.nan
    res = intra_rater_agreement(raters, first, repeat, labels=list(range(4)), weights=weights, n_boot=150, seed=5)
    ok = ~np.isnan(repeat)
    tables = []
    for rater, coef in res.per_rater:
        sel = ok & (raters == rater)
        table = table_of(first[sel], repeat[sel], 4)
        tables.append(table)
        ref = sm_cohens_kappa(table, wt=weights)
        assert coef.value == pytest.approx(cohen_kappa_score(first[sel], repeat[sel], weights=weights), abs=TOL)
        assert coef.se == pytest.approx(ref.std_kappa, abs=TOL)
        assert coef.name == f"test_retest_kappa_{weights}"
    for (_, coef), (low, high, _) in zip(res.per_rater, replayed_pair_bootstrap(tables, weights, 150, 5),
                                         strict=True):
        assert (coef.ci_low, coef.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    pooled_table = table_of(first[ok], repeat[ok], 4)
    ((low, high, _),) = replayed_pair_bootstrap([pooled_table], weights, 150, 5)
    assert res.pooled.value == pytest.approx(cohen_kappa_score(first[ok], repeat[ok], weights=weights), abs=TOL)
    assert res.pooled.se == pytest.approx(sm_cohens_kappa(pooled_table, wt=weights).std_kappa, abs=TOL)
    assert (res.pooled.ci_low, res.pooled.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))


def test_test_retest_with_no_rows_is_empty():
    res = intra_rater_agreement([], [], [], labels=[0, 1], n_boot=0)
    assert res.per_rater == () and res.pooled.status == STATUS_INSUFFICIENT and res.pooled.extra["reason"] == "empty"


# --- evaluation: accuracy, triage, Brier, consistency ------------------------------------------------

@pytest.mark.parametrize(("hits", "n"), [(0, 7), (1, 1), (3, 5), (17, 40), (40, 40)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_accuracy_se_and_wilson_bounds(hits, n, confidence):
    predicted = np.r_[np.zeros(hits), np.ones(n - hits), np.nan]
    reference = np.r_[np.zeros(n), 1]
    res = accuracy(predicted, reference, confidence=confidence)
    p = hits / n
    low, high = proportion_confint(hits, n, alpha=1 - confidence, method="wilson")
    assert res.value == pytest.approx(p, abs=TOL) and res.n_items == n and res.n_items_total == n + 1
    assert res.se == pytest.approx(np.sqrt(p * (1 - p) / n), abs=TOL)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert (res.ci_method, res.ci_level, res.extra["successes"]) == ("wilson", confidence, hits)


def test_accuracy_within_tolerance_counts_every_distance_up_to_it():
    predicted = [0, 1, 2, 3, 4, 4]
    reference = [0, 0, 0, 0, 0, 3]  # distances 0, 1, 2, 3, 4, 1
    for tolerance, hits in [(0, 1), (1, 3), (2, 4), (3, 5), (4, 6)]:
        res = accuracy(predicted, reference, tolerance=tolerance)
        assert res.extra["successes"] == hits and res.extra["tolerance"] == tolerance
    with pytest.raises(ValueError, match="tolerance"):
        accuracy([0], [0], tolerance=-1)


@pytest.mark.parametrize("higher_is_more_urgent", [True, False])
def test_triage_rate_ses_and_wilson_bounds(higher_is_more_urgent):
    predicted = np.array([0, 1, 2, 2, 4, 3, 1, 0, 2, np.nan, 4])
    reference = np.array([1, 1, 1, 3, 4, 2, 2, 0, 2, 2, np.nan])
    res = triage_rates(predicted, reference, higher_is_more_urgent=higher_is_more_urgent, confidence=0.9)
    both = ~np.isnan(predicted) & ~np.isnan(reference)
    p, r = predicted[both], reference[both]
    less, more = (p < r, p > r) if higher_is_more_urgent else (p > r, p < r)
    for coef, hit in [(res.under_triage, less), (res.over_triage, more), (res.exact, p == r)]:
        k, n = int(hit.sum()), hit.size
        low, high = proportion_confint(k, n, alpha=0.1, method="wilson")
        assert coef.value == pytest.approx(k / n, abs=TOL)
        assert coef.se == pytest.approx(np.sqrt(k / n * (1 - k / n) / n), abs=TOL)
        assert (coef.ci_low, coef.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
        assert coef.n_items == 9 and coef.n_items_total == 11
        assert coef.extra["higher_is_more_urgent"] is higher_is_more_urgent


def test_brier_se_is_the_standard_deviation_of_squared_errors_over_root_n():
    rng = np.random.default_rng(4)
    conf = rng.random(37)
    correct = (rng.random(37) < conf).astype(float)
    res = calibration(conf, correct).brier
    sq = (conf - correct) ** 2
    assert res.value == pytest.approx(sq.mean(), abs=TOL)
    assert res.se == pytest.approx(np.sqrt(((sq - sq.mean()) ** 2).sum() / 36) / np.sqrt(37), abs=TOL)
    assert res.extra["se_method"] == "sd/sqrt(n)"


def test_ece_with_fewer_bins_and_the_closed_last_bin():
    conf = np.array([0.0, 0.2, 0.5, 0.7, 1.0, 1.0])
    correct = np.array([0, 1, 1, 0, 1, 0])
    res = calibration(conf, correct, n_bins=2)
    assert [b.n for b in res.bins] == [2, 4] and res.bins[1].upper == 1.0
    expected = 2 / 6 * abs(0.5 - 0.1) + 4 / 6 * abs(0.5 - 0.8)
    assert res.ece.value == pytest.approx(expected, abs=TOL) and res.ece.extra["n_bins"] == 2
    with pytest.raises(ValueError, match="n_bins"):
        calibration(conf, correct, n_bins=0)
    with pytest.raises(ValueError, match="correct"):
        calibration([0.5], [2])


def test_consistency_se_is_the_standard_deviation_of_prompt_shares_over_root_prompts():
    ids = ["a"] * 3 + ["b"] * 4 + ["c"] * 2 + ["d"] * 5 + ["e"]
    answers = ["x", "x", "y", "p", "q", "p", "p", "m", "n", 1, 1, 1, 2, None, "z"]
    res = consistency_rate(ids, answers)
    shares = np.array([2 / 3, 3 / 4, 1 / 2, 3 / 4])
    assert res.value == pytest.approx(shares.mean(), abs=TOL)
    assert res.se == pytest.approx(np.sqrt(((shares - shares.mean()) ** 2).sum() / 3) / 2, abs=TOL)
    assert res.extra == {"n_prompts": 4, "se_method": "sd/sqrt(prompts)"}
    assert res.n_items == 13 and res.n_items_total == 15 and res.n_ratings_total == 14


def test_evaluation_with_zero_or_one_usable_row():
    none = accuracy([np.nan, 1], [0, np.nan])
    assert none.status == STATUS_INSUFFICIENT and none.extra["reason"] == "empty" and none.n_items_total == 2
    one = accuracy([2], [2])
    assert one.value == 1.0 and one.se == 0.0
    low, high = proportion_confint(1, 1, method="wilson")
    assert (one.ci_low, one.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    empty_triage = triage_rates([np.nan], [1], higher_is_more_urgent=True)
    assert empty_triage.exact.status == STATUS_INSUFFICIENT and empty_triage.under_triage.value is None
    single = calibration([0.3], [1])
    assert single.brier.value == pytest.approx(0.49) and single.brier.se is None and single.brier.extra == {}
    assert single.ece.value == pytest.approx(0.7)
    lone = consistency_rate(["p", "p", "q"], ["A", "B", "C"])
    assert lone.value == 0.5 and lone.se is None and lone.extra["se_method"] is None


# --- pooled coefficients: t interval and the replayed item bootstrap ----------------------------------

@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_pooled_t_interval_bounds(confidence):
    ratings = correlated_ratings(21, 30, 4, 3, agree=0.5, missing=0.1)
    for res in (fleiss_kappa(ratings, labels=[0, 1, 2], n_boot=0, confidence=confidence),
                gwet_ac(ratings, labels=[0, 1, 2], weights="quadratic", n_boot=0, confidence=confidence),
                percent_agreement(ratings, labels=[0, 1, 2], n_boot=0, confidence=confidence)):
        t = stats.t.ppf((1 + confidence) / 2, df=30 - 1)
        assert res.ci_low == pytest.approx(res.value - t * res.se, abs=TOL)
        assert res.ci_high == pytest.approx(min(1.0, res.value + t * res.se), abs=TOL)
        assert (res.ci_method, res.ci_level) == ("t", confidence)


def test_pooled_t_interval_upper_bound_is_clipped_at_one_and_zero_se_is_a_point():
    ratings = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0]], float)
    res = gwet_ac(ratings, labels=[0, 1], n_boot=0)
    assert res.value + stats.t.ppf(0.975, 4) * res.se > 1 and res.ci_high == 1.0
    perfect = gwet_ac(np.array([[0, 0], [1, 1], [1, 1]], float), labels=[0, 1], n_boot=0)
    assert perfect.se == 0 and (perfect.ci_low, perfect.ci_high) == (1.0, 1.0)
    one = fleiss_kappa(np.array([[0, 1]], float), labels=[0, 1], n_boot=0)
    assert one.se is None and one.ci_low is None and one.ci_method is None


def replayed_item_bootstrap(ratings, n_boot, seed, statistic, confidence=0.95):
    """Replicates of ``statistic`` on the item resamples the library draws (rows with a rating)."""
    rows = ratings[(~np.isnan(ratings)).any(axis=1)]
    counts = np.concatenate(list(_bootstrap._draw_chunks(rows.shape[0], n_boot, seed)))
    reps = np.array([statistic(np.repeat(rows, c.astype(int), axis=0)) for c in counts])
    finite = reps[np.isfinite(reps)]
    return reps, np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])


def test_fleiss_bootstrap_interval_equals_the_replayed_bootstrap():
    ratings = correlated_ratings(31, 25, 4, 3, agree=0.5)

    def fleiss(rows):
        counts = np.stack([(rows == c).sum(axis=1) for c in range(3)], axis=1)
        return sm_fleiss_kappa(counts)

    _, (low, high) = replayed_item_bootstrap(ratings, 120, 17, fleiss, 0.9)
    res = fleiss_kappa(ratings, labels=[0, 1, 2], n_boot=120, seed=17, confidence=0.9)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
    assert (res.ci_method, res.n_boot, res.seed) == ("bootstrap_percentile", 120, 17)


def test_alpha_bootstrap_se_and_interval_equal_the_replayed_bootstrap():
    ratings = correlated_ratings(41, 20, 3, 4, agree=0.5, missing=0.2)

    def alpha(rows):
        pairable = rows[(~np.isnan(rows)).sum(axis=1) >= 2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return krippendorff.alpha(reliability_data=pairable.T, value_domain=np.arange(4),
                                          level_of_measurement="ordinal")
            except ValueError:
                return np.nan

    reps, (low, high) = replayed_item_bootstrap(ratings, 100, 23, alpha)
    res = krippendorff_alpha(ratings, labels=list(range(4)), level="ordinal", n_boot=100, seed=23)
    finite = reps[np.isfinite(reps)]
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=1e-8), pytest.approx(high, abs=1e-8))
    assert res.se == pytest.approx(np.std(finite, ddof=1), abs=1e-8)
    assert res.extra["n_boot_undefined"] == reps.size - finite.size


# --- rank agreement: the stratified bootstrap replayed ----------------------------------------------

def test_stratified_weights_resample_within_each_condition():
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    w = _stratified_weights(codes, 3, 200, seed=1)
    for c, size in enumerate(np.bincount(codes)):
        np.testing.assert_array_equal(w[:, codes == c].sum(axis=1), size)
    assert w.min() >= 0 and w.var(axis=0).min() > 0  # every item is resampled, none is fixed


def test_condition_means_leave_missing_scores_out_also_when_resampled():
    codes = np.array([0, 0, 0, 1, 1, 1])
    values = np.array([2.0, np.nan, 4.0, np.nan, 6.0, np.nan])
    means, counts = _condition_means(codes, 2, values)
    np.testing.assert_allclose(means, [3.0, 6.0])
    np.testing.assert_array_equal(counts, [2, 1])
    weights = np.array([[1, 3, 2, 0, 1, 5], [0, 1, 1, 2, 0, 1]], float)
    means, counts = _condition_means(codes, 2, values, weights)
    np.testing.assert_allclose(means, [[(2 + 8) / 3, 6.0], [4.0, np.nan]])
    np.testing.assert_array_equal(counts, [[3, 1], [1, 0]])


def test_rank_bootstrap_interval_equals_the_replayed_stratified_bootstrap():
    rng = np.random.default_rng(6)
    conditions = np.repeat(np.arange(5), [6, 8, 7, 5, 9])
    a = conditions * 0.4 + rng.normal(size=conditions.size)
    b = conditions * 0.4 + rng.normal(size=conditions.size)
    a[[0, 9, 20]] = np.nan
    b[[3, 14]] = np.nan
    res = rank_agreement(conditions, a, b, n_boot=80, seed=13, confidence=0.9)
    weights = _stratified_weights(conditions, 5, 80, 13)
    taus, rhos = [], []
    for w in weights:
        rows = np.repeat(np.arange(conditions.size), w.astype(int))
        ma = [np.nanmean(a[rows][conditions[rows] == c]) for c in range(5)]
        mb = [np.nanmean(b[rows][conditions[rows] == c]) for c in range(5)]
        taus.append(stats.kendalltau(ma, mb).statistic)
        rhos.append(stats.spearmanr(ma, mb).statistic)
    for coef, reps in [(res.kendall_tau_b, taus), (res.spearman, rhos)]:
        low, high = np.quantile(reps, [0.05, 0.95])
        assert (coef.ci_low, coef.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))
        assert (coef.n_boot, coef.seed, coef.ci_level) == (80, 13, 0.9)


@pytest.mark.parametrize("side", ["a", "b"])
def test_rank_agreement_with_a_constant_side_is_undefined_and_names_the_side(side):
    conditions = ["p", "p", "q", "q", "r", "r"]
    varying, constant = [1, 2, 3, 4, 5, 6], [2, 2, 1, 3, 2, 2]
    a, b = (constant, varying) if side == "a" else (varying, constant)
    res = rank_agreement(conditions, a, b, n_boot=20, seed=0)
    for coef in (res.kendall_tau_b, res.spearman):
        assert coef.status == STATUS_NO_VARIATION and coef.value is None and coef.ci_low is None
        assert coef.extra["constant_side"] == side and coef.extra["n_conditions"] == 3


# --- Bradley-Terry: the step-halving safeguard ------------------------------------------------------

# A win matrix on which a full Newton step lowers the likelihood at the seventh iteration
HALVING_WINS = np.array([[0, 35, 0, 2492, 71], [422, 0, 0, 0, 4], [0, 12, 0, 0, 1546], [0, 1, 0, 0, 2279],
                         [0, 0, 1, 2, 0]], float)


def loglik(wins, theta):
    diff = theta[:, None] - theta[None, :]
    return float((wins * -np.logaddexp(0.0, -diff)).sum())


def test_bradley_terry_newton_steps_never_lower_the_likelihood():
    values = [loglik(HALVING_WINS, _fit(HALVING_WINS, max_iter=m)) for m in range(1, 15)]
    assert all(later >= earlier - 1e-9 for earlier, later in zip(values, values[1:], strict=False))
    theta = _fit(HALVING_WINS)
    games = HALVING_WINS + HALVING_WINS.T
    p = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
    np.testing.assert_allclose((HALVING_WINS - games * p).sum(axis=1), 0, atol=1e-8)  # the score equations


def test_bradley_terry_from_the_halving_matrix_as_comparisons():
    pa, pb, score = [], [], []
    for i, j in zip(*np.nonzero(HALVING_WINS), strict=True):
        count = int(HALVING_WINS[i, j])
        pa += [f"p{i}"] * count
        pb += [f"p{j}"] * count
        score += [1.0] * count
    res = bradley_terry(pa, pb, score, n_boot=0)
    np.testing.assert_allclose([r.theta for r in res.ratings], _fit(HALVING_WINS), atol=1e-9)
    assert res.ratings[2].elo > res.ratings[1].elo > res.ratings[0].elo > res.ratings[3].elo > res.ratings[4].elo


def test_bradley_terry_bootstrap_counts_resamples_without_an_mle():
    # three players in a cycle, one game each way: many resamples break the cycle
    res = bradley_terry(["a", "b", "c", "b", "c", "a"], ["b", "c", "a", "a", "b", "c"], [1, 1, 1, 1, 1, 1],
                        n_boot=60, seed=2)
    assert res.status == STATUS_OK and 0 < res.extra["n_boot_undefined"] < 60
    assert all(r.elo_ci_low <= r.elo <= r.elo_ci_high for r in res.ratings)
    assert (res.ci_level, res.n_boot, res.seed) == (0.95, 60, 2)
