"""Fleiss, Gwet AC1/AC2, Brennan-Prediger/PABAK, percent agreement and the summary panel: published
examples (Fleiss 1971, Krippendorff 2011's data, the kappa-paradox tables), statsmodels on random
complete data, and irrCAC 0.4.4 reference values.

irrCAC pins scipy==1.12 and cannot share this environment, so its values were computed once in a
separate virtual environment (``CAC(pd.DataFrame(m), categories=..., weights=..., digits=10)``) and
are quoted here to 10 digits.
"""

import numpy as np
import pytest
from hypothesis import given
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from agreement.metrics import (
    STATUS_NO_VARIATION,
    WARN_HIGH_PREVALENCE,
    agreement_summary,
    brennan_prediger,
    fleiss_kappa,
    gwet_ac,
    pairwise_cohen_kappa,
    percent_agreement,
    prevalence,
)

from ._metrics_strategies import FAST, rating_matrices

TOL = 1e-9
IRR_TOL = 1e-9  # irrCAC rounds to 10 digits

# Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses (R irr's `diagnoses`, statsmodels' tests)
FLEISS_1971 = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
], float) - 1
DIAGNOSES = ["depression", "personality disorder", "schizophrenia", "neurosis", "other"]

nan = np.nan
# Krippendorff (2011), reliability data with missing values, items x observers, values 1..5 -> 0..4
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]).T - 1
LIKERT = [1, 2, 3, 4, 5]

# random 15 x 5 matrix with missing values and two all-missing items (K = 4)
N = None
IRR_MATRIX = np.array([
    [N, N, N, N, N], [N, N, N, N, N], [2, 3, 0, 1, 2], [2, N, 0, 3, 2], [0, 0, 3, 3, 0], [N, 3, 3, 2, N],
    [3, 0, 0, 3, 1], [N, N, 3, 1, 0], [3, 1, 0, 2, N], [1, 2, 2, N, 2], [1, N, 3, N, N], [3, 0, N, N, 0],
    [2, 3, 1, 0, 0], [0, 3, 3, N, 1], [3, N, 1, 3, N],
], dtype=float)
IRR_VALUES = {  # (coefficient, standard error) from irrCAC 0.4.4
    ("fleiss", None): (-0.0918223594, 0.068051515),
    ("gwet", None): (-0.0540525274, 0.0611184311),
    ("gwet", "linear"): (-0.1932041602, 0.0933033702),
    ("gwet", "quadratic"): (-0.3108054758, 0.149420458),
    ("bp", None): (-0.0632478632, 0.0609020591),
    ("bp", "linear"): (-0.2369230769, 0.106860442),
    ("bp", "quadratic"): (-0.4, 0.18218678),
}


def two_raters(table):
    rows = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            rows += [[i, j]] * count
    return np.array(rows, float)


def test_fleiss_1971_published_kappa_statsmodels_and_irrcac():
    res = fleiss_kappa(FLEISS_1971, labels=DIAGNOSES, n_boot=0)
    assert round(res.value, 3) == 0.430  # Fleiss (1971)
    assert res.value == pytest.approx(sm_fleiss_kappa(aggregate_raters(FLEISS_1971.astype(int), n_cat=5)[0]), abs=TOL)
    assert res.value == pytest.approx(0.4302445201, abs=IRR_TOL)
    assert res.se == pytest.approx(0.0541989355, abs=IRR_TOL)
    assert res.n_items == 30 and res.n_ratings == 180
    ac1 = gwet_ac(FLEISS_1971, labels=DIAGNOSES, n_boot=0)
    assert (ac1.value, ac1.se) == (pytest.approx(0.4478845158, abs=IRR_TOL), pytest.approx(0.0556621417, abs=IRR_TOL))
    bp = brennan_prediger(FLEISS_1971, labels=DIAGNOSES, n_boot=0)
    assert (bp.value, bp.se) == (pytest.approx(0.4444444444, abs=IRR_TOL), pytest.approx(0.0551228359, abs=IRR_TOL))


