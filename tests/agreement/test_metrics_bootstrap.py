"""The item bootstrap's draws, kept draws and resampled sums against a literal replay: n item indices drawn
with ``numpy.random.default_rng(seed)`` and counted per resample, sums taken one resample and one item at a
time. Each test starts without kept draws, so the keeping itself runs in every test."""

import threading

import numpy as np
import pytest

from agreement.metrics import _bootstrap
from agreement.metrics._pooled import PooledItems


@pytest.fixture(autouse=True)
def no_kept_draws():
    _bootstrap.release_kept()
    yield
    _bootstrap.release_kept()


def replayed_counts(n_items, n_boot, seed):
    """Multiplicities of n_boot resamples of n_items items, one seeded stream drawn in one go."""
    idx = np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))
    return np.array([np.bincount(row, minlength=n_items) for row in idx])


@pytest.mark.parametrize(("n_items", "n_boot", "max_cells", "rows"), [
    (12, 10, 50, [4, 4, 2]),  # chunks of 50 // 12 = 4 resamples
    (12, 3, 10, [1, 1, 1]),  # fewer cells than items: one resample per chunk
    (1, 6, 4, [4, 2]),
    (5, 7, 4_000_000, [7]),
])
def test_draws_come_in_bounded_chunks_of_the_one_seeded_stream(monkeypatch, n_items, n_boot, max_cells, rows):
    monkeypatch.setattr(_bootstrap, "_MAX_CELLS", max_cells)
    chunks = list(_bootstrap._draw_chunks(n_items, n_boot, 7))
    assert [c.shape for c in chunks] == [(b, n_items) for b in rows]
    assert all(c.dtype == np.uint16 for c in chunks)
    counts = np.concatenate(chunks)
    np.testing.assert_array_equal(counts, replayed_counts(n_items, n_boot, 7))
    assert (counts.sum(axis=1) == n_items).all()


def test_counts_of_a_large_sample_are_32_bit():
    assert next(_bootstrap._draw_chunks(2**16 - 1, 1, 0)).dtype == np.uint16
    large = next(_bootstrap._draw_chunks(2**16, 1, 0))
    assert large.dtype == np.uint32 and large.sum() == 2**16


def test_seeded_draws_are_kept_as_bytes_and_served_again():
    first = list(_bootstrap.item_count_chunks(9, 20, 3))
    kept = _bootstrap._kept.draws[(9, 20, 3)]
    assert all(c.dtype == np.uint8 for c in first) and all(a is b for a, b in zip(first, kept, strict=True))
    again = list(_bootstrap.item_count_chunks(9, 20, 3))
    assert all(a is b for a, b in zip(again, first, strict=True))
    np.testing.assert_array_equal(np.concatenate(first), replayed_counts(9, 20, 3))
    weights = list(_bootstrap.item_weight_chunks(9, 20, 3))
    assert all(w.dtype == np.float64 for w in weights)
    np.testing.assert_array_equal(np.concatenate(weights), replayed_counts(9, 20, 3))


def test_kept_draws_narrow_chunk_by_chunk(monkeypatch):
    """A chunk with a count over 255 stays wide, the rows before that count included; the others are bytes."""
    class Drawn:  # two chunks: the first's second resample draws item 0 300 times
        chunks = iter([np.stack([np.arange(300), np.zeros(300)]), np.arange(300)])

        def integers(self, low, high, size, dtype):
            return next(self.chunks).astype(dtype).reshape(size)

    monkeypatch.setattr(_bootstrap.np.random, "default_rng", lambda seed: Drawn())
    monkeypatch.setattr(_bootstrap, "_MAX_CELLS", 600)
    kept = list(_bootstrap.item_count_chunks(300, 3, 0))
    assert [c.dtype for c in kept] == [np.uint16, np.uint8]
    np.testing.assert_array_equal(np.concatenate(kept), [np.ones(300), [300] + [0] * 299, np.ones(300)])


