"""Pairwise and judge kappas against definitions written out here: the jackknife of the average when some
pairs have no variation, the pairwise options and defaults, the judge's consensus options and scale."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from agreement.metrics import cohen_kappa, consensus_ratings, judge_agreement, pairwise_cohen_kappa
from agreement.metrics.kappa import kappa_from_tables

TOL = 1e-9
nan = np.nan


def sk_kappa(a, b, k, weights):
    """scikit-learn's kappa on the items both rated; NaN without a common item or without variation."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if not both.any():
        return nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a[both], b[both], labels=list(range(k)), weights=weights)


def mean_defined(values):
    values = [v for v in values if np.isfinite(v)]
    return np.mean(values) if values else nan


def pairwise_mean(ratings, k, weights):
    r = ratings.shape[1]
    return mean_defined([sk_kappa(ratings[:, i], ratings[:, j], k, weights) for i in range(r) for j in range(i + 1, r)])


def judge_mean(ratings, judge, k, weights):
    return mean_defined([sk_kappa(ratings[:, r], judge, k, weights) for r in range(ratings.shape[1])])


def jackknife_se(statistic, n_rows, rows):
    """Delete-one-row jackknife SE of ``statistic(kept_rows_mask)`` over ``rows``."""
    reps = []
    for i in rows:
        keep = np.ones(n_rows, bool)
        keep[i] = False
        reps.append(statistic(keep))
    reps = np.array(reps)
    m = len(rows)
    return np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum())


def test_kappa_from_tables_gives_float_arrays_with_nan_where_undefined():
    # sample-size planning reads these arrays directly, so undefined entries must be NaN, not None
    defined = np.array([[5, 1], [2, 4]], float)
    tables = np.stack([np.zeros((2, 2)), np.array([[0, 0], [0, 3]], float), defined])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 of the undefined tables is silenced
        res = kappa_from_tables(tables, None)
    sm = sm_cohens_kappa(defined)
    for key in ("kappa", "se", "agreement", "n"):
        assert res[key].dtype == np.float64
    np.testing.assert_array_equal(res["n"], [0, 3, 12])
    np.testing.assert_array_equal(res["defined"], [False, False, True])
    np.testing.assert_allclose(res["kappa"], [nan, nan, sm.kappa], atol=TOL)
    np.testing.assert_allclose(res["se"], [nan, nan, sm.std_kappa], atol=TOL)
    np.testing.assert_allclose(res["agreement"], [nan, 1.0, 9 / 12], atol=TOL)


# Raters 0 and 2 agree on category 0 on their three common items: that pair has no variation and
# must stay out of the average and of every jackknife replicate; (1, 2) is defined (one side varies).
WITH_CONSTANT_PAIR = np.array([
    [0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, nan], [1, 0, nan], [0, 0, nan], [1, 1, nan], [2, 2, nan], [2, 1, nan],
    [2, 2, nan], [1, 2, nan],
], float)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_pairwise_jackknife_leaves_pairs_without_variation_out(weights):
    ratings, k = WITH_CONSTANT_PAIR, 3
    res = pairwise_cohen_kappa(ratings, labels=list(range(k)), weights=weights)
    assert [p.kappa.status for p in res.pairs] == ["ok", "undefined_no_variation", "ok"]
    rows = np.flatnonzero((~np.isnan(ratings)).sum(axis=1) >= 2)
    se = jackknife_se(lambda keep: pairwise_mean(ratings[keep], k, weights), len(ratings), rows)
    assert res.average.value == pytest.approx(pairwise_mean(ratings, k, weights), abs=TOL)
    assert res.average.se == pytest.approx(se, abs=TOL)


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_judge_jackknife_leaves_clinicians_without_variation_out(weights):
    # clinician 1 and the judge both say 0 on their common items: no variation
    ratings = WITH_CONSTANT_PAIR[:, [0, 2]]
    judge = np.array([0, 0, 0, 1, 1, 0, 1, 2, 2, 2, 0], float)
    res = judge_agreement(ratings, judge, labels=[0, 1, 2], weights=weights, n_boot=0)
    assert [p.kappa.status for p in res.per_rater] == ["ok", "undefined_no_variation"]
    rows = np.flatnonzero(~np.isnan(judge) & (~np.isnan(ratings)).any(axis=1))
    se = jackknife_se(lambda keep: judge_mean(ratings[keep], judge[keep], 3, weights), len(ratings), rows)
    assert res.per_rater_average.value == pytest.approx(judge_mean(ratings, judge, 3, weights), abs=TOL)
    assert res.per_rater_average.se == pytest.approx(se, abs=TOL)


def test_pairwise_bootstrap_defaults_are_1000_resamples_with_seed_0():
    rng = np.random.default_rng(2)
    ratings = rng.integers(0, 2, (12, 3)).astype(float)
    default = pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap")
    explicit = pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap", n_boot=1000, seed=0)
    assert default.to_dict() == explicit.to_dict()
    assert all((p.kappa.n_boot, p.kappa.seed) == (1000, 0) for p in default.pairs)
    # each pair's interval is the percentile interval of its own seeded Multinomial(n, T / n) tables
    assert default.to_dict() != pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap", n_boot=999,
                                                     seed=0).to_dict()
    assert default.to_dict() != pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap", seed=1).to_dict()


def test_pairwise_validates_the_weighting():
    with pytest.raises(ValueError, match="^weights must be one of"):
        pairwise_cohen_kappa(np.zeros((2, 2)), labels=[0, 1], weights="cubic")


