"""Rank agreement of conditions (scipy kendalltau/spearmanr) and Bradley-Terry (statsmodels Logit)."""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from agreement.metrics import (
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_NOT_IDENTIFIABLE,
    STATUS_OK,
    bradley_terry,
    rank_agreement,
)
from agreement.metrics.ranking import _spearman, _tau_b

from ._metrics_strategies import FAST

TOL = 1e-9


def test_scipy_documentation_example_tau_b():
    # scipy.stats.kendalltau docs: x = [12, 2, 1, 12, 2], y = [1, 4, 7, 1, 0] -> -0.4714045 = -sqrt(2)/3
    res = rank_agreement(["a", "b", "c", "d", "e"], [12, 2, 1, 12, 2], [1, 4, 7, 1, 0], n_boot=0)
    assert res.kendall_tau_b.value == pytest.approx(-math.sqrt(2) / 3, abs=TOL)
    assert res.spearman.value == pytest.approx(stats.spearmanr([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]).statistic, abs=TOL)
    assert res.conditions == ("a", "b", "c", "d", "e")


@FAST
@given(st.integers(2, 8), st.integers(0, 2**32 - 1), st.booleans())
def test_condition_means_and_correlations_match_scipy(n_conditions, seed, ties):
    rng = np.random.default_rng(seed)
    conditions = rng.integers(0, n_conditions, 80)
    a = rng.integers(0, 3, 80).astype(float) if ties else rng.normal(size=80)
    b = a + rng.normal(size=80)
    b[rng.random(80) < 0.2] = np.nan
    res = rank_agreement([f"p{c}" for c in conditions], a, b, n_boot=0)
    levels = sorted({f"p{c}" for c in conditions})
    assert list(res.conditions) == levels
    mean_a = np.array([np.nanmean(np.where([f"p{c}" == lv for c in conditions], a, np.nan)) for lv in levels])
    np.testing.assert_allclose(np.array(res.mean_a, float), mean_a, atol=TOL)
    x, y = np.array(res.mean_a, float), np.array(res.mean_b, float)
    keep = ~np.isnan(x) & ~np.isnan(y)
    if keep.sum() < 2:
        assert res.kendall_tau_b.status == STATUS_INSUFFICIENT
        return
    if np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        assert res.kendall_tau_b.status == STATUS_NO_VARIATION
        return
    assert res.kendall_tau_b.value == pytest.approx(stats.kendalltau(x[keep], y[keep]).statistic, abs=TOL)
    assert res.spearman.value == pytest.approx(stats.spearmanr(x[keep], y[keep]).statistic, abs=TOL)


@FAST
@given(st.integers(0, 2**32 - 1))
def test_vectorised_tau_b_and_spearman_match_scipy_row_by_row(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, (20, 6)).astype(float)
    b = rng.integers(0, 4, (20, 6)).astype(float)
    a[rng.random((20, 6)) < 0.1] = np.nan
    tau, rho = _tau_b(a, b), _spearman(a, b)
    for i in range(20):
        keep = ~np.isnan(a[i]) & ~np.isnan(b[i])
        x, y = a[i, keep], b[i, keep]
        if keep.sum() < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            assert np.isnan(tau[i]) and np.isnan(rho[i])
            continue
        assert tau[i] == pytest.approx(stats.kendalltau(x, y).statistic, abs=TOL)
        assert rho[i] == pytest.approx(stats.spearmanr(x, y).statistic, abs=TOL)


def test_bootstrap_interval_is_seeded_and_stratified_by_condition():
    rng = np.random.default_rng(1)
    conditions = np.repeat(np.arange(6), 40)
    a = conditions * 0.3 + rng.normal(size=240)
    b = conditions * 0.3 + rng.normal(size=240)
    run = lambda seed: rank_agreement(conditions, a, b, n_boot=500, seed=seed)  # noqa: E731
    first, again = run(7), run(7)
    assert first.kendall_tau_b.ci_low == again.kendall_tau_b.ci_low
    assert first.kendall_tau_b.ci_low <= first.kendall_tau_b.value <= first.kendall_tau_b.ci_high
    assert first.spearman.ci_method == "bootstrap_percentile" and first.n_a == (40,) * 6
    assert first.kendall_tau_b.extra["p_value"] is not None


