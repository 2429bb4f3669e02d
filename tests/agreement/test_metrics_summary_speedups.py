"""The report's shortcuts against the definitions they replace: the t interval against scipy's, the bootstrap
percentile interval against np.quantile, the average pairwise kappa without per-pair results against the one
with them, its pair counts and spread against those taken from the listed pairs, the pair bootstrap's kappas
against the whole table statistics of the same draws, the exact tau-b p-value against tau-b of every ordering
computed whole, the results' plain JSON form against ``dataclasses.asdict`` with the numbers cleaned after, the
category index check against the values it gathered before, and Conger's features against the stacked columns."""

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agreement.metrics import agreement_summary, conger_kappa, fleiss_kappa, judge_agreement, pairwise_cohen_kappa
from agreement.metrics import conger as conger_module
from agreement.metrics import kappa as kappa_module
from agreement.metrics._bootstrap import percentile_interval
from agreement.metrics._core import _check_indices, agreement_weights, t_interval
from agreement.metrics.clustered import exact_tau_pvalue
from agreement.metrics.ranking import _tau_b
from agreement.metrics.results import REASON_NO_OVERLAP, Coefficient, RaterPair, _plain

from ._metrics_strategies import rating_matrices
from .test_metrics_kappa_speedups import designs

nan = np.nan


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("df", [1, 2, 3, 9, 29, 199, 1959, 10**6])
def test_t_interval_is_scipys_to_the_last_bit(confidence, df):
    rng = np.random.default_rng(df)
    drawn = zip(rng.normal(size=5), rng.exponential(size=5), strict=True)
    for value, se in [(0.0, 1.0), (0.37, 0.05), (-0.9, 2.5e-4), *drawn]:
        expected = stats.t.interval(confidence, df=df, loc=value, scale=se)
        assert t_interval(confidence, df, float(value), float(se)) == (float(expected[0]), float(expected[1]))


@given(confidence=st.floats(0.01, 0.999), df=st.integers(1, 10**5), value=st.floats(-1, 1),
       se=st.floats(1e-9, 10))
@settings(max_examples=200, deadline=None)
def test_t_interval_is_scipys_everywhere(confidence, df, value, se):
    expected = stats.t.interval(confidence, df=df, loc=value, scale=se)
    assert t_interval(confidence, df, value, se) == (float(expected[0]), float(expected[1]))


def test_t_interval_figures_are_scipys():
    """The coefficients that print a t interval (over the items rated) give scipy's bounds, upper end clipped at 1."""
    ratings = designs()[0]
    df = int(np.count_nonzero((~np.isnan(ratings)).any(axis=1))) - 1
    for coef in (fleiss_kappa(ratings, labels=range(4), n_boot=0), conger_kappa(ratings, labels=range(4), n_boot=0)):
        low, high = stats.t.interval(0.95, df=df, loc=coef.value, scale=coef.se)
        assert coef.ci_method == "t" and (coef.ci_low, coef.ci_high) == (float(low), min(1.0, float(high)))


def special_panels():
    """Pairs without a co-rated item, pairs rated in one category only, a single pairable item, no pair."""
    no_overlap = np.array([[0, nan, 1], [1, nan, 1], [nan, 2, 2], [nan, 0, 0], [2, nan, 1]], float)
    one_category = np.array([[1, 1, nan], [1, 1, 0], [1, 1, 2], [nan, 1, 1]], float)
    single = np.array([[0, 1, nan], [nan, nan, 2]], float)
    nothing = np.array([[0, nan], [nan, 1]], float)
    return [no_overlap, one_category, single, nothing]


def counts_from_pairs(result):
    """The average's pair counts and spread as the listed pairs give them."""
    coefs = [p.kappa for p in result.pairs]
    values = np.array([c.value for c in coefs if c.ok])
    counts = {"n_pairs": len(coefs), "n_pairs_defined": sum(c.ok for c in coefs),
              "n_pairs_no_overlap": sum(c.extra.get("reason") == REASON_NO_OVERLAP for c in coefs),
              "n_pairs_no_variation": sum(c.status == "undefined_no_variation" for c in coefs)}
    spread = {"min": float(values.min()), "max": float(values.max()), "median": float(np.median(values))} \
        if values.size else {}
    return counts, spread


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("panel", range(7))
def test_average_alone_equals_the_average_with_pairs(weights, panel):
    ratings = (designs() + special_panels())[panel]
    k = int(np.nanmax(ratings)) + 1 if np.any(~np.isnan(ratings)) else 1
    labels = list(range(max(k, 3)))
    full = pairwise_cohen_kappa(ratings, labels=labels, weights=weights)
    alone = pairwise_cohen_kappa(ratings, labels=labels, weights=weights, pairs=False)
    assert alone.pairs == () and alone.raters == full.raters
    assert alone.average.to_dict() == full.average.to_dict()
    if full.average.ok:
        counts, spread = counts_from_pairs(full)
        assert {key: full.average.extra[key] for key in (*counts, *spread)} == {**counts, **spread}