def test_pairwise_percent_agreement_needs_a_co_rated_item():
    ratings = np.array([[0, 0, nan], [1, 0, nan], [nan, 1, 1], [nan, 0, 1]], float)
    res = pairwise_cohen_kappa(ratings, labels=[0, 1])
    assert [p.percent_agreement for p in res.pairs] == [0.5, None, 0.5]
    assert res.pairs[1].kappa.extra == {"reason": "no_overlap"}


@pytest.mark.parametrize(("a", "b", "clipped"), [
    ([0, 1, 0, 1, 0], [1, 0, 1, 0, 0], True),  # kappa -2/3, kappa - z se below -1
    ([0, 1, 2, 2, 1, 0, 2, 1, 0, 1], [0, 1, 2, 1, 1, 0, 2, 2, 0, 0], False),
])
def test_pair_wald_interval_is_clipped_at_minus_one_and_says_so_only_then(a, b, clipped):
    table = np.zeros((3, 3))
    np.add.at(table, (a, b), 1)
    sm = sm_cohens_kappa(table)
    z = stats.norm.ppf(0.975)
    pair = pairwise_cohen_kappa(np.column_stack([a, b]).astype(float), labels=[0, 1, 2]).pairs[0].kappa
    assert pair.value == pytest.approx(sm.kappa, abs=TOL) and pair.se == pytest.approx(sm.std_kappa, abs=TOL)
    low = -1.0 if clipped else pytest.approx(sm.kappa - z * sm.std_kappa, abs=TOL)
    assert (pair.ci_low, pair.ci_high) == (low, pytest.approx(sm.kappa + z * sm.std_kappa, abs=TOL))
    assert pair.extra == {"se_method": "fleiss_cohen_everitt_1969", "percent_agreement": np.trace(table) / len(a),
                          "weights": None, **({"ci_clipped": True} if clipped else {})}


# Majority ties: items 1, 4, 5 and 6 (two or three categories share the top count)
TIED = np.array([[0, 0, 1], [0, 1, nan], [2, nan, nan], [nan] * 3, [1, 2, nan], [0, 2, nan], [0, 1, 2], [1, 1, 2],
                 [2, 2, 0], [1, 1, 1]], float)
TIED_JUDGE = np.array([0, 1, 2, 1, 2, 0, 1, 1, 2, nan], float)


def test_judge_refuses_an_ordered_tie_rule_on_a_nominal_scale_and_says_what_was_asked():
    res = judge_agreement(TIED, TIED_JUDGE, labels=["a", "b", "c"], weights="linear", tie="higher",
                          scale="nominal", n_boot=0)
    assert res.vs_consensus.to_dict() == {
        "name": "judge_vs_consensus_kappa_linear", "value": None, "status": "invalid_for_scale", "n_items": 0,
        "n_ratings": 0, "n_items_total": 10, "n_ratings_total": 22 + 9, "se": None, "ci_low": None,
        "ci_high": None, "ci_method": None, "ci_level": None, "n_boot": 0, "seed": None, "warnings": [],
        "extra": {"reason": "tie_rule_needs_ordered_scale", "consensus": "majority", "tie": "higher",
                  "scale": "nominal"},
    }
    assert (res.consensus_tie_rule, res.n_consensus_ties, res.scale) == ("higher", 0, "nominal")


@pytest.mark.parametrize(("tie", "expected"), [("lower", [0, 0, 2, nan, 1, 0, 0, 1, 2, 1]),
                                               ("higher", [0, 1, 2, nan, 2, 2, 2, 1, 2, 1])])
def test_judge_against_a_consensus_with_an_ordered_tie_rule(tie, expected):
    res = judge_agreement(TIED, TIED_JUDGE, labels=["a", "b", "c"], tie=tie, scale="ordinal", n_boot=0,
                          confidence=0.9)
    vs = res.vs_consensus
    centre = np.array(expected)
    assert vs.value == pytest.approx(sk_kappa(centre, TIED_JUDGE, 3, None), abs=TOL)
    assert vs.n_items == 8 and vs.ci_level == 0.9
    z = stats.norm.ppf(0.95)
    assert (vs.ci_low, vs.ci_high) == (pytest.approx(vs.value - z * vs.se, abs=TOL),
                                       pytest.approx(vs.value + z * vs.se, abs=TOL))
    assert {k: vs.extra[k] for k in ("consensus", "tie", "scale", "n_tied")} == {
        "consensus": "majority", "tie": tie, "scale": "ordinal", "n_tied": 4}
    assert (res.consensus_tie_rule, res.n_consensus_ties, res.scale) == (tie, 4, "ordinal")


def test_judge_random_tie_rule_uses_the_seed():
    def vs(seed):
        return judge_agreement(TIED, TIED_JUDGE, labels=["a", "b", "c"], tie="random", n_boot=0, seed=seed)

    for seed in (0, 3):
        centre, tied = consensus_ratings(TIED, 3, "majority", tie="random", seed=seed)
        expected = cohen_kappa(centre, TIED_JUDGE, labels=["a", "b", "c"], n_boot=0)
        res = vs(seed).vs_consensus
        assert res.value == pytest.approx(expected.value, abs=TOL) and res.se == pytest.approx(expected.se, abs=TOL)
        assert res.extra["n_tied"] == tied == 4
    assert vs(0).vs_consensus.value != vs(3).vs_consensus.value  # the seed matters on this example
