"""Cohen-kappa results field by field: names, statuses, sizes, interval bookkeeping, pair counts and the
error messages of bad input. Reports print these as they come, so each is pinned on a worked example."""

import numpy as np
import pytest

from agreement.metrics import cohen_kappa, intra_rater_agreement, judge_agreement, pairwise_cohen_kappa


def test_cohen_kappa_fields_unweighted_and_weighted():
    a = [0, 1, 2, 2, 1, 0, 2, 1, np.nan, 0]
    b = [0, 1, 2, 1, 1, 0, 2, 2, 1, np.nan]
    plain = cohen_kappa(a, b, labels=["x", "y", "z"], n_boot=40, seed=6, confidence=0.9)
    assert (plain.name, plain.status, plain.n_items, plain.n_ratings) == ("cohen_kappa", "ok", 8, 16)
    assert (plain.n_items_total, plain.n_ratings_total) == (10, 18)
    assert (plain.ci_level, plain.n_boot, plain.seed, plain.warnings) == (0.9, 40, 6, ("small_n",))
    assert plain.extra["se_method"] == "fleiss_cohen_everitt_1969" and plain.extra["weights"] is None
    assert plain.extra["percent_agreement"] == pytest.approx(6 / 8) and plain.extra["n_boot_undefined"] == 0
    weighted = cohen_kappa(a, b, labels=["x", "y", "z"], weights="linear", n_boot=0)
    assert weighted.name == "cohen_kappa_linear" and weighted.extra["weights"] == "linear"
    assert weighted.ci_level == 0.95 and weighted.n_boot == 0


def test_cohen_kappa_edge_results():
    empty = cohen_kappa([np.nan, np.nan], [np.nan, np.nan], labels=[0, 1], weights="quadratic")
    assert (empty.name, empty.status, empty.extra) == ("cohen_kappa_quadratic", "insufficient_data",
                                                      {"reason": "empty"})
    assert (empty.n_items_total, empty.n_ratings_total) == (2, 0)
    single = cohen_kappa([0, 1], [np.nan, np.nan], labels=[0, 1])
    assert single.extra == {"reason": "single_rater"} and single.name == "cohen_kappa"
    apart = cohen_kappa([0, np.nan], [np.nan, 1], labels=[0, 1])
    assert apart.status == "insufficient_data" and apart.extra == {"reason": "no_overlap"}
    assert (apart.n_items_total, apart.n_ratings_total) == (2, 2)
    same = cohen_kappa([1, 1, 1], [1, 1, 1], labels=[0, 1], n_boot=0)
    assert (same.status, same.value, same.n_items, same.n_ratings) == ("undefined_no_variation", None, 3, 6)
    assert same.extra == {"percent_agreement": 1.0} and same.warnings == ("small_n",)
    big = cohen_kappa(np.arange(20) % 2, np.arange(20) % 2, labels=[0, 1], n_boot=0)
    assert big.warnings == () and big.value == pytest.approx(1.0)


def test_pairwise_fields_and_average_counts():
    ratings = np.array([[0, 0, np.nan, np.nan], [1, 1, np.nan, 1], [0, 1, 0, np.nan], [1, 1, 1, 1],
                        [2, 2, 2, np.nan], [np.nan, 0, 0, np.nan]], float)  # d rates "1" twice: no variation
    res = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], weights="quadratic", rater_ids=["a", "b", "c", "d"])
    assert res.raters == ("a", "b", "c", "d") and res.weights == "quadratic"
    assert [(p.rater_a, p.rater_b) for p in res.pairs] == [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"),
                                                           ("b", "d"), ("c", "d")]
    names = {p.kappa.name for p in res.pairs}
    assert names == {"cohen_kappa_quadratic"}
    ab = res.pairs[0].kappa
    assert (ab.n_items, ab.n_ratings, ab.n_items_total, ab.n_ratings_total) == (5, 10, 6, 11)
    assert ab.ci_method == "wald" and ab.extra["weights"] == "quadratic"
    statuses = [p.kappa.status for p in res.pairs]
    assert statuses == ["ok", "ok", "undefined_no_variation", "ok", "undefined_no_variation",
                        "undefined_no_variation"]
    average = res.average
    assert average.name == "average_cohen_kappa_quadratic" and average.status == "ok"
    assert {k: average.extra[k] for k in ("n_pairs", "n_pairs_defined", "n_pairs_no_overlap",
                                         "n_pairs_no_variation", "weights", "se_method")} == {
        "n_pairs": 6, "n_pairs_defined": 3, "n_pairs_no_overlap": 0, "n_pairs_no_variation": 3,
        "weights": "quadratic", "se_method": "jackknife_items"}
    defined = [p.kappa.value for p in res.pairs if p.kappa.ok]
    assert average.extra["min"] == pytest.approx(min(defined)) and average.extra["max"] == pytest.approx(max(defined))
    assert average.extra["median"] == pytest.approx(np.median(defined))
    assert (average.n_items, average.n_ratings, average.n_items_total, average.n_ratings_total) == (6, 17, 6, 17)
    assert average.warnings == ("small_n",)