def test_krippendorff_data_with_missing_values_matches_irrcac():
    fleiss = fleiss_kappa(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0)
    assert (fleiss.value, fleiss.se) == (pytest.approx(0.7611692754, abs=IRR_TOL),
                                         pytest.approx(0.1530192035, abs=IRR_TOL))
    # irrCAC's t(n - 1) interval, upper end clipped at 1
    assert (fleiss.ci_low, fleiss.ci_high) == (pytest.approx(0.4243762794, abs=IRR_TOL), 1.0)
    assert fleiss.n_items == 11 and fleiss.n_items_total == 12 and fleiss.n_ratings == 40
    ac1 = gwet_ac(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0)
    assert (ac1.value, ac1.se) == (pytest.approx(0.7754440681, abs=IRR_TOL), pytest.approx(0.1429499506, abs=IRR_TOL))
    ac2 = gwet_ac(KRIPPENDORFF_2011, labels=LIKERT, weights="quadratic", n_boot=0)
    assert ac2.name == "gwet_ac2"
    assert (ac2.value, ac2.se) == (pytest.approx(0.9140007236, abs=IRR_TOL), pytest.approx(0.1039622446, abs=IRR_TOL))
    bp = brennan_prediger(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0)
    assert (bp.value, bp.se) == (pytest.approx(0.7727272727, abs=IRR_TOL), pytest.approx(0.1447166199, abs=IRR_TOL))
    assert percent_agreement(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0).value == pytest.approx(0.8181818182)


@pytest.mark.parametrize(("method", "weights"), list(IRR_VALUES))
def test_random_matrix_with_missing_values_matches_irrcac(method, weights):
    fn = {"fleiss": lambda m, **kw: fleiss_kappa(m, **kw), "gwet": lambda m, **kw: gwet_ac(m, weights=weights, **kw),
          "bp": lambda m, **kw: brennan_prediger(m, weights=weights, **kw)}[method]
    res = fn(IRR_MATRIX, labels=[0, 1, 2, 3], n_boot=0)
    value, se = IRR_VALUES[(method, weights)]
    assert res.value == pytest.approx(value, abs=IRR_TOL)
    assert res.se == pytest.approx(se, abs=IRR_TOL)
    assert res.n_items_total == 15 and res.n_items == 13


@pytest.mark.parametrize(
    ("table", "kappa", "fleiss", "ac1"),
    [([[40, 9], [6, 45]], 291 / 416, 0.6992481203, 0.7007481297), ([[80, 10], [5, 5]], 7 / 22, 0.3142857143, 0.808)],
    ids=["balanced", "skewed"],
)
def test_kappa_paradox_panel(table, kappa, fleiss, ac1):
    summary = agreement_summary(two_raters(table), labels=["no", "yes"], n_boot=0)
    assert summary.percent_agreement.value == pytest.approx(0.85, abs=TOL)
    assert summary.fleiss_kappa.value == pytest.approx(fleiss, abs=IRR_TOL)  # Scott's pi for two raters
    assert summary.gwet_ac1.value == pytest.approx(ac1, abs=IRR_TOL)
    assert summary.brennan_prediger.value == pytest.approx(0.70, abs=TOL)  # PABAK = 2 p_o - 1
    assert summary.pairwise.average.value == pytest.approx(kappa, abs=TOL)


def test_one_disagreement_in_constant_data_edge_vector():
    ratings = np.array([[0, 0], [0, 0], [0, 0], [0, 0], [0, 1]], float)
    summary = agreement_summary(ratings, labels=["a", "b"], n_boot=0)
    assert summary.percent_agreement.value == pytest.approx(0.8)
    assert summary.fleiss_kappa.value == pytest.approx(-1 / 9, abs=TOL)
    assert summary.gwet_ac1.value == pytest.approx(0.62 / 0.82, abs=TOL)  # 0.756
    assert summary.brennan_prediger.value == pytest.approx(0.6, abs=TOL)
    assert summary.alpha["nominal"].value == pytest.approx(0.0, abs=TOL)
    assert summary.pairwise.pairs[0].kappa.value == pytest.approx(0.0, abs=TOL)
    assert summary.max_prevalence == pytest.approx(0.9) and not summary.high_prevalence  # flag: above 90 %