def test_rank_edge_cases():
    assert rank_agreement([], [], [], n_boot=0).kendall_tau_b.extra["reason"] == "empty"
    one = rank_agreement(["a", "a"], [1, 2], [2, 3], n_boot=0)
    assert one.kendall_tau_b.status == STATUS_INSUFFICIENT
    assert one.kendall_tau_b.extra["reason"] == "too_few_conditions"
    flat = rank_agreement(["a", "b", "c"], [1, 1, 1], [1, 2, 3], n_boot=10)
    assert flat.spearman.status == STATUS_NO_VARIATION and flat.spearman.extra["constant_side"] == "a"
    missing_side = rank_agreement(["a", "b", "c"], [1, 2, 3], [np.nan, 2, np.nan], n_boot=0)
    assert missing_side.kendall_tau_b.status == STATUS_INSUFFICIENT and missing_side.mean_b[0] is None


def simulate_battles(seed, n=500, strengths=(0.0, 0.5, 1.0, -0.3), tie_share=0.1):
    rng = np.random.default_rng(seed)
    strengths = np.asarray(strengths)
    a = rng.integers(0, len(strengths), n)
    b = (a + rng.integers(1, len(strengths), n)) % len(strengths)
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    u = rng.random(n)
    score = np.where(u < tie_share, 0.5, np.where(rng.random(n) < p, 1.0, 0.0))
    return [f"m{i}" for i in a], [f"m{i}" for i in b], score


def logit_reference(pa, pb, score):
    players = sorted(set(pa) | set(pb))
    x = np.zeros((len(score), len(players)))
    x[np.arange(len(score)), [players.index(p) for p in pa]] = 1
    x[np.arange(len(score)), [players.index(p) for p in pb]] = -1
    fit = sm.Logit(score, x[:, 1:]).fit(disp=0, method="newton", tol=1e-14, maxiter=100)
    theta = np.r_[0.0, fit.params]
    return theta - theta.mean()


@FAST
@given(st.integers(0, 2**32 - 1))
def test_bradley_terry_matches_statsmodels_logit_with_half_wins(seed):
    pa, pb, score = simulate_battles(seed)
    res = bradley_terry(pa, pb, score, n_boot=0)
    assert res.status == STATUS_OK and res.n_ties == int((score == 0.5).sum())
    expected = logit_reference(pa, pb, score)
    np.testing.assert_allclose([r.theta for r in res.ratings], expected, atol=1e-8)
    for r in res.ratings:
        assert r.elo == pytest.approx(400 / math.log(10) * r.theta + 1000, abs=TOL)
    assert sum(r.theta for r in res.ratings) == pytest.approx(0, abs=TOL)


def test_bradley_terry_drops_ties_on_request_and_bootstraps():
    pa, pb, score = simulate_battles(3)
    dropped = bradley_terry(pa, pb, score, ties="drop", n_boot=200, seed=1)
    keep = score != 0.5
    expected = logit_reference(list(np.array(pa)[keep]), list(np.array(pb)[keep]), score[keep])
    np.testing.assert_allclose([r.theta for r in dropped.ratings], expected, atol=1e-8)
    assert dropped.n_comparisons == keep.sum() and dropped.ties == "drop"
    for r in dropped.ratings:
        assert r.elo_ci_low < r.elo < r.elo_ci_high
    again = bradley_terry(pa, pb, score, ties="drop", n_boot=200, seed=1)
    assert [r.elo_ci_low for r in again.ratings] == [r.elo_ci_low for r in dropped.ratings]
    best = max(dropped.ratings, key=lambda r: r.elo)
    assert best.name == "m2"


def test_bradley_terry_without_a_finite_mle_is_not_identifiable():
    res = bradley_terry(["a", "a", "b"], ["b", "c", "c"], [1, 1, 1], n_boot=0)  # a never loses
    assert res.status == STATUS_NOT_IDENTIFIABLE and res.ratings == ()
    assert bradley_terry([], [], [], n_boot=0).status == STATUS_INSUFFICIENT
    with pytest.raises(ValueError, match="score_a"):
        bradley_terry(["a"], ["b"], [0.3])
    with pytest.raises(ValueError, match="two different players"):
        bradley_terry(["a"], ["a"], [1])


# --- pinned by mutation testing: defaults, input forms, sizes, the seeded resampling --------------

def _rank_data():
    rng = np.random.default_rng(21)
    conditions = np.repeat(["p", "q", "r", "s", "t"], [4, 5, 3, 6, 4])
    a = np.arange(conditions.size) * 0.1 + rng.normal(size=conditions.size)
    b = np.arange(conditions.size) * 0.1 + rng.normal(size=conditions.size)
    return list(conditions), a, b