def test_pairwise_average_without_any_defined_pair():
    constant = np.array([[1, 1], [1, 1], [1, 1]], float)
    average = pairwise_cohen_kappa(constant, labels=[0, 1]).average
    assert (average.name, average.status, average.extra) == ("average_cohen_kappa", "undefined_no_variation",
                                                            {"percent_agreement": 1.0})
    apart = pairwise_cohen_kappa(np.array([[0, np.nan, 1], [np.nan, 1, 0]], float), labels=[0, 1]).average
    assert apart.status == "ok" and apart.extra["n_pairs_no_overlap"] == 1 and apart.extra["n_pairs_defined"] == 2
    nothing = pairwise_cohen_kappa(np.array([[0, np.nan], [np.nan, 1]], float), labels=[0, 1]).average
    assert nothing.status == "insufficient_data" and nothing.extra == {"reason": "no_pairable_item"}


def test_judge_fields():
    ratings = np.array([[0, 0], [1, 1], [1, 0], [2, 2], [0, np.nan], [np.nan, np.nan]], float)
    judge = np.array([0, 1, 1, 2, 1, 0], float)
    res = judge_agreement(ratings, judge, labels=[0, 1, 2], weights="linear", rater_ids=["p", "q"], n_boot=0)
    assert res.weights == "linear" and res.consensus_method == "majority"
    assert [(p.rater_a, p.rater_b) for p in res.per_rater] == [("p", "judge"), ("q", "judge")]
    assert res.per_rater[0].kappa.name == "cohen_kappa_linear"
    assert res.per_rater[0].percent_agreement == pytest.approx(4 / 5)
    assert (res.per_rater[0].kappa.n_items_total, res.per_rater[0].kappa.n_ratings_total) == (6, 11)
    average = res.per_rater_average
    assert average.name == "judge_average_cohen_kappa_linear" and average.status == "ok"
    assert average.extra["weights"] == "linear" and average.extra["se_method"] == "jackknife_items"
    assert (average.n_items, average.n_ratings, average.n_items_total, average.n_ratings_total) == (5, 14, 6, 15)
    vs = res.vs_consensus
    assert vs.name == "judge_vs_consensus_kappa_linear" and vs.extra["consensus"] == "majority"
    assert vs.extra["n_tied"] == 1 and vs.n_items == 4
    nobody = judge_agreement(np.full((2, 2), np.nan), [np.nan, np.nan], labels=[0, 1], n_boot=0).per_rater_average
    assert nobody.extra == {"reason": "empty"} and nobody.name == "judge_average_cohen_kappa"
    no_judge = judge_agreement(ratings, np.full(6, np.nan), labels=[0, 1, 2], n_boot=0).per_rater_average
    assert no_judge.extra == {"reason": "single_rater"}
    disjoint = judge_agreement(np.array([[0.0], [np.nan]]), [np.nan, 1], labels=[0, 1], n_boot=0)
    assert disjoint.per_rater_average.extra == {"reason": "no_overlap"}


