"""The two-way (items and raters) bootstrap of Light's average kappa replayed by hand, and pairwise kappas with a
user-given weight matrix against Cohen's (1968) weighted kappa written out on each pair's table."""

import warnings

import numpy as np
import pytest

from agreement.metrics import STATUS_INSUFFICIENT, STATUS_NO_VARIATION, _bootstrap, pairwise_cohen_kappa
from agreement.metrics.kappa_bootstrap import pairwise_average_with_matrix, two_way_bootstrap_average

from .test_se_reference import agreement_matrix, correlated_ratings

TOL = 1e-9
nan = np.nan
NEIGHBOURS = np.array([[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])


def weighted_kappa(a, b, w, counts=None):
    """(p_o - p_e) / (1 - p_e) with agreement weights ``w`` on the items both rated (``counts`` repeats them)."""
    counts = np.ones(len(a)) if counts is None else counts
    both = ~np.isnan(a) & ~np.isnan(b) & (counts > 0)
    table = np.zeros(w.shape)
    np.add.at(table, (a[both].astype(int), b[both].astype(int)), counts[both])
    if table.sum() == 0:
        return nan
    p = table / table.sum()
    pe = (w * np.outer(p.sum(axis=1), p.sum(axis=0))).sum()
    return ((w * p).sum() - pe) / (1 - pe) if pe < 1 - 1e-12 else nan


def replayed_two_way(ratings, w, n_boot, seed, confidence):
    """Item multiplicities from the library's seeded item draws, raters drawn with replacement from a second
    generator with the same seed; each replicate the mean defined kappa over pairs of two different raters."""
    n_raters = ratings.shape[1]
    items = np.concatenate(list(_bootstrap._draw_chunks(ratings.shape[0], n_boot, seed)))
    rng = np.random.default_rng(seed)
    reps = []
    for counts in items:
        draw = rng.integers(0, n_raters, size=n_raters)
        values = [weighted_kappa(ratings[:, draw[i]], ratings[:, draw[j]], w, counts)
                  for i in range(n_raters) for j in range(i + 1, n_raters) if draw[i] != draw[j]]
        values = [v for v in values if np.isfinite(v)]
        reps.append(np.mean(values) if values else nan)
    reps = np.array(reps)
    finite = reps[np.isfinite(reps)]
    return np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2]), int(reps.size - finite.size)


@pytest.mark.parametrize(("weights", "n_boot", "seed", "confidence"), [
    (None, 120, 3, 0.95), ("quadratic", 80, 0, 0.9), ("neighbours", 60, 5, 0.8),
])
def test_two_way_interval_equals_the_replayed_bootstrap(weights, n_boot, seed, confidence):
    ratings = correlated_ratings(9, 14, 4, 3, agree=0.5, missing=0.2)
    given = NEIGHBOURS if weights == "neighbours" else weights
    w = NEIGHBOURS if weights == "neighbours" else agreement_matrix(3, weights)
    (low, high), undefined = replayed_two_way(ratings, w, n_boot, seed, confidence)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = two_way_bootstrap_average(ratings, labels=[0, 1, 2], weights=given, n_boot=n_boot, seed=seed,
                                        confidence=confidence)
    light = pairwise_cohen_kappa(ratings, labels=[0, 1, 2], weights=given if isinstance(given, str) else None,
                                 n_boot=0, confidence=confidence).average
    assert res.to_dict() == {
        **light.to_dict(), "se": None, "ci_low": pytest.approx(low, abs=TOL), "ci_high": pytest.approx(high, abs=TOL),
        "ci_method": "two_way_bootstrap_percentile", "ci_level": confidence, "n_boot": n_boot, "seed": seed,
        "extra": {**{k: v for k, v in light.to_dict()["extra"].items() if k != "se_method"},
                  "n_boot_undefined": undefined, "resampled": "items and raters"},
    }
    assert light.extra["se_method"] and "se_method" not in res.extra  # no SE, so no SE method claimed


def test_replicates_without_a_defined_pair_are_counted():
    # two raters: every rater draw of the same rater twice leaves no pair
    ratings = correlated_ratings(2, 12, 2, 3, agree=0.6)
    (low, high), undefined = replayed_two_way(ratings, np.eye(3), 50, 1, 0.95)
    res = two_way_bootstrap_average(ratings, labels=[0, 1, 2], n_boot=50, seed=1)
    assert res.extra["n_boot_undefined"] == undefined > 0
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))