def test_rank_agreement_defaults_are_1000_resamples_with_seed_0():
    conditions, a, b = _rank_data()
    default = rank_agreement(conditions, a, b)
    explicit = rank_agreement(conditions, a, b, n_boot=1000, seed=0, confidence=0.95)
    for d, e in [(default.kendall_tau_b, explicit.kendall_tau_b), (default.spearman, explicit.spearman)]:
        assert (d.n_boot, d.seed, d.ci_level) == (1000, 0, 0.95)
        assert (d.ci_low, d.ci_high) == (e.ci_low, e.ci_high)


def test_stratified_weights_replay_the_seeded_draws_condition_by_condition():
    from agreement.metrics.ranking import _stratified_weights

    codes = np.array([1, 0, 1, 2, 0, 1, 2, 2])
    w = _stratified_weights(codes, 3, 7, seed=42)
    rng = np.random.default_rng(42)
    expected = np.zeros((7, codes.size))
    for c in range(3):
        members = np.flatnonzero(codes == c)
        draws = rng.integers(0, members.size, size=(7, members.size))
        for r in range(7):
            expected[r, members] = np.bincount(draws[r], minlength=members.size)
    np.testing.assert_array_equal(w, expected)


def test_rank_agreement_accepts_columns_and_none_as_missing():
    conditions, a, b = _rank_data()
    a[[2, 7]] = np.nan
    b[[4, 7]] = np.nan
    flat = rank_agreement(conditions, a, b, n_boot=50, seed=3)
    column = rank_agreement(conditions, a.reshape(-1, 1), b.reshape(-1, 1), n_boot=50, seed=3)
    listed = rank_agreement(conditions, [None if np.isnan(v) else v for v in a],
                            [None if np.isnan(v) else v for v in b], n_boot=50, seed=3)
    for other in (column, listed):
        assert other == flat


def test_rank_agreement_length_mismatch_message():
    with pytest.raises(ValueError, match="^conditions, scores_a and scores_b must have the same length$"):
        rank_agreement(["a", "b"], [1, 2], [1, 2, 3], n_boot=0)


def test_rank_agreement_sizes_count_only_items_of_conditions_scored_on_both_sides():
    nan = np.nan
    conditions = ["p", "p", "q", "q", "r", "r", "s", "s", "t"]
    a = [1.0, nan, 2.0, 3.0, 4.0, nan, 5.0, 6.0, nan]  # t: no score on side a
    b = [2.0, 1.0, nan, 4.0, nan, 3.0, 6.0, nan, 7.0]
    # p, q, r, s enter; item 8 (t) does not; every item of p..s has at least one score
    res = rank_agreement(conditions, a, b, n_boot=0)
    for coef in (res.kendall_tau_b, res.spearman):
        assert (coef.n_items, coef.n_ratings, coef.n_items_total, coef.n_ratings_total) == (8, 11, 9, 12)
        assert coef.extra["n_conditions"] == 4
    both_missing = rank_agreement(conditions + ["p"], a + [nan], b + [nan], n_boot=0)
    assert both_missing.kendall_tau_b.n_items == 8 and both_missing.kendall_tau_b.n_items_total == 10
    assert res.n_a == (1, 2, 1, 2, 0) and res.n_b == (2, 1, 1, 1, 1)


def test_rank_agreement_interval_needs_a_resample_and_two_conditions():
    conditions, a, b = _rank_data()
    none = rank_agreement(conditions, a, b, n_boot=0)
    one = rank_agreement(conditions, a, b, n_boot=1, seed=4)
    for coef in (none.kendall_tau_b, none.spearman):
        assert (coef.ci_low, coef.ci_high, coef.ci_method, coef.ci_level, coef.n_boot, coef.seed) == (
            None, None, None, None, 0, None)
        assert "n_boot_undefined" not in coef.extra
    for coef in (one.kendall_tau_b, one.spearman):
        assert (coef.ci_method, coef.n_boot, coef.seed, coef.ci_level) == ("bootstrap_percentile", 1, 4, 0.95)
        assert coef.ci_low == coef.ci_high is not None
    # exactly two conditions: each resample's correlation is +1 or -1
    two = rank_agreement(["p", "p", "q", "q"], [1.0, 2.0, 3.0, 5.0], [1.0, 1.5, 2.0, 4.0], n_boot=30, seed=2)
    for coef in (two.kendall_tau_b, two.spearman):
        assert coef.value == 1.0 and coef.ci_method == "bootstrap_percentile" and coef.n_boot == 30
        assert coef.ci_low is not None and coef.ci_high == 1.0