@given(rating_matrices(min_raters=2, max_raters=6, max_items=25))
@settings(max_examples=150, deadline=None)
def test_average_alone_equals_the_average_with_pairs_on_any_matrix(drawn):
    ratings, k = drawn
    labels = list(range(k))
    for weights in (None, "quadratic"):
        full = pairwise_cohen_kappa(ratings, labels=labels, weights=weights)
        alone = pairwise_cohen_kappa(ratings, labels=labels, weights=weights, pairs=False)
        assert alone.average.to_dict() == full.average.to_dict()
        if full.average.ok:
            counts, spread = counts_from_pairs(full)
            assert {key: full.average.extra[key] for key in (*counts, *spread)} == {**counts, **spread}


@pytest.mark.parametrize("ordinal", [False, True])
def test_summary_without_pairs_is_the_summary_less_its_pairs(ordinal):
    ratings = designs()[1]
    full = agreement_summary(ratings, labels=range(3), ordinal=ordinal, n_boot=50, seed=3).to_dict()
    alone = agreement_summary(ratings, labels=range(3), ordinal=ordinal, n_boot=50, seed=3, pairs=False).to_dict()
    assert full["pairwise"]["pairs"] and alone["pairwise"]["pairs"] == []
    full["pairwise"]["pairs"] = []
    assert alone == full


@pytest.mark.parametrize("weights", [None, "quadratic"])
@pytest.mark.parametrize("panel", range(5))
def test_judge_average_alone_equals_the_result_less_its_clinicians(weights, panel):
    ratings = (designs() + special_panels())[panel]
    rng = np.random.default_rng(panel)
    judge = np.where(rng.random(ratings.shape[0]) < 0.2, nan, rng.integers(0, 3, ratings.shape[0]))
    labels = list(range(int(np.nanmax(ratings)) + 1 if panel < 3 else 3))
    full = judge_agreement(ratings, judge, labels=labels, weights=weights, n_boot=30, seed=2).to_dict()
    alone = judge_agreement(ratings, judge, labels=labels, weights=weights, n_boot=30, seed=2,
                            per_rater=False).to_dict()
    assert full["per_rater"] and alone["per_rater"] == []
    assert alone == {**full, "per_rater": []}


def test_judge_average_counts_equal_those_of_its_pairs():
    ratings = special_panels()[0]
    judge = np.array([0, 1, 2, 0, nan])
    result = judge_agreement(ratings, judge, labels=range(3), n_boot=0)
    counts = {"n_pairs": 3, "n_pairs_defined": sum(p.kappa.ok for p in result.per_rater),
              "n_pairs_no_overlap": sum(p.kappa.extra.get("reason") == REASON_NO_OVERLAP for p in result.per_rater),
              "n_pairs_no_variation": sum(p.kappa.status == "undefined_no_variation" for p in result.per_rater)}
    assert {key: result.per_rater_average.extra[key] for key in counts} == counts


def tau_pvalue_by_definition(x, y):
    """Tau-b of x against every ordering of y, each computed whole."""
    observed = abs(float(_tau_b(x, y)))
    taus = [abs(float(_tau_b(np.asarray(x, float), np.asarray(p, float)))) for p in itertools.permutations(y)]
    return float(np.mean(np.array(taus) >= observed - 1e-12))


@given(k=st.integers(0, 7), seed=st.integers(0, 2**32 - 1), levels=st.integers(1, 8), missing=st.booleans())
@settings(max_examples=150, deadline=None)
def test_exact_tau_pvalue_equals_every_ordering_computed_whole(k, seed, levels, missing):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, levels, k) / 3, rng.normal(size=k).round(levels % 3)
    if missing and k:
        y[rng.integers(0, k)] = nan
    assert exact_tau_pvalue(x, y) == tau_pvalue_by_definition(x, y)


def plain_by_definition(obj):
    """asdict, then numpy values to Python ones and non-finite floats to None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain_by_definition(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): plain_by_definition(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [plain_by_definition(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj


def test_to_dict_equals_asdict_with_clean_numbers():
    coef = Coefficient(name="k", value=0.5, status="ok", n_items=np.int64(3), n_ratings=6, n_items_total=3,
                       se=float("nan"), ci_low=np.float64(-np.inf), ci_high=np.float32(0.25), warnings=("a",),
                       extra={1: [np.float64(np.nan), 2.5, float("inf"), (True, None)], "m": np.eye(2), "t": int,
                              "f": -0.0})
    pair = RaterPair(rater_a="a", rater_b=("x", 1.5), kappa=coef, percent_agreement=float("-inf"))
    for obj in (coef, pair, {"pairs": [pair, pair], "x": np.arange(3.0)}):
        plain = obj.to_dict() if hasattr(obj, "to_dict") else _plain(obj)
        assert plain == plain_by_definition(obj)
        assert json.dumps(plain, default=str) == json.dumps(plain_by_definition(obj), default=str)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic", np.array([[0, 1, 4], [1, 0, 1], [4, 1, 0.0]])])
def test_pair_bootstrap_kappas_equal_those_of_the_whole_table_statistics(weights):
    """Each pair's resampled tables, drawn as before and given to ``kappa_from_tables``."""
    ratings = np.vstack([designs()[1], np.array([[0, 0, nan, nan, nan, nan]] * 3)])  # a pair without variation
    tables = kappa_module._cross_tables(ratings, None, 3)[np.triu_indices(6, k=1)[0], :, np.triu_indices(6, k=1)[1]]
    tables = np.concatenate([tables, np.zeros((1, 3, 3))])  # and a pair without overlap
    rng, n = np.random.default_rng(11), tables.reshape(-1, 9).sum(axis=1)
    expected = np.full((tables.shape[0], 40), nan)
    for start in range(0, tables.shape[0], 4):
        block = np.arange(start, min(start + 4, tables.shape[0]))
        block = block[n[block] > 0]
        if block.size:
            probs = tables.reshape(-1, 9)[block] / n[block, None]
            draws = rng.multinomial(n[block, None].astype(np.int64), probs[:, None, :], size=(block.size, 40))
            expected[block] = kappa_module.kappa_from_tables(draws.reshape(block.size, 40, 3, 3).astype(float),
                                                             weights)["kappa"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kappa_module, "_PAIRS_PER_DRAW", 4)
        got = kappa_module._bootstrap_pairs(tables, weights, 40, 11)
    np.testing.assert_array_equal(got, expected)


