"""Item (cluster) bootstrap: resample whole items with all their ratings, B times, seeded.

Every pooled coefficient here is a smooth function of per-item sums, so one resample is a weighted
sum: the resample's item multiplicities (a Multinomial(n; 1/n, ..., 1/n) draw, made by drawing n item
indices and counting them) times a per-item feature matrix. B resamples are one matrix product,
done in chunks to bound memory. Draws come from ``numpy.random.default_rng(seed)``, so the same
input and seed always give the same interval. Replicates where the coefficient is undefined (e.g. a
resample with one category only) are left out of the percentile interval and counted in
``extra["n_boot_undefined"]``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator

import numpy as np

CI_BOOTSTRAP = "bootstrap_percentile"
_MAX_CELLS = 4_000_000  # resample weights held at once (32 MB of float64)
_CACHE_BYTES = 512 * 2**20


def _draw_chunks(n_items: int, n_boot: int, seed: int | None, *, narrow: bool = False) -> Iterator[np.ndarray]:
    """The seeded resamples' counts, chunk by chunk; `narrow`: as bytes (kept draws), a chunk with a count over
    255 staying wide. Counts are written as bytes straight from each resample's count: a million items' draws
    never stand in memory at two or four bytes a count (allocating and narrowing them took longer than drawing)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CELLS // max(n_items, 1))
    wide = np.uint16 if n_items < 2**16 else np.uint32  # a count never exceeds n_items
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        # uint32 draws are the same numbers as int64 ones (numpy draws a 32-bit range either way), half the memory
        idx = rng.integers(0, n_items, size=(b, n_items), dtype=np.uint32)
        counts = np.empty((b, n_items), dtype=np.uint8 if narrow else wide)
        for row in range(b):  # one resample at a time: its count array stays in cache
            count = np.bincount(idx[row], minlength=n_items)
            if counts.dtype == np.uint8 and count.max(initial=0) > 255:
                counts = counts.astype(wide)
            counts[row] = count
        yield counts
        done += b


class _Kept(threading.local):
    """What a report keeps for reuse, per thread: reports built side by side in one process's threads (the
    demo server runs its tasks in the request's thread) never drop each other's entries while in use.

    ``draws``: seeded draws, as a report resamples the same items with the same seed many times (every rating
    dimension, Krippendorff's alpha beside the summary, rankings per subset of cases); counts stored as bytes
    where they fit (at any realistic size; a chunk that does not stays wider), oldest dropped first.
    ``sums``: resampled sums under a digest of what they were computed from, as a report asks again for those
    of one items x raters matrix (Krippendorff's ratio alpha beside the dimension's panel: 0.7 s at a million
    ratings). ``matrices``: the case-level resample and sign matrices (``clustered._cached``)."""

    def __init__(self):
        self.draws: dict[tuple, list[np.ndarray]] = {}
        self.sums: dict[tuple, np.ndarray] = {}
        self.matrices: dict[tuple, np.ndarray] = {}


_kept = _Kept()
_KEPT_SUMS = 32


def _keep(key: tuple, chunks: list[np.ndarray]) -> list[np.ndarray]:
    """Keep `chunks` under `key`, dropping the oldest kept draws to make room."""
    size = sum(c.nbytes for c in chunks)
    draws = _kept.draws
    while draws and size + sum(c.nbytes for v in draws.values() for c in v) > _CACHE_BYTES:
        draws.pop(next(iter(draws)))
    draws[key] = chunks
    return chunks