def test_unseeded_or_large_draws_are_not_kept(monkeypatch):
    list(_bootstrap.item_count_chunks(9, 20, None))
    assert _bootstrap._kept.draws == {}
    monkeypatch.setattr(_bootstrap, "_CACHE_BYTES", 9 * 20 - 1)
    large = np.concatenate(list(_bootstrap.item_count_chunks(9, 20, 5)))
    assert _bootstrap._kept.draws == {}
    np.testing.assert_array_equal(large, replayed_counts(9, 20, 5))  # still the seeded draws
    monkeypatch.setattr(_bootstrap, "_CACHE_BYTES", 9 * 20)
    list(_bootstrap.item_count_chunks(9, 20, 5))
    assert list(_bootstrap._kept.draws) == [(9, 20, 5)]


def test_the_least_recently_used_draws_are_dropped_first(monkeypatch):
    monkeypatch.setattr(_bootstrap, "_CACHE_BYTES", 2 * 10 * 10)  # room for two sets of 10 x 10 bytes
    for seed in (1, 2):
        list(_bootstrap.item_count_chunks(10, 10, seed))
    list(_bootstrap.item_count_chunks(10, 10, 1))  # used again: now the most recent
    assert list(_bootstrap._kept.draws) == [(10, 10, 2), (10, 10, 1)]
    list(_bootstrap.item_count_chunks(10, 10, 3))
    assert list(_bootstrap._kept.draws) == [(10, 10, 1), (10, 10, 3)]
    list(_bootstrap.item_count_chunks(10, 5, 4))  # half the size: fits beside both only after one is dropped
    assert list(_bootstrap._kept.draws) == [(10, 10, 3), (10, 5, 4)]
    _bootstrap.release_kept()
    assert _bootstrap._kept.draws == {}


def test_resampled_sums_of_equal_counts_are_computed_once_while_kept(monkeypatch):
    """Krippendorff's ratio alpha beside a panel resamples the panel's own items: their sums are served again,
    read-only; other items, other draws and unseeded draws are computed anew."""
    ratings = np.array([[0, 1, np.nan], [2, 2, 1], [1, np.nan, 1], [0, 0, 2], [2, 1, 1]])
    computed = []
    real = _bootstrap.resampled_sums
    monkeypatch.setattr(_bootstrap, "resampled_sums", lambda *a: computed.append(a[1:]) or real(*a))
    first = PooledItems(ratings, 3).resampled(50, 4)
    again = PooledItems(ratings.copy(), 3).resampled(50, 4)
    assert again is first and not first.flags.writeable and computed == [(50, 4)]
    np.testing.assert_array_equal(first, real(PooledItems(ratings, 3).features, 50, 4))
    PooledItems(ratings[::-1], 3).resampled(50, 4)  # the same rows in another order: other resamples
    PooledItems(ratings, 3).resampled(50, 5)
    PooledItems(ratings, 3).resampled(50, None)
    PooledItems(ratings, 3).resampled(50, None)
    assert computed == [(50, 4), (50, 4), (50, 5), (50, None), (50, None)]
    monkeypatch.setattr(_bootstrap, "_KEPT_SUMS", 2)
    PooledItems(ratings, 3).resampled(60, 4)  # room for two: the least recently used goes
    assert [key[-2:] for key in _bootstrap._kept.sums] == [(50, 5), (60, 4)]
    _bootstrap.release_kept()
    assert _bootstrap._kept.sums == {}


def test_kept_draws_and_sums_belong_to_their_thread():
    """Reports built side by side in one process's threads: one report's end (``release_kept``) leaves what the
    other keeps, and neither serves the other's entries."""
    list(_bootstrap.item_count_chunks(9, 20, 3))
    PooledItems(np.array([[0, 1], [1, 1]], float), 2).resampled(5, 1)
    seen = {}

    def other_report():
        seen["before"] = (dict(_bootstrap._kept.draws), dict(_bootstrap._kept.sums))
        list(_bootstrap.item_count_chunks(9, 20, 4))
        _bootstrap.release_kept()
        seen["after"] = (dict(_bootstrap._kept.draws), dict(_bootstrap._kept.sums))

    thread = threading.Thread(target=other_report)
    thread.start()
    thread.join()
    assert seen == {"before": ({}, {}), "after": ({}, {})}
    assert list(_bootstrap._kept.draws) == [(9, 20, 3), (2, 5, 1)] and len(_bootstrap._kept.sums) == 1


