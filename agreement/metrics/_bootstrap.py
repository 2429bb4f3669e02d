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


def item_weight_chunks(n_items: int, n_boot: int, seed: int | None) -> Iterator[np.ndarray]:
    """Yield (b x n_items) float arrays of resample multiplicities, b summing to n_boot."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CELLS // max(n_items, 1))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n_items, size=(b, n_items))
        weights = np.empty((b, n_items))
        for s in range(0, b, _ROWS_PER_BINCOUNT):  # small blocks keep the count array in cache
            block = idx[s : s + _ROWS_PER_BINCOUNT] + (np.arange(min(_ROWS_PER_BINCOUNT, b - s)) * n_items)[:, None]
            weights[s : s + block.shape[0]] = np.bincount(block.ravel(), minlength=block.size).reshape(block.shape)
        yield weights
        done += b


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