def kept_sums(key: tuple, seed: int | None, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, kept under `key` (read-only) when seeded; unseeded draws are never served twice."""
    if seed is None:
        return compute()
    sums = _kept.sums
    if key in sums:
        sums[key] = sums.pop(key)  # most recently used last
    else:
        while len(sums) >= _KEPT_SUMS:
            sums.pop(next(iter(sums)))
        sums[key] = compute()
        sums[key].flags.writeable = False
    return sums[key]


def release_kept() -> None:
    """Drop everything this thread keeps (a report builder calls this when done: a worker should not hold it)."""
    _kept.draws.clear()
    _kept.sums.clear()
    _kept.matrices.clear()


def item_count_chunks(n_items: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    """Yield (b x n_items) integer arrays of resample multiplicities, b summing to n_boot.

    Seeded draws small enough to keep (one byte per count) are kept and served again.
    """
    key = (n_items, n_boot, seed)
    if seed is None or n_items * n_boot > _CACHE_BYTES:
        yield from _draw_chunks(n_items, n_boot, seed)
        return
    draws = _kept.draws
    if key in draws:
        draws[key] = draws.pop(key)  # most recently used last
    else:
        _keep(key, list(_draw_chunks(n_items, n_boot, seed, narrow=True)))
    yield from draws[key]


def item_weight_chunks(n_items: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    """Yield (b x n_items) float arrays of resample multiplicities, b summing to n_boot."""
    for counts in item_count_chunks(n_items, n_boot, seed):
        yield counts.astype(float)


# Odd multipliers (invertible modulo 2^64): rows that differ in one word never share a hash.
_ROW_HASH = np.random.default_rng(0x5EED).integers(1, 2**63, size=1024, dtype=np.uint64) | np.uint64(1)


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows viewed as bytes, return_index=True, return_inverse=True)[1:]``, the same arrays.

    Rows are grouped by a 64-bit hash of their bytes, the grouping is checked against the rows themselves
    (the byte comparison on a collision), and only the distinct rows are sorted as bytes: sorting every
    row as bytes took 0.15 s for 200,000 items, a large part of a resampled panel.
    """
    n, f = rows.shape
    as_bytes = np.dtype((np.void, 8 * f))

    def by_bytes() -> tuple[np.ndarray, np.ndarray]:
        _, first, inverse = np.unique(rows.view(as_bytes).ravel(), return_index=True, return_inverse=True)
        return first, inverse.ravel()

    if n == 0 or f == 0 or f > _ROW_HASH.size:
        return by_bytes()
    words = rows.view(np.uint64)
    keys = words @ _ROW_HASH[:f]  # wraps modulo 2^64
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if not np.array_equal(words, words[first][inverse]):  # a hash collision
        return by_bytes()
    _, order = np.unique(rows[first].view(as_bytes).ravel(), return_index=True)  # distinct rows in byte order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[inverse]


def resampled_sums(features: np.ndarray, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot x f) sums of the (n_items x f) per-item features over each item resample.

    Items often share one feature row (e.g. every item rated "3, 3, 4" by three raters): then each
    resample's multiplicities are first added up per distinct row and multiplied with the few
    distinct rows only. The sums are the same up to floating-point rounding.
    """
    n, f = features.shape
    out = np.empty((n_boot, f))
    rows = np.ascontiguousarray(features, dtype=float)
    first, inverse = _distinct_rows(rows)
    if n == 0 or first.size * 4 > n:  # mostly distinct rows: the plain product
        start = 0
        for w in item_weight_chunks(n, n_boot, seed):
            out[start : start + w.shape[0]] = w @ rows
            start += w.shape[0]
        return out
    order = np.argsort(inverse.ravel(), kind="stable")
    starts = np.searchsorted(inverse.ravel()[order], np.arange(first.size))
    start = 0
    for counts in item_count_chunks(n, n_boot, seed):
        # One resample at a time: its counts stay in cache while gathered and added up (twice as quick as the
        # whole chunk's gather, then its sums: 196,070 items x 1,000, 0.45 -> 0.2 s). A sum never exceeds n.
        per_row = np.stack([np.add.reduceat(row[order], starts, dtype=np.uint32) for row in counts])
        out[start : start + counts.shape[0]] = per_row @ rows[first]
        start += counts.shape[0]
    return out


def _quantile(ordered: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` (its default linear method) of x sorted, to the last bit: the same position
    (n - 1) q and the same interpolation, taken from the nearer neighbour as numpy's does. A report takes
    hundreds of these intervals, and np.quantile's own overhead is most of a 1,000-replicate one."""
    at = (ordered.size - 1) * q
    if at >= ordered.size - 1:
        return float(ordered[-1])
    i = math.floor(at)
    t = at - i
    a, b = float(ordered[i]), float(ordered[i + 1])
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float | None, float | None, int]:
    """Percentile interval of the finite replicates, and how many replicates were undefined."""
    replicates = np.asarray(replicates, dtype=float)
    finite = replicates[np.isfinite(replicates)]
    n_undefined = int(replicates.size - finite.size)
    if finite.size == 0:
        return None, None, n_undefined
    finite.sort()
    return _quantile(finite, (1 - confidence) / 2), _quantile(finite, (1 + confidence) / 2), n_undefined