@pytest.mark.parametrize("repeated", [False, True], ids=["distinct_rows", "repeated_rows"])
def test_resampled_sums_equal_the_sum_over_each_resample(monkeypatch, repeated):
    monkeypatch.setattr(_bootstrap, "_MAX_CELLS", 100)  # several chunks
    rng = np.random.default_rng(1)
    if repeated:  # 40 items on 3 distinct rows: the sums are formed per distinct row
        features = rng.integers(0, 3, (3, 4)).astype(float)[rng.integers(0, 3, 40)]
    else:
        features = rng.normal(size=(40, 4))
    out = _bootstrap.resampled_sums(features, 23, 8)
    counts = replayed_counts(40, 23, 8)
    expected = np.array([[sum(c[i] * features[i, j] for i in range(40)) for j in range(4)] for c in counts])
    assert out.shape == (23, 4)
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_resampled_sums_of_integer_features_and_of_no_items():
    features = np.array([[1, 2], [1, 2], [3, 4], [1, 2], [1, 2]])
    out = _bootstrap.resampled_sums(features, 4, 0)
    np.testing.assert_array_equal(out, replayed_counts(5, 4, 0) @ features)
    assert _bootstrap.resampled_sums(np.zeros((0, 3)), 2, 0).shape == (2, 3)


def test_percentile_interval_of_integer_and_undefined_replicates():
    assert _bootstrap.percentile_interval([1, 2, 3, 4, 5], 0.5) == (2.0, 4.0, 0)
    assert _bootstrap.percentile_interval([np.nan, 1.0, np.inf], 0.9) == (1.0, 1.0, 2)
    assert _bootstrap.percentile_interval([None, np.nan], 0.9) == (None, None, 2)


def test_grouped_sums_do_not_overflow_the_byte_counts_of_kept_draws():
    # 300 identical items: every resample puts 300 (> 255) on the one distinct row
    out = _bootstrap.resampled_sums(np.ones((300, 2)), 3, 1)
    np.testing.assert_array_equal(out, np.full((3, 2), 300.0))


def test_resampled_sums_of_narrow_number_types():
    features = np.array([[1, 2], [1, 2], [3, 4], [1, 2], [1, 2]])
    for dtype in (np.int32, np.float32):
        out = _bootstrap.resampled_sums(features.astype(dtype), 4, 0)
        np.testing.assert_array_equal(out, replayed_counts(5, 4, 0) @ features)


def byte_unique(rows):
    _, first, inverse = np.unique(rows.view(np.dtype((np.void, 8 * rows.shape[1]))).ravel(), return_index=True,
                                  return_inverse=True)
    return first, inverse.ravel()


@pytest.mark.parametrize("seed", range(40))
def test_distinct_rows_are_numpy_unique_of_the_bytes(seed):
    """The same first occurrences and labels as sorting every row's bytes, NaN and -0.0 kept apart as bytes."""
    rng = np.random.default_rng(seed)
    n, f = int(rng.integers(0, 300)), int(rng.integers(1, 12))
    rows = rng.integers(0, rng.integers(1, 4), size=(n, f)).astype(float)
    rows[rng.random((n, f)) < 0.05] = np.nan
    rows[rng.random((n, f)) < 0.05] = -0.0
    for got, expected in zip(_bootstrap._distinct_rows(rows), byte_unique(rows), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_distinct_rows_on_a_hash_collision_wide_rows_or_none(monkeypatch):
    rows = np.random.default_rng(0).integers(0, 3, size=(60, 4)).astype(float)
    monkeypatch.setattr(_bootstrap, "_ROW_HASH", np.zeros(8, dtype=np.uint64))  # every row the same hash
    for got, expected in zip(_bootstrap._distinct_rows(rows), byte_unique(rows), strict=True):
        np.testing.assert_array_equal(got, expected)
    for other in (np.tile(rows, 3), rows[:, :0]):  # wider than the hash's multipliers, or no column at all
        for got, expected in zip(_bootstrap._distinct_rows(other), byte_unique(other), strict=True):
            np.testing.assert_array_equal(got, expected)