def test_rank_agreement_names_statuses_and_extras():
    conditions, a, b = _rank_data()
    res = rank_agreement(conditions, a, b, n_boot=40, seed=1)
    ma = [np.mean(a[np.array(conditions) == c]) for c in "pqrst"]
    mb = [np.mean(b[np.array(conditions) == c]) for c in "pqrst"]
    for coef, name, ref in [(res.kendall_tau_b, "kendall_tau_b", stats.kendalltau(ma, mb)),
                            (res.spearman, "spearman_rho", stats.spearmanr(ma, mb))]:
        assert (coef.name, coef.status) == (name, STATUS_OK)
        assert coef.value == pytest.approx(ref.statistic, abs=TOL)
        assert coef.extra == {"n_conditions": 5, "p_value": pytest.approx(ref.pvalue, abs=TOL), "n_boot_undefined": 0}
    flat = rank_agreement(["a", "b", "c"], [1, 1, 1], [1, 2, 3], n_boot=10)
    few = rank_agreement(["a", "a"], [1, 2], [2, 3], n_boot=10)
    for name in ("kendall_tau_b", "spearman_rho"):
        coef = flat.kendall_tau_b if name == "kendall_tau_b" else flat.spearman
        assert (coef.name, coef.status, coef.extra) == (name, STATUS_NO_VARIATION,
                                                       {"n_conditions": 3, "constant_side": "a"})
        coef = few.kendall_tau_b if name == "kendall_tau_b" else few.spearman
        assert (coef.name, coef.status, coef.extra) == (name, STATUS_INSUFFICIENT,
                                                       {"n_conditions": 1, "reason": "too_few_conditions"})
        assert (coef.ci_low, coef.n_boot, coef.seed) == (None, 0, None)


def test_bradley_terry_defaults_input_forms_and_messages():
    pa, pb, score = simulate_battles(5, n=120)
    default = bradley_terry(pa, pb, score)
    explicit = bradley_terry(pa, pb, score, ties="half", n_boot=1000, seed=0, confidence=0.95)
    assert (default.n_boot, default.seed, default.ci_level) == (1000, 0, 0.95)
    assert default == explicit
    column = bradley_terry(pa, pb, score.reshape(-1, 1), n_boot=30, seed=2)
    score_list = [None if i == 3 else float(v) for i, v in enumerate(score)]
    listed = bradley_terry(pa, pb, score_list, n_boot=30, seed=2)
    masked = score.copy()
    masked[3] = np.nan
    assert column == bradley_terry(pa, pb, score, n_boot=30, seed=2)
    assert listed == bradley_terry(pa, pb, masked, n_boot=30, seed=2)
    with pytest.raises(ValueError, match=r"^ties must be one of \('half', 'drop'\)$"):
        bradley_terry(pa, pb, score, ties="ignore")
    with pytest.raises(ValueError, match="^player_a, player_b and score_a must have the same length$"):
        bradley_terry(["a", "b"], ["b"], [1, 0])
    with pytest.raises(ValueError, match=r"^score_a must be 1 \(a won\), 0 \(b won\), 0.5 \(tie\) or NaN$"):
        bradley_terry(["a"], ["b"], [2])
    with pytest.raises(ValueError, match="^a comparison needs two different players$"):
        bradley_terry(["a", "b"], ["b", "b"], [1, 0])