def test_test_retest_fields():
    ids = ["r1", "r2", "r1", "r2", "r1", "r2", "r3"]
    first = [0, 1, 1, 0, 2, 2, 1]
    repeat = [0, 1, 1, 1, 2, np.nan, np.nan]
    res = intra_rater_agreement(ids, first, repeat, labels=[0, 1, 2], n_boot=0)
    assert res.weights is None and [r for r, _ in res.per_rater] == ["r1", "r2", "r3"]
    r1, r2, r3 = (c for _, c in res.per_rater)
    assert (r1.name, r1.n_items, r1.n_items_total, r1.n_ratings_total) == ("test_retest_kappa", 3, 3, 6)
    assert (r2.n_items, r2.n_items_total, r2.n_ratings_total) == (2, 3, 5)
    assert (r3.status, r3.extra, r3.n_items_total, r3.n_ratings_total) == ("insufficient_data",
                                                                          {"reason": "no_overlap"}, 1, 1)
    assert (res.pooled.n_items, res.pooled.n_items_total, res.pooled.n_ratings_total) == (5, 7, 12)
    weighted = intra_rater_agreement(ids, first, repeat, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert weighted.pooled.name == "test_retest_kappa_quadratic" and weighted.weights == "quadratic"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: cohen_kappa([0, 1], [0], labels=[0, 1]), "a and b must have the same length"),
    (lambda: pairwise_cohen_kappa(np.zeros((2, 2)), labels=[0, 1], pair_ci="jackknife"),
     r"pair_ci must be one of \('wald', 'bootstrap'\)"),
    (lambda: pairwise_cohen_kappa(np.zeros((2, 2)), labels=[0, 1], rater_ids=["a"]),
     "rater_ids must name every column of ratings"),
    (lambda: judge_agreement(np.zeros((2, 2)), [0], labels=[0, 1]),
     r"judge must have one value per item \(row of ratings\)"),
    (lambda: judge_agreement(np.zeros((2, 2)), [0, 0], labels=[0, 1], rater_ids=["a"]),
     "rater_ids must name every column of ratings"),
    (lambda: intra_rater_agreement(["a"], [0, 1], [0, 1], labels=[0, 1]),
     "rater_ids, first and repeat must have the same length"),
    (lambda: cohen_kappa([0], [0], labels=[0, 1], confidence=1.0), "confidence must lie strictly between 0 and 1"),
    (lambda: cohen_kappa([0], [0], labels=[]), "labels must declare at least one category"),
])
def test_kappa_error_messages(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()


def test_bootstrap_defaults_are_1000_resamples_with_seed_0():
    a = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], float)
    b = np.array([0, 1, 0, 0, 1, 0, 1, 1, 1, 1], float)
    for coef in (cohen_kappa(a, b, labels=[0, 1]),
                 judge_agreement(np.column_stack([a, b]), b, labels=[0, 1]).per_rater[0].kappa,
                 intra_rater_agreement(["r"] * 10, a, b, labels=[0, 1]).pooled):
        assert (coef.n_boot, coef.seed, coef.ci_method) == (1000, 0, "bootstrap_percentile")


def test_judge_and_test_retest_validate_weights_and_category_indices():
    with pytest.raises(ValueError, match="^weights must be one of"):
        judge_agreement(np.zeros((2, 2)), [0, 0], labels=[0, 1], weights="cubic")
    with pytest.raises(ValueError, match="^weights must be one of"):
        intra_rater_agreement(["a"], [0], [0], labels=[0, 1], weights="cubic")
    with pytest.raises(ValueError, match="^ratings must be category indices 0..1 or NaN$"):
        judge_agreement(np.zeros((2, 2)), [0, 2], labels=[0, 1])
    with pytest.raises(ValueError, match="^ratings must be category indices 0..1 or NaN$"):
        intra_rater_agreement(["a"], [2], [0], labels=[0, 1])
    with pytest.raises(ValueError, match="^ratings must be category indices 0..1 or NaN$"):
        intra_rater_agreement(["a"], [0], [0.5], labels=[0, 1])


def test_judge_percent_agreement_per_rater_needs_a_co_rated_item():
    ratings = np.array([[0, np.nan, 1], [1, np.nan, np.nan], [0, 1, np.nan]], float)
    judge = np.array([0, 1, np.nan])
    res = judge_agreement(ratings, judge, labels=[0, 1], n_boot=0)
    assert [p.percent_agreement for p in res.per_rater] == [1.0, None, 0.0]
    assert res.per_rater[1].kappa.extra == {"reason": "no_overlap"}


def test_test_retest_without_rows_keeps_the_name_and_zero_totals():
    pooled = intra_rater_agreement([], [], [], labels=[0, 1], weights="linear", n_boot=0).pooled
    assert (pooled.name, pooled.n_items_total, pooled.n_ratings_total) == ("test_retest_kappa_linear", 0, 0)


def _replay_blocks(tables, n_boot, seed, block=64):
    """Per-pair kappa replicates drawn as the library does: pairs in blocks of 64, empty pairs skipped."""
    tables = np.asarray(tables, float)
    k = tables.shape[-1]
    flat = tables.reshape(len(tables), k * k)
    n = flat.sum(axis=1)
    rng = np.random.default_rng(seed)
    out = np.full((len(tables), n_boot), np.nan)
    for start in range(0, len(tables), block):
        idx = np.arange(start, min(start + block, len(tables)))
        idx = idx[n[idx] > 0]
        if idx.size == 0:
            continue
        draws = rng.multinomial(n[idx, None].astype(np.int64), (flat[idx] / n[idx, None])[:, None, :],
                                size=(idx.size, n_boot))
        for row, p in zip(draws, idx, strict=True):
            for b, d in enumerate(row):
                t = d.reshape(k, k) / d.sum()
                pe = t.sum(axis=1) @ t.sum(axis=0)
                out[p, b] = (np.trace(t) - pe) / (1 - pe) if pe < 1 - 1e-12 else np.nan
    return out