@given(values=st.lists(st.floats(-3, 3) | st.sampled_from([0.0, 0.5, 1.0, np.nan, np.inf, -np.inf]), max_size=400),
       confidence=st.floats(0.001, 0.999) | st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=400, deadline=None)
def test_percentile_interval_is_np_quantile_to_the_last_bit(values, confidence):
    replicates = np.array(values, dtype=float)
    finite = replicates[np.isfinite(replicates)]
    expected = (tuple(float(v) for v in np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2]))
                if finite.size else (None, None))
    assert percentile_interval(replicates, confidence) == (*expected, replicates.size - finite.size)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 999, 1000, 1001])
def test_percentile_interval_of_bootstrap_sized_samples(n):
    rng = np.random.default_rng(n)
    for replicates in (rng.normal(size=n), rng.integers(0, 4, n) / 3, rng.normal(size=n).astype(np.float32)):
        for confidence in (0.5, 0.8, 0.9, 0.95, 0.99):
            low, high = np.quantile(replicates.astype(float), [(1 - confidence) / 2, (1 + confidence) / 2])
            assert percentile_interval(replicates, confidence) == (float(low), float(high), 0)


def test_percentile_interval_halfway_between_two_replicates_is_np_quantiles():
    """Exactly halfway (3 replicates at 50 %) numpy interpolates back from the upper neighbour: here
    b - (b - a) / 2 and a + (b - a) / 2 differ in the last bit."""
    replicates = np.array([-0.1321048632913019, 0.1257302210933933, 1.1257302210933933])
    a, b = replicates[:2]
    assert b - (b - a) * 0.5 != a + (b - a) * 0.5
    low, high = np.quantile(replicates, [0.25, 0.75])
    assert percentile_interval(replicates, 0.5) == (float(low), float(high), 0)


def indices_valid_by_definition(values, k):
    observed = values[~np.isnan(values)]
    return not (observed.size and (np.any(observed != np.floor(observed)) or observed.min() < 0
                                   or observed.max() > k - 1))


@given(values=st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, -0.0, np.nan]) | st.floats(allow_nan=True), max_size=30),
       k=st.integers(1, 4), shape=st.sampled_from([(-1,), (-1, 1)]))
@settings(max_examples=400, deadline=None)
def test_category_index_check_accepts_exactly_what_it_did(values, k, shape):
    matrix = np.array(values, dtype=float).reshape(shape)
    if indices_valid_by_definition(matrix, k):
        _check_indices(matrix, k)
    else:
        with pytest.raises(ValueError, match="category indices"):
            _check_indices(matrix, k)


@pytest.mark.parametrize("panel", range(7))
def test_conger_features_equal_the_stacked_columns(panel):
    ratings = (designs() + special_panels())[panel]
    k = 4
    for w in (np.eye(k), agreement_weights(k, "quadratic")):
        counts, pairable, pa_i = conger_module._item_parts(ratings, k, w)
        r_i = counts.sum(axis=1)
        np.testing.assert_array_equal(pairable, r_i >= 2)
        onehot = (ratings[:, :, None] == np.arange(k)).reshape(ratings.shape[0], -1).astype(float)
        expected = np.column_stack([np.ones(ratings.shape[0]), (r_i >= 2).astype(float), pa_i, onehot])
        np.testing.assert_array_equal(conger_module._features(ratings, k, pairable, pa_i), expected)
        # The sums without the rows: counts exactly, the p_a,i total up to the order of the additions.
        sums = conger_module._feature_sums(ratings, k, pairable, pa_i)
        np.testing.assert_array_equal(np.delete(sums, 2), np.delete(expected.sum(axis=0), 2))
        assert sums[2] == pytest.approx(expected[:, 2].sum(), rel=1e-15, abs=1e-15)