@FAST
@given(rating_matrices(complete=True, min_raters=2, max_raters=6))
def test_fleiss_and_brennan_prediger_match_statsmodels_on_complete_data(data):
    ratings, k = data
    counts = aggregate_raters(ratings.astype(int), n_cat=k)[0]
    res = fleiss_kappa(ratings, labels=list(range(k)), n_boot=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = sm_fleiss_kappa(counts)
    if np.isnan(expected):
        assert res.status == STATUS_NO_VARIATION and res.value is None
        assert res.extra["percent_agreement"] == 1.0
    else:
        assert res.value == pytest.approx(expected, abs=TOL)
    bp = brennan_prediger(ratings, labels=list(range(k)), n_boot=0)
    assert bp.value == pytest.approx(sm_fleiss_kappa(counts, method="randolph"), abs=TOL)


@FAST
@given(rating_matrices(min_raters=2, max_raters=2))
def test_percent_agreement_of_two_raters_is_share_of_agreeing_items(data):
    ratings, k = data
    both = ~np.isnan(ratings).any(axis=1)
    res = percent_agreement(ratings, labels=list(range(k)), n_boot=0)
    if not both.any():
        assert res.value is None
        return
    assert res.value == pytest.approx(np.mean(ratings[both, 0] == ratings[both, 1]), abs=TOL)
    bp = brennan_prediger(ratings, labels=list(range(k)), n_boot=0)
    assert bp.value == pytest.approx((k * res.value - 1) / (k - 1), abs=TOL)  # PABAK


def test_prevalence_and_high_prevalence_flag():
    ratings = np.array([[0, 0, 0]] * 19 + [[0, 1, np.nan]], float)
    shares = prevalence(ratings, labels=["safe", "unsafe", "unclear"])
    assert shares == {"safe": pytest.approx(58 / 59), "unsafe": pytest.approx(1 / 59), "unclear": 0.0}
    summary = agreement_summary(ratings, labels=["safe", "unsafe", "unclear"], n_boot=0)
    assert summary.high_prevalence and summary.max_prevalence == pytest.approx(58 / 59)
    assert WARN_HIGH_PREVALENCE in summary.fleiss_kappa.warnings
    balanced = agreement_summary(two_raters([[40, 9], [6, 45]]), labels=[0, 1], n_boot=0)
    assert not balanced.high_prevalence and balanced.fleiss_kappa.warnings == ()


def test_summary_shares_resamples_with_standalone_calls_and_is_seeded():
    rng = np.random.default_rng(8)
    truth = rng.integers(0, 5, 300)
    ratings = np.clip(truth[:, None] + rng.integers(-1, 2, (300, 6)), 0, 4).astype(float)
    ratings[rng.random((300, 6)) < 0.3] = np.nan
    summary = agreement_summary(ratings, labels=LIKERT, ordinal=True, n_boot=400, seed=3)
    alone = fleiss_kappa(ratings, labels=LIKERT, n_boot=400, seed=3)
    assert (summary.fleiss_kappa.ci_low, summary.fleiss_kappa.ci_high) == (alone.ci_low, alone.ci_high)
    ac2 = gwet_ac(ratings, labels=LIKERT, weights="quadratic", n_boot=400, seed=3)
    assert summary.gwet_ac2.ci_low == ac2.ci_low
    other = fleiss_kappa(ratings, labels=LIKERT, n_boot=400, seed=4)
    assert other.ci_low != alone.ci_low
    for coef in (summary.percent_agreement, summary.fleiss_kappa, summary.gwet_ac1, summary.brennan_prediger,
                 summary.gwet_ac2, *summary.alpha.values()):
        assert coef.ci_method == "bootstrap_percentile" and coef.seed == 3 and coef.n_boot == 400
        assert coef.ci_low < coef.value < coef.ci_high
    assert set(summary.alpha) == {"nominal", "ordinal", "interval"}
    assert summary.pairwise.weights == "quadratic"


def test_bootstrap_se_agrees_with_gwet_linearisation_at_moderate_n():
    boot = fleiss_kappa(FLEISS_1971, labels=DIAGNOSES, n_boot=4000, seed=1)
    assert (boot.ci_high - boot.ci_low) / 3.92 == pytest.approx(boot.se, rel=0.15)  # research notes: 0.0541 vs 0.0542


# --- pinned by mutation testing: defaults, the nominal panel, the pairwise part, prevalence ------------

def _panel_data():
    rng = np.random.default_rng(12)
    truth = rng.integers(0, 3, 60)
    ratings = np.clip(truth[:, None] + rng.integers(-1, 2, (60, 4)), 0, 2).astype(float)
    ratings[rng.random((60, 4)) < 0.2] = np.nan
    return ratings


@pytest.mark.parametrize("fn", [percent_agreement, fleiss_kappa, gwet_ac, brennan_prediger])
def test_standalone_defaults_are_1000_resamples_with_seed_0(fn):
    ratings = _panel_data()
    default = fn(ratings, labels=[0, 1, 2])
    assert default == fn(ratings, labels=[0, 1, 2], n_boot=1000, seed=0, confidence=0.95)
    assert (default.n_boot, default.seed, default.ci_method) == (1000, 0, "bootstrap_percentile")
    seeded = fn(ratings, labels=[0, 1, 2], n_boot=50, seed=7)
    assert seeded.seed == 7 and seeded == fn(ratings, labels=[0, 1, 2], n_boot=50, seed=7)


def test_summary_defaults_and_the_nominal_panel():
    ratings = _panel_data()
    default = agreement_summary(ratings, labels=[0, 1, 2])
    assert default == agreement_summary(ratings, labels=[0, 1, 2], ordinal=False, pairwise=True, n_boot=1000,
                                        seed=0, confidence=0.95)
    assert default.labels == (0, 1, 2) and default.gwet_ac2 is None and set(default.alpha) == {"nominal"}
    assert (default.fleiss_kappa.n_boot, default.fleiss_kappa.seed) == (1000, 0)
    assert default.pairwise.weights is None and default.pairwise.average.name == "average_cohen_kappa"


def test_summary_pairwise_part_follows_its_arguments():
    ratings = _panel_data()
    summary = agreement_summary(ratings, labels=[0, 1, 2], rater_ids=["w", "x", "y", "z"], n_boot=0,
                                confidence=0.9)
    alone = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], rater_ids=["w", "x", "y", "z"], n_boot=0,
                                 confidence=0.9)
    assert summary.pairwise == alone
    assert [(p.rater_a, p.rater_b) for p in summary.pairwise.pairs][:2] == [("w", "x"), ("w", "y")]
    assert summary.pairwise.average.ci_level == 0.9
    assert agreement_summary(ratings, labels=[0, 1, 2], pairwise=False, n_boot=0).pairwise is None