def _pair_tables(ratings, k):
    tables = []
    for i in range(ratings.shape[1]):
        for j in range(i + 1, ratings.shape[1]):
            both = ~np.isnan(ratings[:, i]) & ~np.isnan(ratings[:, j])
            t = np.zeros((k, k))
            np.add.at(t, (ratings[both, i].astype(int), ratings[both, j].astype(int)), 1)
            tables.append(t)
    return tables


@pytest.mark.parametrize("design", ["all_pairs_overlap", "only_the_last_block_overlaps"])
def test_pair_bootstrap_beyond_64_pairs_equals_the_replay(design):
    rng = np.random.default_rng(3)
    if design == "all_pairs_overlap":  # 66 pairs: a second block of draws for pairs 64 and 65
        truth = rng.integers(0, 2, 30)
        ratings = np.where(rng.random((30, 12)) < 0.7, truth[:, None], rng.integers(0, 2, (30, 12))).astype(float)
    else:  # only raters 9-11 and 10-11 share items: the first block has nothing to draw
        ratings = np.full((29, 12), np.nan)
        ratings[:20, 11] = rng.integers(0, 2, 20)
        ratings[:10, 9] = np.where(rng.random(10) < 0.8, ratings[:10, 11], 1 - ratings[:10, 11])
        ratings[10:20, 10] = np.where(rng.random(10) < 0.8, ratings[10:20, 11], 1 - ratings[10:20, 11])
        ratings[20 + np.arange(9), np.arange(9)] = 0
    res = pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap", n_boot=30, seed=8)
    reps = _replay_blocks(_pair_tables(ratings, 2), 30, 8)
    for pair, rep in zip(res.pairs[-3:], reps[-3:], strict=True):
        finite = rep[np.isfinite(rep)]
        if not pair.kappa.ok:
            continue
        low, high = np.quantile(finite, [0.025, 0.975])
        assert (pair.kappa.ci_low, pair.kappa.ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


def test_pair_with_a_single_disagreeing_item_has_a_point_interval():
    ratings = np.array([[0, 1, 0], [np.nan, 0, 0], [np.nan, 1, 1], [np.nan, 1, 0]], float)
    pair = pairwise_cohen_kappa(ratings, labels=[0, 1], pair_ci="bootstrap", n_boot=20, seed=1).pairs[0].kappa
    assert pair.n_items == 1 and pair.value == 0.0 and (pair.ci_low, pair.ci_high) == (0.0, 0.0)


def test_one_resample_is_still_a_bootstrap_and_wald_pairs_report_no_resamples():
    a, b = [0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 1, 1]
    one = cohen_kappa(a, b, labels=[0, 1], n_boot=1, seed=0)
    assert (one.ci_method, one.n_boot) == ("bootstrap_percentile", 1)
    wald = pairwise_cohen_kappa(np.column_stack([a, b]), labels=[0, 1])  # n_boot defaults to 1000
    assert (wald.pairs[0].kappa.ci_method, wald.pairs[0].kappa.n_boot, wald.pairs[0].kappa.seed) == ("wald", 0, None)


@pytest.mark.parametrize(("a", "b"), [([2, 0], [0, 0]), ([0, 0], [0, 2])])
def test_cohen_kappa_validates_both_raters(a, b):
    with pytest.raises(ValueError, match="^ratings must be category indices 0..1 or NaN$"):
        cohen_kappa(a, b, labels=[0, 1])


def test_average_interval_is_clipped_at_minus_one():
    ratings = np.array([[0, 1], [1, 0], [0, 1], [1, 0], [0, 0]], float)
    average = pairwise_cohen_kappa(ratings, labels=[0, 1]).average
    assert average.value < 0 and average.value - 1.96 * average.se < -1
    assert average.ci_low == -1.0


def test_judge_validates_its_input_even_when_the_consensus_is_refused():
    # a median of nominal categories is refused, so no consensus kappa is computed; bad input still raises
    options = {"labels": [0, 1], "consensus": "median", "scale": "nominal", "n_boot": 0}
    with pytest.raises(ValueError, match="^weights must be one of"):
        judge_agreement(np.zeros((2, 2)), [0, 0], weights="cubic", **options)
    with pytest.raises(ValueError, match="^ratings must be category indices 0..1 or NaN$"):
        judge_agreement(np.zeros((2, 2)), [0, 2], **options)
