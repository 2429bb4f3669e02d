"""Two-way (items and raters) bootstrap of the average pairwise kappa, and pairwise kappas with a weight matrix.

Light's average pairwise kappa generalises over raters as well as items: the clinicians are a sample
of clinicians. The delete-one-item jackknife of ``pairwise_cohen_kappa`` treats the raters as fixed.
``two_way_bootstrap_average`` resamples both: in each of B replicates the items are drawn with
replacement (multinomial multiplicities w_i) and, independently, R raters are drawn with replacement
from the R raters; the replicate is the mean kappa over the pairs (i < j) of drawn raters that are
two DIFFERENT raters (a rater drawn twice is not compared with itself) whose weighted table gives a
defined kappa. The interval is the percentile interval of the replicates
(``ci_method="two_way_bootstrap_percentile"``); replicates without any defined pair are counted in
``extra["n_boot_undefined"]``. Each replicate computes every pair's weighted table, so the cost is
B x items x (raters x K)^2: an option for studies of moderate size, not the default.

``pairwise_average_with_matrix``: Cohen's weighted kappa of every rater pair with a user-given K x K
agreement weight matrix (``weights.weight_matrix``), and their unweighted mean over defined pairs
(Light's average with those weights); no interval (the jackknife of kappa.py is derived for the
built-in weights only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _bootstrap
from . import kappa as _kappa
from ._core import as_matrix, insufficiency, insufficient, n_categories
from .results import STATUS_OK, Coefficient
from .weights import weight_matrix

CI_TWO_WAY = "two_way_bootstrap_percentile"


def _disagreement(k: int, weights) -> np.ndarray:
    return 1.0 - weight_matrix(k, weights)


def _replicate(x: np.ndarray, w: np.ndarray, draw: np.ndarray, n_raters: int, k: int, d: np.ndarray) -> float:
    gram = (x * w[:, None]).T @ x
    tables = gram.reshape(n_raters, k, n_raters, k).transpose(0, 2, 1, 3)
    kappa = _kappa.kappa_from_tables(tables, d)["kappa"]
    i, j = np.triu_indices(draw.size, k=1)
    a, b = draw[i], draw[j]
    values = kappa[a[a != b], b[a != b]]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else np.nan


def two_way_bootstrap_average(ratings: np.ndarray, *, labels: Sequence, weights=None, n_boot: int = 1000,
                              seed: int | None = 0, confidence: float = 0.95) -> Coefficient:
    """Light's average pairwise kappa with a percentile interval resampling items AND raters."""
    k = n_categories(labels)
    ratings = as_matrix(ratings, k)
    pw = _kappa.pairwise_cohen_kappa(ratings, labels=labels, weights=weights if isinstance(weights, str) else None,
                                     n_boot=0, confidence=confidence)
    name = pw.average.name
    n_raters = ratings.shape[1]
    reason = insufficiency(ratings)
    if reason or not pw.average.ok:
        return pw.average if not reason else insufficient(name, reason, n_items_total=ratings.shape[0],
                                                          n_ratings_total=int((~np.isnan(ratings)).sum()))
    d = _disagreement(k, weights)
    x = _kappa._onehot(ratings, k)
    rng = np.random.default_rng(seed)
    reps = []
    for chunk in _bootstrap.item_weight_chunks(ratings.shape[0], n_boot, seed):
        for w in chunk:
            reps.append(_replicate(x, w, rng.integers(0, n_raters, size=n_raters), n_raters, k, d))
    low, high, undefined = _bootstrap.percentile_interval(np.array(reps), confidence)
    avg = pw.average
    return Coefficient(name=name, value=avg.value, status=STATUS_OK, n_items=avg.n_items, n_ratings=avg.n_ratings,
                       n_items_total=avg.n_items_total, n_ratings_total=avg.n_ratings_total, ci_low=low, ci_high=high,
                       ci_method=CI_TWO_WAY if low is not None else None,
                       ci_level=confidence if low is not None else None,
                       n_boot=n_boot, seed=seed, warnings=avg.warnings,
                       # No SE here (the interval is the two-way bootstrap's), so not the average's SE method either.
                       extra={**{k: v for k, v in avg.extra.items() if k != "se_method"},
                              "n_boot_undefined": undefined, "resampled": "items and raters"})


def pairwise_average_with_matrix(ratings: np.ndarray, *, labels: Sequence, matrix, kind: str = "agreement",
                                 rater_ids: Sequence | None = None) -> dict:
    """Every rater pair's weighted kappa with a user-given matrix, and Light's mean over defined pairs."""
    k = n_categories(labels)
    ratings = as_matrix(ratings, k)
    d = 1.0 - weight_matrix(k, np.asarray(matrix, dtype=float), kind=kind)
    raters = list(rater_ids) if rater_ids is not None else list(range(ratings.shape[1]))
    ia, ib = np.triu_indices(ratings.shape[1], k=1)
    tables = _kappa._cross_tables(ratings, None, k)[ia, :, ib, :] if ia.size else np.zeros((0, k, k))
    res = _kappa.kappa_from_tables(tables, d)
    pairs = [{"rater_a": raters[a], "rater_b": raters[b], "kappa": float(v) if ok else None, "n_items": int(n)}
             for a, b, v, ok, n in zip(ia, ib, res["kappa"], res["defined"], res["n"], strict=True)]
    defined = res["kappa"][res["defined"]]
    average = float(defined.mean()) if defined.size else None
    agreement = weight_matrix(k, np.asarray(matrix, float), kind=kind)
    return {"weights": "user matrix", "matrix": np.asarray(agreement).tolist(),
            "pairs": pairs, "average": average, "n_pairs_defined": int(defined.size), "ci_method": None}