def test_high_prevalence_warning_reaches_alpha_too():
    ratings = np.array([[0, 0, 0]] * 19 + [[0, 1, np.nan]], float)
    summary = agreement_summary(ratings, labels=["safe", "unsafe", "unclear"], n_boot=0)
    assert summary.alpha["nominal"].warnings[-1] == WARN_HIGH_PREVALENCE


def test_prevalence_of_a_single_rating():
    ratings = np.array([[np.nan, 1.0], [np.nan, np.nan]])
    assert prevalence(ratings, labels=["a", "b"]) == {"a": 0.0, "b": 1.0}
    assert prevalence(np.full((2, 2), np.nan), labels=["a", "b"]) == {}


@pytest.mark.parametrize("fn", [gwet_ac, brennan_prediger])
def test_unknown_weights_are_refused_and_known_ones_reach_the_coefficient(fn):
    ratings = _panel_data()
    with pytest.raises(ValueError, match=r"^weights must be one of \(None, 'linear', 'quadratic'\), not 'cubic'$"):
        fn(ratings, labels=[0, 1, 2], weights="cubic")
    weighted = fn(ratings, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert weighted.extra["weights"] == "quadratic"
    assert weighted.value != fn(ratings, labels=[0, 1, 2], n_boot=0).value


@pytest.mark.parametrize(("n_boot", "seed", "calls"), [(400, None, 1), (1, 5, 1), (0, 0, 0)])
def test_summary_draws_one_shared_set_of_resamples(monkeypatch, n_boot, seed, calls):
    from agreement.metrics._pooled import PooledItems

    drawn = []
    original = PooledItems.resampled
    monkeypatch.setattr(PooledItems, "resampled", lambda self, b, s: drawn.append(b) or original(self, b, s))
    summary = agreement_summary(_panel_data(), labels=[0, 1, 2], ordinal=True, pairwise=False, n_boot=n_boot,
                                seed=seed)
    assert drawn == [n_boot] * calls
    if n_boot:
        assert summary.fleiss_kappa.ci_method == summary.alpha["interval"].ci_method == "bootstrap_percentile"
    drawn.clear()
    one_rater = agreement_summary(np.array([[0.0], [1.0]]), labels=[0, 1], pairwise=False, n_boot=10)
    assert drawn == [] and one_rater.fleiss_kappa.status == "insufficient_data"


@pytest.mark.parametrize(("method", "weights", "name", "value"), [
    ("fleiss", None, "fleiss_kappa", 0.7611692754),
    ("gwet", None, "gwet_ac1", 0.7754440681),
    ("gwet", "quadratic", "gwet_ac2", 0.9140007236),
    ("bp", None, "brennan_prediger", 0.7727272727),
    ("bp", "linear", "brennan_prediger_linear", None),
])
def test_pooled_results_name_the_method_and_give_both_agreements(method, weights, name, value):
    fn = {"fleiss": fleiss_kappa, "gwet": gwet_ac, "bp": brennan_prediger}[method]
    res = fn(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0, **({} if method == "fleiss" else {"weights": weights}))
    assert res.name == name
    if value is not None:  # irrCAC's values (above)
        assert res.value == pytest.approx(value, abs=IRR_TOL)
    p_a = 0.8181818182 if weights is None else res.extra["p_a"]  # Krippendorff (2011): 0.818 observed agreement
    assert res.extra == {"se_method": "gwet_linearisation", "p_a": pytest.approx(p_a, abs=IRR_TOL), "weights": weights,
                         "p_e": pytest.approx((p_a - res.value) / (1 - res.value), abs=1e-9)}
    share = percent_agreement(KRIPPENDORFF_2011, labels=LIKERT, n_boot=0)
    assert (share.name, share.extra) == ("percent_agreement", {"se_method": "sd_over_items",
                                                               "p_a": pytest.approx(0.8181818182, abs=IRR_TOL),
                                                               "weights": None})