def test_defaults_are_a_thousand_replicates_with_seed_zero():
    ratings = correlated_ratings(3, 8, 3, 2, agree=0.6)
    res = two_way_bootstrap_average(ratings, labels=[0, 1])
    assert res.to_dict() == two_way_bootstrap_average(ratings, labels=[0, 1], n_boot=1000, seed=0).to_dict()
    assert (res.n_boot, res.seed, res.ci_level, res.warnings) == (1000, 0, 0.95, ("small_n",))


def test_two_way_edge_cases_return_the_average_unchanged_or_insufficient():
    single = two_way_bootstrap_average(np.array([[0, nan, nan], [1, nan, nan]]), labels=[0, 1], n_boot=10)
    assert single.to_dict() == {
        "name": "average_cohen_kappa", "value": None, "status": STATUS_INSUFFICIENT, "n_items": 0, "n_ratings": 0,
        "n_items_total": 2, "n_ratings_total": 2, "se": None, "ci_low": None, "ci_high": None, "ci_method": None,
        "ci_level": None, "n_boot": 0, "seed": None, "warnings": [], "extra": {"reason": "single_rater"},
    }
    constant = np.zeros((5, 3))
    same = two_way_bootstrap_average(constant, labels=[0, 1], weights="linear", n_boot=10)
    light = pairwise_cohen_kappa(constant, labels=[0, 1], weights="linear", n_boot=0).average
    assert same.status == STATUS_NO_VARIATION and same.to_dict() == light.to_dict()


def test_every_replicate_undefined_gives_no_interval():
    # two raters and one replicate whose rater draw (seed 0) is the same rater twice: no pair to compare
    ratings = correlated_ratings(2, 12, 2, 3, agree=0.6)
    assert np.random.default_rng(0).integers(0, 2, size=2).tolist() == [1, 1]
    res = two_way_bootstrap_average(ratings, labels=[0, 1, 2], n_boot=1, seed=0)
    assert res.ok and res.extra["n_boot_undefined"] == 1 and (res.n_boot, res.seed) == (1, 0)
    assert (res.ci_low, res.ci_high, res.ci_method, res.ci_level) == (None, None, None, None)


def test_pairwise_average_with_a_matrix_written_out():
    ratings = correlated_ratings(6, 40, 4, 3, agree=0.5, missing=0.25)
    ratings[:, 3] = nan
    ratings[:3, 3] = ratings[:3, 0] = 1  # raters w and z share three items, all in one category: undefined
    d = np.array([[0, 1, 3], [1, 0, 1], [3, 1, 0]], float)
    out = pairwise_average_with_matrix(ratings, labels=["a", "b", "c"], matrix=d, kind="disagreement",
                                       rater_ids="wxyz")
    w = 1 - d / 3
    pairs = []
    for i, j in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        value = weighted_kappa(ratings[:, i], ratings[:, j], w)
        both = int((~np.isnan(ratings[:, i]) & ~np.isnan(ratings[:, j])).sum())
        pairs.append({"rater_a": "wxyz"[i], "rater_b": "wxyz"[j],
                      "kappa": pytest.approx(value, abs=TOL) if np.isfinite(value) else None, "n_items": both})
    defined = [p["kappa"].expected for p in pairs if p["kappa"] is not None]
    assert pairs[2]["kappa"] is None and len(defined) == 5
    assert out == {"weights": "user matrix", "matrix": w.tolist(), "pairs": pairs,
                   "average": pytest.approx(np.mean(defined), abs=TOL), "n_pairs_defined": 5, "ci_method": None}


def test_pairwise_average_with_a_matrix_without_pairs_or_defined_kappas():
    one = pairwise_average_with_matrix(np.array([[0], [1]], float), labels=[0, 1], matrix=np.eye(2))
    assert (one["pairs"], one["average"], one["n_pairs_defined"]) == ([], None, 0)
    assert one["matrix"] == [[1.0, 0.0], [0.0, 1.0]]
    flat = pairwise_average_with_matrix(np.zeros((3, 2)), labels=[0, 1], matrix=[[1, 0.5], [0.5, 1]])
    assert flat["pairs"] == [{"rater_a": 0, "rater_b": 1, "kappa": None, "n_items": 3}] and flat["average"] is None
    with pytest.raises(ValueError, match="agreement weights must lie in"):
        pairwise_average_with_matrix(np.zeros((3, 2)), labels=[0, 1], matrix=[[1, 2], [2, 1]])
