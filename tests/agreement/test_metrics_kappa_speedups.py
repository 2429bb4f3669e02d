"""Co-rating tables and the averages' jackknife counted both ways (the list of every two cells rated on one item,
and the one-hot products; against the judge, always the list), on designs where items hold a few ratings next to
many raters, on crossed designs, and across chunks of items that mix both, against counts and kappas taken item
by item here."""

import numpy as np
import pytest

from agreement.metrics import judge_agreement, pairwise_cohen_kappa
from agreement.metrics import kappa as kappa_module
from agreement.metrics.kappa import _cross_tables

from .test_metrics_kappa_tables import sk_kappa

TOL = 1e-9
nan = np.nan


def counted_tables(left, right, k):
    """(R_left, K, R_right, K) co-rating counts, item by item and cell by cell."""
    other = left if right is None else right
    out = np.zeros((left.shape[1], k, other.shape[1], k))
    for row, row_other in zip(left, other, strict=True):
        for p, a in enumerate(row):
            for q, b in enumerate(row_other):
                if not (np.isnan(a) or np.isnan(b)):
                    out[p, int(a), q, int(b)] += 1
    return out


def sparse_panel(seed, n, n_raters, k, per_item):
    """Each item rated by ``per_item`` (a choice of counts) raters drawn at random; categories at random."""
    rng = np.random.default_rng(seed)
    ratings = np.full((n, n_raters), nan)
    for row in ratings:
        chosen = rng.choice(n_raters, rng.choice(per_item), replace=False)
        row[chosen] = rng.integers(0, k, chosen.size)
    return ratings


def mixed_panel(seed, n_raters=12, k=4, block=7):
    """Blocks of ``block`` items, crossed (every rater) and sparse (two or fewer ratings) in turn, one block
    without any rating and items with a single rating."""
    rng = np.random.default_rng(seed)
    crossed = rng.integers(0, k, (block, n_raters)).astype(float)
    crossed[rng.random(crossed.shape) < 0.1] = nan
    blocks = [crossed, sparse_panel(seed, block, n_raters, k, [0, 1, 2, 2]), np.full((block, n_raters), nan),
              rng.integers(0, k, (block, n_raters)).astype(float), sparse_panel(seed + 1, 5, n_raters, k, [1, 2])]
    return np.vstack(blocks)


def designs():
    return [sparse_panel(3, 60, 12, 4, [1, 2, 3]), sparse_panel(4, 40, 6, 3, [2, 5, 6]), mixed_panel(5)]


@pytest.mark.parametrize("cost", [None, 0, 10**12])  # pairs within: as chosen, always listed, always one-hot
@pytest.mark.parametrize("rows_per_chunk", [7, 20_000])
def test_tables_equal_the_counts_item_by_item(monkeypatch, cost, rows_per_chunk):
    monkeypatch.setattr(kappa_module, "_ROWS_PER_CHUNK", rows_per_chunk)
    if cost is not None:
        monkeypatch.setattr(kappa_module, "_LISTED_PAIR_COST", cost)
    for ratings in designs():
        k = 4
        ia, ib = np.triu_indices(ratings.shape[1], k=1)
        expected = counted_tables(ratings, None, k)[ia, :, ib, :]
        np.testing.assert_array_equal(_cross_tables(ratings, None, k)[ia, :, ib, :], expected)
        right = ratings[:, [2, 0, 5]]  # columns against other columns: several, in another order
        np.testing.assert_array_equal(_cross_tables(ratings, right, k), counted_tables(ratings, right, k))
        judge = ratings[:, 1:2]
        np.testing.assert_array_equal(_cross_tables(ratings, judge, k), counted_tables(ratings, judge, k))


def test_cells_against_other_columns_are_listed_even_where_every_rater_rated_every_item(monkeypatch):
    monkeypatch.setattr(kappa_module, "_ROWS_PER_CHUNK", 7)
    crossed = np.random.default_rng(2).integers(0, 3, (20, 4)).astype(float)
    assert all(listed is None for _, _, listed in kappa_module._chunks(crossed, None, 3))
    assert all(listed is not None for _, _, listed in kappa_module._chunks(crossed, crossed[:, :1], 3))


def test_a_chunk_holding_no_pair():
    ratings = np.full((4, 5), nan)
    ratings[[0, 2], [1, 3]] = [2, 0]
    assert not _cross_tables(ratings, None, 3).any() and not _cross_tables(ratings, ratings[:, :1], 3).any()
    assert _cross_tables(ratings, ratings[:, 1:2], 3)[1, 2, 0, 2] == 1


def literal_average_and_se(ratings, right, k, weights):
    """The mean kappa over defined pairs and its delete-one-item jackknife over the items entering a pair, each
    deletion recomputing with scikit-learn the kappas of the pairs that rated the deleted item."""
    if right is None:
        pairs = list(zip(*np.triu_indices(ratings.shape[1], k=1), strict=True))
        column = lambda q: ratings[:, q]  # noqa: E731
        population = (~np.isnan(ratings)).sum(axis=1) >= 2
    else:
        pairs = [(p, 0) for p in range(ratings.shape[1])]
        column = lambda q: right[:, q]  # noqa: E731
        population = ~np.isnan(right[:, 0]) & (~np.isnan(ratings)).any(axis=1)
    base = np.array([sk_kappa(ratings[:, p], column(q), k, weights) for p, q in pairs])
    reps = []
    for i in np.flatnonzero(population):
        keep = np.arange(ratings.shape[0]) != i
        values = base.copy()
        for j, (p, q) in enumerate(pairs):
            if not (np.isnan(ratings[i, p]) or np.isnan(column(q)[i])):
                values[j] = sk_kappa(ratings[keep, p], column(q)[keep], k, weights)
        reps.append(np.nanmean(values))
    reps, m = np.array(reps), len(reps)
    return np.nanmean(base), np.sqrt((m - 1) / m * ((reps - reps.mean()) ** 2).sum())


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_pairwise_average_and_jackknife_equal_the_literal_ones(monkeypatch, weights):
    """Chunks of 7 items: listed cells in the first design, one-hot products in the second, both in the third."""
    monkeypatch.setattr(kappa_module, "_ROWS_PER_CHUNK", 7)
    for ratings in designs():
        res = pairwise_cohen_kappa(ratings, labels=[0, 1, 2, 3], weights=weights, n_boot=0)
        mean, se = literal_average_and_se(ratings, None, 4, weights)
        assert (res.average.value, res.average.se) == (pytest.approx(mean, abs=TOL), pytest.approx(se, abs=TOL))


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_judge_average_and_jackknife_equal_the_literal_ones(monkeypatch, weights):
    """Sparse and partly crossed panels of 40 clinicians (chunks of 7)."""
    monkeypatch.setattr(kappa_module, "_ROWS_PER_CHUNK", 7)
    rng = np.random.default_rng(8)
    for ratings in (sparse_panel(6, 80, 40, 5, [1, 2, 3]), mixed_panel(7, n_raters=40, k=5)):
        judge = np.where(rng.random(ratings.shape[0]) < 0.6, np.nanmax(np.nan_to_num(ratings, nan=0), axis=1),
                         rng.integers(0, 5, ratings.shape[0]))
        judge[rng.random(judge.size) < 0.1] = nan
        res = judge_agreement(ratings, judge, labels=list(range(5)), weights=weights, n_boot=0)
        mean, se = literal_average_and_se(ratings, judge[:, None], 5, weights)
        assert (res.per_rater_average.value, res.per_rater_average.se) == (
            pytest.approx(mean, abs=TOL), pytest.approx(se, abs=TOL))