def test_bradley_terry_whole_results():
    scale = {"scale": "400/ln(10)*theta + 1000, mean theta 0"}
    # two players, a wins 3 of 4: theta_a - theta_b = ln 3, centred
    two = bradley_terry(["a", "a", "a", "b"], ["b", "b", "b", "a"], [1, 1, 1, 1], n_boot=0)
    assert (two.status, two.n_comparisons, two.n_ties, two.ties, two.ci_level, two.n_boot, two.seed) == (
        STATUS_OK, 4, 0, "half", None, 0, None)
    assert two.extra == scale
    assert [r.name for r in two.ratings] == ["a", "b"] and [r.n_comparisons for r in two.ratings] == [4, 4]
    assert [r.theta for r in two.ratings] == [pytest.approx(math.log(3) / 2, abs=TOL),
                                              pytest.approx(-math.log(3) / 2, abs=TOL)]
    assert all(r.elo_ci_low is None and r.elo_ci_high is None for r in two.ratings)
    # comparisons per player: a plays 3 + 1, b 3 + 2, c 1 + 2
    three = bradley_terry(["a", "a", "a", "b", "b", "c", "a"], ["b", "b", "b", "c", "c", "a", "c"],
                          [1, 0, 0.5, 1, 0, 1, 1], n_boot=0)
    assert [r.n_comparisons for r in three.ratings] == [5, 5, 4] and three.n_ties == 1
    # one resample gives an interval
    pa, pb, score = simulate_battles(8, n=200)
    one = bradley_terry(pa, pb, score, n_boot=1, seed=6)
    assert (one.ci_level, one.n_boot, one.seed) == (0.95, 1, 6)
    assert one.extra == {**scale, "n_boot_undefined": 0}
    assert all(r.elo_ci_low == r.elo_ci_high is not None for r in one.ratings)
    # no usable comparison: all scores missing, or only ties dropped
    for res in (bradley_terry(["a", "b"], ["b", "c"], [np.nan, np.nan], n_boot=5),
                bradley_terry(["a", "b"], ["b", "c"], [0.5, 0.5], ties="drop", n_boot=5),
                bradley_terry([], [], [], n_boot=5)):
        assert (res.status, res.ratings, res.extra, res.n_comparisons) == (
            STATUS_INSUFFICIENT, (), {"reason": "empty"}, 0)
        assert (res.ci_level, res.n_boot, res.seed) == (None, 0, None)
    lost = bradley_terry(["a", "a", "b"], ["b", "c", "c"], [1, 1, 1], n_boot=5)
    assert lost.extra == {"reason": "a player never wins or never loses against the rest"}
    assert (lost.ci_level, lost.n_boot, lost.seed, lost.n_comparisons) == (None, 0, None, 3)


def test_bradley_terry_step_halving_also_rejects_small_likelihood_losses():
    # A win matrix on which a full Newton step lowers the log-likelihood by less than 1 (fractional
    # counts, as resampling weights give): the path must still never go down.
    from agreement.metrics.ranking import _fit

    wins = np.array([[0, 35, 0, 2492, 71], [422, 0, 0, 0, 4], [0, 12, 0, 0, 1546], [0, 1, 0, 0, 2279],
                     [0, 0, 1, 2, 0]], float) / 100

    def loglik(theta):
        return float((wins * -np.logaddexp(0.0, -(theta[:, None] - theta[None, :]))).sum())

    values = [loglik(_fit(wins, max_iter=m)) for m in range(1, 15)]
    assert all(later >= earlier - 1e-9 for earlier, later in zip(values, values[1:], strict=False))


@pytest.mark.filterwarnings("error")
def test_vectorised_tau_b_and_spearman_with_missing_values_on_either_side_and_constant_rows():
    rng = np.random.default_rng(17)
    a = rng.integers(0, 4, (30, 6)).astype(float)
    b = rng.integers(0, 4, (30, 6)).astype(float)
    a[rng.random((30, 6)) < 0.15] = np.nan
    b[rng.random((30, 6)) < 0.15] = np.nan
    a[0] = 2.0  # a constant row: 0/0, no warning
    tau, rho = _tau_b(a, b), _spearman(a, b)
    assert np.isnan(tau[0]) and np.isnan(rho[0])
    for i in range(1, 30):
        keep = ~np.isnan(a[i]) & ~np.isnan(b[i])
        x, y = a[i, keep], b[i, keep]
        if keep.sum() < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            assert np.isnan(tau[i]) and np.isnan(rho[i])
            continue
        assert tau[i] == pytest.approx(stats.kendalltau(x, y).statistic, abs=TOL)
        assert rho[i] == pytest.approx(stats.spearmanr(x, y).statistic, abs=TOL)


def test_conditions_are_ordered_by_value_or_by_text_when_types_mix():
    numeric = rank_agreement([10, 2, 9, 10, 2, 9], [1, 2, 3, 2, 3, 4], [1, 3, 2, 2, 4, 3], n_boot=0)
    assert numeric.conditions == (2, 9, 10) and numeric.mean_a == (2.5, 3.5, 1.5)
    mixed = rank_agreement([1, "b", "a", 1, "b", "a"], [1, 2, 3, 2, 3, 4], [1, 3, 2, 2, 4, 3], n_boot=0)
    assert mixed.conditions == (1, "a", "b") and mixed.mean_a == (1.5, 3.5, 2.5)
    assert mixed.kendall_tau_b.value == pytest.approx(stats.kendalltau([1.5, 3.5, 2.5], [1.5, 2.5, 3.5]).statistic)
    players = bradley_terry([1, "x", 1, "x"], ["x", 2, 2, 1], [1, 1, 0, 0.5], n_boot=0)
    assert [r.name for r in players.ratings] == [1, 2, "x"]
