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

from collections.abc import Iterator

import numpy as np

CI_BOOTSTRAP = "bootstrap_percentile"
_MAX_CELLS = 4_000_000  # resample weights held at once (32 MB of float64)
_ROWS_PER_BINCOUNT = 8
_CACHE_BYTES = 128 * 2**20


def _draw_chunks(n_items: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CELLS // max(n_items, 1))
    dtype = np.uint16 if n_items < 2**16 else np.uint32  # a count never exceeds n_items
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n_items, size=(b, n_items))
        counts = np.empty((b, n_items), dtype=dtype)
        for s in range(0, b, _ROWS_PER_BINCOUNT):  # small blocks keep the count array in cache
            block = idx[s : s + _ROWS_PER_BINCOUNT] + (np.arange(min(_ROWS_PER_BINCOUNT, b - s)) * n_items)[:, None]
            counts[s : s + block.shape[0]] = np.bincount(block.ravel(), minlength=block.size).reshape(block.shape)
        yield counts
        done += b


_last: tuple[tuple, list[np.ndarray]] | None = None  # the dimensions of one report resample the same items


def item_weight_chunks(n_items: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    """Yield (b x n_items) float arrays of resample multiplicities, b summing to n_boot.

    The last seeded draw is kept (as small integers, at most 128 MB) because a report computes several
    rating dimensions over the same items with the same seed: they then share resamples, and the
    draws, the costliest part of the bootstrap, are made once.
    """
    global _last
    key = (n_items, n_boot, seed)
    cached = _last
    if seed is not None and cached is not None and cached[0] == key:
        chunks = cached[1]
    else:
        chunks = _draw_chunks(n_items, n_boot, seed)
        if seed is not None and n_items * n_boot * 2 <= _CACHE_BYTES:
            chunks = list(chunks)
            _last = (key, chunks)
    for counts in chunks:
        yield counts.astype(float)


def resampled_sums(features: np.ndarray, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot x f) sums of the (n_items x f) per-item features over each item resample."""
    out = np.empty((n_boot, features.shape[1]))
    start = 0
    for w in item_weight_chunks(features.shape[0], n_boot, seed):
        out[start : start + w.shape[0]] = w @ features
        start += w.shape[0]
    return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float | None, float | None, int]:
    """Percentile interval of the finite replicates, and how many replicates were undefined."""
    replicates = np.asarray(replicates, dtype=float)
    finite = replicates[np.isfinite(replicates)]
    n_undefined = int(replicates.size - finite.size)
    if finite.size == 0:
        return None, None, n_undefined
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high), n_undefined
