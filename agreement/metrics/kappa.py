"""Cohen's kappa: two raters, every pair of raters, the judge against clinicians, test-retest.

For two raters on the n items both rated, with K x K table T (rows: rater a's category, columns:
rater b's) and disagreement weights d (unweighted 1 - [i=j]; linear |i - j|; quadratic (i - j)^2, on
category INDICES of the declared scale):

    kappa = 1 - sum_ij d_ij T_ij / sum_ij d_ij E_ij,   E_ij = row_i col_j / n

which is scikit-learn's ``cohen_kappa_score(a, b, labels=range(K), weights=...)`` exactly (tested to
1e-9). Declaring the scale matters: with observed labels only, an unused middle category changes the
weighted value (0.600 vs 0.714 in the research notes).

* ``se``: the large-sample standard error of Fleiss, Cohen & Everitt (1969), the formula of SAS PROC
  FREQ and statsmodels ``cohens_kappa`` (``std_kappa``), with agreement weights 1 - d / max(d).
* CI: for ``cohen_kappa``, ``judge_agreement`` and ``intra_rater_agreement`` with ``n_boot`` > 0 the
  item-bootstrap percentile interval (resampling a pair's co-rated items is a Multinomial(n, T / n)
  draw of its table, so every pair is resampled at once); otherwise the Wald interval kappa +/- z se.
  ``pairwise_cohen_kappa`` uses the Wald interval per pair unless ``pair_ci="bootstrap"``: 1,000
  resamples of 1,225 tables of 25 cells are ~30 M multinomial draws, several seconds, for intervals
  nobody reads off a heatmap.
* Average over pairs (``PairwiseKappa.average``, Light's kappa, the study's "average Cohen's kappa"):
  unweighted mean over pairs whose kappa is defined. Pairs share items, so their kappas are
  correlated and per-pair intervals cannot be combined; its ``se`` is the delete-one-item jackknife
  over every item that enters a pair (Efron & Tibshirani 1993, ch. 11), computed exactly for all items
  at once (a deleted item changes each of its pairs' tables by one count, so the change of the mean
  is a sum over the item's rated pairs of one precomputed change per pair and cell), and its CI is
  mean +/- z se (``ci_method="jackknife_normal"``). A pair that becomes undefined when an item is deleted drops out
  of that jackknife replicate's mean.

Edge cases: a pair without a co-rated item: ``insufficient_data``/``no_overlap``; both raters used one
and the same category on all co-rated items: ``undefined_no_variation`` (value None,
``extra["percent_agreement"] = 1.0``); whole-matrix reasons (empty, single rater, no item with two
ratings) apply to the average. One rater constant and the other not gives kappa 0 (defined), as
scikit-learn. Fewer than 10 co-rated items add the warning ``small_n``.

All pairwise tables, and the jackknife's change per deleted item, come in chunks of items either from
the product of the items x (raters * K) one-hot matrix with itself (a crossed design: most raters on
every item) or, where items hold a few ratings next to raters x K columns (a report's 5 of 20
clinicians), from the list of every two cells rated on one item, counted with ``bincount``; 50 raters
x 1,000,000 ratings take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.linalg import blas

from . import _bootstrap
from ._core import (
    as_matrix,
    as_vector,
    check_confidence,
    check_weights,
    insufficiency,
    insufficient,
    n_categories,
    no_variation,
    normal_quantile,
    size_warnings,
)
from .consensus import (  # noqa: F401 (re-exported)
    CONSENSUS,
    check_options,
    consensus_ratings,
    consensus_validity,
    consensus_with_ties,
)
from .results import (
    REASON_EMPTY,
    REASON_NO_OVERLAP,
    REASON_SINGLE_RATER,
    STATUS_INVALID_FOR_SCALE,
    STATUS_OK,
    Coefficient,
    IntraRaterAgreement,
    JudgeAgreement,
    PairwiseKappa,
    RaterPair,
)

PAIR_CI = ("wald", "bootstrap")
_ROWS_PER_CHUNK = 20_000
_LISTED_PAIR_COST = 250  # one listed pair against one multiply-add of a one-hot product (BLAS)
_PAIRS_PER_DRAW = 64


def _disagreement(k: int, weights: str | np.ndarray | None) -> np.ndarray:
    """K x K disagreement weights; a matrix is taken as given (validated by ``weights.weight_matrix``)."""
    if isinstance(weights, np.ndarray):
        return weights
    idx = np.arange(k, dtype=float)
    if weights is None:
        return 1.0 - np.eye(k)
    diff = np.abs(idx[:, None] - idx[None, :])
    return diff if weights == "linear" else diff**2


def _onehot(ratings: np.ndarray, k: int, dtype=np.float64) -> np.ndarray:
    """Items x (raters * K) 0/1 matrix; a missing rating is a row of zeros in its rater's block."""
    n, r = ratings.shape
    out = np.zeros((n * r, k), dtype=dtype)
    flat = ratings.reshape(-1)
    rated = np.flatnonzero(~np.isnan(flat))
    out[rated, flat[rated].astype(np.intp)] = 1
    return out.reshape(n, r * k)


def _chunks(left: np.ndarray, right: np.ndarray | None, k: int):
    """The items in chunks of at most _ROWS_PER_CHUNK: (first row, left block, listed).

    ``listed`` holds every two cells rated on one item, as (item, position in the flattened (R_left * K,
    R_right * K) co-rating matrix: (p K + a, q K + b) for left column p rated a and right column q rated b).
    ``right=None`` pairs the columns of ``left``, each pair p < q once; where that list costs more than the
    chunk's one-hot product, as in a crossed design (every rater on every item, where a report has 5 of 20
    clinicians per item), ``listed`` is None and the one-hot matrix is multiplied with itself. Against
    ``right`` (the judge, or one rater: one column) the cells are always listed, a gather per column: that was
    quicker than the one-hot products in every design measured, crossed ones included (1.2-2.5x).
    """
    width = k * (left.shape[1] if right is None else right.shape[1])
    for start in range(0, left.shape[0], _ROWS_PER_CHUNK):
        block = left[start : start + _ROWS_PER_CHUNK]
        flat = block.reshape(-1)
        at = np.flatnonzero(~np.isnan(flat))  # row-major: each item's rated columns in order
        rows = at // block.shape[1]  # flat positions: a fraction of the cost of a 2-D nonzero and gather
        per_item = np.bincount(rows, minlength=block.shape[0])
        n_pairs = int((per_item * (per_item - 1) // 2).sum()) if right is None else 0  # against right: listed
        if n_pairs * _LISTED_PAIR_COST > block.shape[0] * block.shape[1] * k * width:
            yield start, block, None
            continue
        cells = (at - rows * block.shape[1]) * k + flat[at].astype(np.intp)  # p K + a
        if right is None:
            first = np.cumsum(per_item) - per_item  # each item's first cell in (rows, cells)
            items, positions = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)]
            for m in np.unique(per_item[per_item >= 2]):  # items with m cells rated: an (items, m) block of cells
                with_m = np.flatnonzero(per_item == m)
                rated = cells[first[with_m][:, None] + np.arange(m)]
                a, b = np.triu_indices(m, k=1)
                items.append(np.repeat(start + with_m, a.size))
                positions.append((rated[:, a] * width + rated[:, b]).ravel())
            yield start, block, (np.concatenate(items), np.concatenate(positions))
            continue
        other = right[start : start + _ROWS_PER_CHUNK]
        items, positions = [], []
        for q in range(other.shape[1]):
            values = other[:, q][rows]
            keep = ~np.isnan(values)
            items.append(start + rows[keep])
            positions.append(cells[keep] * width + q * k + values[keep].astype(np.intp))
        yield start, block, (np.concatenate(items), np.concatenate(positions))


def _cross_tables(left: np.ndarray, right: np.ndarray | None, k: int, chunks: list | None = None) -> np.ndarray:
    """(R_left, K, R_right, K) co-rating counts of every left rater with every right rater.

    ``right=None`` means ``left`` with itself; then only the blocks of rater pairs p < q are meant (the
    others hold partial counts). One-hot chunks of at most 20,000 items keep float32 counts exact (< 2^24).
    ``chunks``: ``list(_chunks(left, right, k))`` where the caller reads them again (the jackknife).
    """
    n_right = left.shape[1] if right is None else right.shape[1]
    out = np.zeros(left.shape[1] * k * n_right * k)
    for _, block, listed in _chunks(left, right, k) if chunks is None else chunks:
        if listed is not None:
            out += np.bincount(listed[1], minlength=out.size)
            continue
        out += blas.ssyrk(1.0, _onehot(block, k, np.float32), trans=1).ravel()
    return out.reshape(left.shape[1], k, n_right, k)


def _kappa_values(tables: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, row sums, column sums, defined, kappa) of (..., K, K) count tables under disagreement weights d."""
    n = tables.sum(axis=(-2, -1))
    row, col = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = (d * tables).sum(axis=(-2, -1))
    expected_num = np.einsum("...i,ij,...j->...", row, d, col)  # n * sum d E, integer-valued
    defined = (n > 0) & (expected_num > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(defined, 1.0 - observed * n / expected_num, np.nan)
    return n, row, col, defined, kappa


def kappa_from_tables(tables: np.ndarray, weights: str | None) -> dict[str, np.ndarray]:
    """Kappa, FCE standard error, agreement and status flags for (..., K, K) count tables."""
    k = tables.shape[-1]
    d = _disagreement(k, weights)
    n, row, col, defined, kappa = _kappa_values(tables, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n > 0, np.trace(tables, axis1=-2, axis2=-1) / n, np.nan)
        # Fleiss, Cohen & Everitt (1969) with agreement weights w = 1 - d / max d
        w = 1.0 - d / d.max() if k > 1 else np.ones((1, 1))
        p, pr, pc = tables / n[..., None, None], row / n[..., None], col / n[..., None]
        w_row = pc @ w.T  # sum_j pc_j w_ij
        w_col = pr @ w  # sum_i pr_i w_ij
        pe = np.einsum("...i,ij,...j->...", pr, w, pc)
        kk = kappa[..., None, None]
        term = (p * (w - (w_row[..., :, None] + w_col[..., None, :]) * (1 - kk)) ** 2).sum(axis=(-2, -1))
        var = (term - (kappa - pe * (1 - kappa)) ** 2) / ((1 - pe) ** 2 * n)
    se = np.where(defined, np.sqrt(np.clip(var, 0, None)), np.nan)
    return {"kappa": kappa, "se": se, "n": n, "agreement": agreement, "defined": defined}


def _bootstrap_pairs(tables: np.ndarray, weights: str | None, n_boot: int, seed: int | None) -> np.ndarray:
    """(P, n_boot) kappa replicates, each pair resampling its own co-rated items."""
    rng = np.random.default_rng(seed)
    n_pairs, k = tables.shape[0], tables.shape[-1]
    d = _disagreement(k, weights)
    out = np.full((n_pairs, n_boot), np.nan)
    flat = tables.reshape(n_pairs, k * k)
    n = flat.sum(axis=1)
    for start in range(0, n_pairs, _PAIRS_PER_DRAW):
        block = np.arange(start, min(start + _PAIRS_PER_DRAW, n_pairs))
        block = block[n[block] > 0]
        if block.size == 0:
            continue
        probs = flat[block] / n[block, None]
        draws = rng.multinomial(n[block, None].astype(np.int64), probs[:, None, :], size=(block.size, n_boot))
        out[block] = _kappa_values(draws.reshape(block.size, n_boot, k, k).astype(float), d)[-1]  # kappa alone
    return out


def _pair_coefficients(
    tables: np.ndarray,
    weights: str | None,
    *,
    totals: list[tuple[int, int]],
    ci: str,
    n_boot: int,
    seed: int | None,
    confidence: float,
    name: str = "cohen_kappa",
    res: dict[str, np.ndarray] | None = None,
) -> list[Coefficient]:
    """One Coefficient per (K, K) table; ``totals`` holds (n_items_total, n_ratings_total) per table;
    ``res`` is ``kappa_from_tables(tables, weights)`` where the caller has it already."""
    res = kappa_from_tables(tables, weights) if res is None else res
    reps = _bootstrap_pairs(tables, weights, n_boot, seed) if ci == "bootstrap" and n_boot > 0 else None
    z = normal_quantile(confidence)
    weights_name = "custom" if isinstance(weights, np.ndarray) else weights
    label = name if weights is None else f"{name}_{weights_name}"
    out = []
    for i in range(tables.shape[0]):
        n = int(res["n"][i])
        tot = {"n_items_total": totals[i][0], "n_ratings_total": totals[i][1]}
        if n == 0:
            out.append(insufficient(label, REASON_NO_OVERLAP, **tot))
            continue
        sizes = {"n_items": n, "n_ratings": 2 * n}
        if not res["defined"][i]:
            out.append(no_variation(label, **sizes, **tot, percent_agreement=float(res["agreement"][i])))
            continue
        value, se = float(res["kappa"][i]), float(res["se"][i])
        extra = {"se_method": "fleiss_cohen_everitt_1969", "percent_agreement": float(res["agreement"][i]),
                 "weights": weights_name}
        if reps is not None:
            low, high, extra["n_boot_undefined"] = _bootstrap.percentile_interval(reps[i], confidence)
            ci_method = _bootstrap.CI_BOOTSTRAP
        else:
            # Kappa lies in [-1, 1]: a normal interval near the boundary is clipped there (and says so).
            low, high, ci_method = max(-1.0, value - z * se), min(1.0, value + z * se), "wald"
            if (low, high) != (value - z * se, value + z * se):
                extra["ci_clipped"] = True
        out.append(Coefficient(name=label, value=value, status=STATUS_OK, **sizes, **tot, se=se, ci_low=low,
                               ci_high=high, ci_method=ci_method, ci_level=confidence,
                               n_boot=n_boot if reps is not None else 0, seed=seed if reps is not None else None,
                               warnings=size_warnings(n), extra=extra))
    return out


def _prepare(labels, weights, confidence) -> int:
    k = n_categories(labels)
    check_weights(weights)
    check_confidence(confidence)
    return k


def cohen_kappa(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Cohen's kappa of two raters on the items both rated (NaN = missing).

    ``a``/``b`` hold category indices 0..K-1 into ``labels`` (K = len(labels)); ``weights`` is None,
    ``"linear"`` or ``"quadratic"`` (index distance, as scikit-learn). ``se`` is the Fleiss, Cohen &
    Everitt (1969) large-sample standard error (as statsmodels/SAS); the CI is the item-bootstrap
    percentile interval when ``n_boot`` > 0, else the Wald interval.
    """
    k = _prepare(labels, weights, confidence)
    a, b = as_vector(a, k), as_vector(b, k)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    ratings = np.column_stack([a, b])
    totals = [(a.size, int(np.count_nonzero(~np.isnan(ratings))))]
    reason = insufficiency(ratings)
    if reason in (REASON_EMPTY, REASON_SINGLE_RATER):
        name = "cohen_kappa" + (f"_{weights}" if weights else "")
        return insufficient(name, reason, n_items_total=totals[0][0], n_ratings_total=totals[0][1])
    tables = _cross_tables(ratings[:, :1], ratings[:, 1:], k).reshape(1, k, k)
    return _pair_coefficients(tables, weights, totals=totals, ci="bootstrap", n_boot=n_boot, seed=seed,
                              confidence=confidence)[0]


def _jackknife_average(
    left: np.ndarray,
    right: np.ndarray,
    k: int,
    tables: np.ndarray,
    pair_index: tuple[np.ndarray, np.ndarray],
    weights: str | None,
    population: np.ndarray,
    res: dict[str, np.ndarray],
    chunks: list,
) -> tuple[float | None, float | None]:
    """Mean kappa over defined pairs and its delete-one-item jackknife SE.

    ``tables`` (P, K, K) are the co-rating tables of left rater ``pair_index[0][p]`` with right rater
    ``pair_index[1][p]`` (``right=None``: the columns of ``left`` with each other, every pair p < q),
    ``res`` their ``kappa_from_tables``, ``chunks`` the ``_chunks`` they were counted from; ``population``
    marks the items entering at least one pair.
    """
    ok = res["defined"]
    n_ok = int(ok.sum())
    if n_ok == 0:
        return None, None
    kappa = np.where(ok, res["kappa"], 0.0)
    total = float(kappa.sum())
    mean = total / n_ok
    # kappa of each pair after deleting one item rated (a, b) by the pair: (P, K, K)
    d = _disagreement(k, weights)
    n = res["n"]
    row, col = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = (d * tables).sum(axis=(-2, -1))
    expected_num = np.einsum("pi,ij,pj->p", row, d, col)
    obs_del = observed[:, None, None] - d
    exp_del = (expected_num[:, None, None] - (col @ d.T)[:, :, None] - (row @ d)[:, None, :] + d)
    n_del = (n - 1)[:, None, None]
    still = (n_del > 0) & (exp_del > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa_del = 1.0 - obs_del * n_del / exp_del
    delta = np.where(still, kappa_del - kappa[:, None, None], -kappa[:, None, None])
    lost = (~still).astype(float)
    present = tables > 0  # only cells some item occupies matter
    delta = np.where(ok[:, None, None] & present, delta, 0.0)
    lost = np.where(ok[:, None, None] & present, lost, 0.0)
    n_right = left.shape[1] if right is None else right.shape[1]
    m_delta = np.zeros((left.shape[1] * k, n_right * k))
    m_lost = np.zeros_like(m_delta)
    shape = (len(pair_index[0]), k, k)
    rows_idx = np.broadcast_to(pair_index[0][:, None, None] * k + np.arange(k)[None, :, None], shape)
    cols_idx = np.broadcast_to(pair_index[1][:, None, None] * k + np.arange(k)[None, None, :], shape)
    m_delta[rows_idx, cols_idx] = delta
    m_lost[rows_idx, cols_idx] = lost
    # Deleting an item changes the sum of kappas by the delta of each of its pairs' (a, b) cells: summed over
    # the listed pairs, or the quadratic form of the item's one-hot ratings (upper triangular for p < q).
    change, dropped = np.zeros(left.shape[0]), np.zeros(left.shape[0])
    any_lost = bool(m_lost.any())  # usually no pair hangs on a single item
    for start, block, listed in chunks:
        if listed is not None:
            item, cell = listed
            change += np.bincount(item, weights=m_delta.ravel()[cell], minlength=change.size)
            if any_lost:
                dropped += np.bincount(item, weights=m_lost.ravel()[cell], minlength=dropped.size)
            continue
        x = _onehot(block, k)  # m_delta is upper triangular (pairs p < q): a triangular BLAS product
        change[start : start + block.shape[0]] = (blas.dtrmm(1.0, m_delta, x, side=1, lower=0) * x).sum(axis=1)
        if any_lost:
            dropped[start : start + block.shape[0]] = (blas.dtrmm(1.0, m_lost, x, side=1, lower=0) * x).sum(axis=1)
    items = np.flatnonzero(population)
    change, dropped = change[items], dropped[items]
    m = items.size
    denominators = n_ok - np.rint(dropped)
    if m < 2 or np.any(denominators <= 0):
        return mean, None
    replicates = (total + change) / denominators
    se = float(np.sqrt((m - 1) / m * ((replicates - replicates.mean()) ** 2).sum()))
    return mean, se


def _average_coefficient(
    name: str,
    res: dict[str, np.ndarray],
    mean: float | None,
    se: float | None,
    *,
    reason: str | None,
    population: np.ndarray,
    ratings_used: int,
    totals: dict[str, int],
    confidence: float,
    weights: str | None,
) -> Coefficient:
    if reason:
        return insufficient(name, reason, **totals)
    sizes = {"n_items": int(population.sum()), "n_ratings": ratings_used}
    # A pair is ok where its kappa is defined, without overlap where it has no co-rated item, and without
    # variation otherwise (as ``_pair_coefficients`` labels it).
    defined, overlap = res["defined"], res["n"] > 0
    counts = {
        "n_pairs": int(defined.size),
        "n_pairs_defined": int(np.count_nonzero(defined)),
        "n_pairs_no_overlap": int(np.count_nonzero(~overlap)),
        "n_pairs_no_variation": int(np.count_nonzero(overlap & ~defined)),
        "weights": weights,
    }
    if mean is None:
        if counts["n_pairs_no_variation"]:
            return no_variation(name, **sizes, **totals, percent_agreement=1.0)
        return insufficient(name, REASON_NO_OVERLAP, **totals)
    values = res["kappa"][defined]
    extra = {**counts, "se_method": "jackknife_items", "min": float(values.min()), "max": float(values.max()),
             "median": float(np.median(values))}
    low = high = ci_method = None
    if se is not None:
        z = normal_quantile(confidence)
        # Kappa lies in [-1, 1]; a normal interval on few items can overshoot, so it is clipped there.
        low, high, ci_method = max(-1.0, mean - z * se), min(1.0, mean + z * se), "jackknife_normal"
    return Coefficient(name=name, value=mean, status=STATUS_OK, **sizes, **totals, se=se, ci_low=low, ci_high=high,
                       ci_method=ci_method, ci_level=confidence if ci_method else None,
                       warnings=size_warnings(sizes["n_items"]), extra=extra)


def pairwise_cohen_kappa(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
    pair_ci: str = "wald",
    pairs: bool = True,
) -> PairwiseKappa:
    """Cohen's kappa for every pair of columns of ``ratings`` (items x raters, NaN = missing).

    Pairs without a co-rated item are listed with status ``insufficient_data``/``no_overlap``.
    ``average`` is the mean over pairs with status ok (the "average Cohen's kappa" of the published
    study); its SE is the delete-one-item jackknife over all items (pairs share items, so their
    kappas are correlated) and its CI the normal interval around it. Per-pair CIs are Wald intervals
    on the FCE standard error, or item-bootstrap percentile intervals with ``pair_ci="bootstrap"``
    (``n_boot`` resamples; ``n_boot`` is not used otherwise). ``pairs=False`` gives the average alone
    (``pairs`` empty), without building a result per pair.
    """
    k = _prepare(labels, weights, confidence)
    if pair_ci not in PAIR_CI:
        raise ValueError(f"pair_ci must be one of {PAIR_CI}")
    ratings = as_matrix(ratings, k)
    n_raters = ratings.shape[1]
    raters = tuple(rater_ids) if rater_ids is not None else tuple(range(n_raters))
    if len(raters) != n_raters:
        raise ValueError("rater_ids must name every column of ratings")
    ia, ib = np.triu_indices(n_raters, k=1)
    observed = ~np.isnan(ratings)
    per_rater = observed.sum(axis=0)
    chunks = list(_chunks(ratings, None, k))  # listed once: the tables and the jackknife read the same
    tables = _cross_tables(ratings, None, k, chunks)[ia, :, ib, :]
    res = kappa_from_tables(tables, weights)
    listed: tuple[RaterPair, ...] = ()
    if pairs:
        totals = [(ratings.shape[0], n) for n in (per_rater[ia] + per_rater[ib]).tolist()]
        coefs = _pair_coefficients(tables, weights, totals=totals, ci=pair_ci, n_boot=n_boot, seed=seed,
                                   confidence=confidence, res=res)
        listed = tuple(
            RaterPair(rater_a=raters[a], rater_b=raters[b], kappa=c,
                      percent_agreement=float(res["agreement"][i]) if res["n"][i] > 0 else None)
            for i, (a, b, c) in enumerate(zip(ia, ib, coefs, strict=True))
        )
    reason = insufficiency(ratings)
    population = observed.sum(axis=1) >= 2
    mean = se = None
    if not reason:
        mean, se = _jackknife_average(ratings, None, k, tables, (ia, ib), weights, population, res, chunks)
    name = "average_cohen_kappa" + (f"_{weights}" if weights else "")
    average = _average_coefficient(
        name, res, mean, se, reason=reason, population=population,
        ratings_used=int(observed[population].sum()),
        totals={"n_items_total": ratings.shape[0], "n_ratings_total": int(observed.sum())},
        confidence=confidence, weights=weights,
    )
    return PairwiseKappa(raters=raters, weights=weights, pairs=listed, average=average)


def judge_agreement(
    ratings: np.ndarray,
    judge: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    consensus: str = "majority",
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
    tie: str | None = None,
    scale: str | None = None,
    per_rater: bool = True,
) -> JudgeAgreement:
    """Kappa of ``judge`` (one value per item, NaN = not judged) against each column of ``ratings``
    and against the clinicians' consensus per item.

    ``consensus``: ``"majority"`` (modal category), ``"median"`` or ``"mean"`` (rounded to a category
    index); ``tie`` settles tied items (``"exclude"``, ``"lower"``, ``"higher"``, ``"random"`` seeded by
    ``seed``; None = exclude for majority, round half up for median/mean); see consensus.py. The
    number of tied items is ``n_consensus_ties`` (and ``vs_consensus.extra["n_tied"]``), whichever
    rule settled them. ``scale`` (``"nominal"``, ``"ordinal"``, ``"interval"``; None = undeclared,
    not checked): a median or mean consensus, or an ordered tie rule, on a nominal scale gives
    ``vs_consensus`` status ``invalid_for_scale``. ``per_rater_average`` is the mean of the
    per-clinician kappas with the same delete-one-item jackknife SE as ``pairwise_cohen_kappa``;
    compare it with the clinicians' own average pairwise kappa (the human ceiling), or use
    ``judge_vs_leave_one_out`` for the like-for-like comparison against a consensus. ``per_rater=False``
    gives the average alone (``per_rater`` empty), without building a result per clinician.
    """
    invalid = consensus_validity(consensus, scale, tie)
    tie_rule = check_options(consensus, tie, scale)
    k = _prepare(labels, weights, confidence)
    ratings = as_matrix(ratings, k)
    judge = as_vector(judge, k)
    if judge.size != ratings.shape[0]:
        raise ValueError("judge must have one value per item (row of ratings)")
    n_raters = ratings.shape[1]
    raters = tuple(rater_ids) if rater_ids is not None else tuple(range(n_raters))
    if len(raters) != n_raters:
        raise ValueError("rater_ids must name every column of ratings")
    right = judge[:, None]
    chunks = list(_chunks(ratings, right, k))
    tables = _cross_tables(ratings, right, k, chunks)[:, :, 0, :]
    observed = ~np.isnan(ratings)
    judged = ~np.isnan(judge)
    res = kappa_from_tables(tables, weights)
    listed: tuple[RaterPair, ...] = ()
    if per_rater:
        totals = [(ratings.shape[0], int(observed[:, r].sum() + judged.sum())) for r in range(n_raters)]
        coefs = _pair_coefficients(tables, weights, totals=totals, ci="bootstrap", n_boot=n_boot, seed=seed,
                                   confidence=confidence, res=res)
        listed = tuple(
            RaterPair(rater_a=raters[r], rater_b="judge", kappa=coefs[r],
                      percent_agreement=float(res["agreement"][r]) if res["n"][r] > 0 else None)
            for r in range(n_raters)
        )
    population = judged & observed.any(axis=1)
    if not judged.any() and not observed.any():
        reason = REASON_EMPTY
    elif not judged.any() or not observed.any():
        reason = REASON_SINGLE_RATER
    elif not population.any():
        reason = REASON_NO_OVERLAP
    else:
        reason = None
    mean = se = None
    if not reason:
        mean, se = _jackknife_average(ratings, right, k, tables, (np.arange(n_raters), np.zeros(n_raters, int)),
                                      weights, population, res, chunks)
    suffix = f"_{weights}" if weights else ""
    average = _average_coefficient(
        "judge_average_cohen_kappa" + suffix, res, mean, se, reason=reason, population=population,
        ratings_used=int(observed[population].sum() + population.sum()),
        totals={"n_items_total": ratings.shape[0], "n_ratings_total": int(observed.sum() + judged.sum())},
        confidence=confidence, weights=weights,
    )
    name = "judge_vs_consensus_kappa" + suffix
    described = {"consensus": consensus, "tie": tie_rule, "scale": scale}
    if invalid:
        vs = Coefficient(name=name, value=None, status=STATUS_INVALID_FOR_SCALE, n_items=0, n_ratings=0,
                         n_items_total=ratings.shape[0], n_ratings_total=int(observed.sum() + judged.sum()),
                         extra={"reason": invalid, **described})
        tied = 0
    else:
        centre, tied_items = consensus_with_ties(ratings, k, consensus, tie=tie, seed=seed)
        tied = int(tied_items.sum())
        vs = cohen_kappa(centre, judge, labels=labels, weights=weights, n_boot=n_boot, seed=seed,
                         confidence=confidence)
        vs = replace(vs, name=name, extra={**vs.extra, **described, "n_tied": tied})
    return JudgeAgreement(weights=weights, consensus_method=consensus, per_rater=listed,
                          per_rater_average=average, vs_consensus=vs, consensus_tie_rule=tie_rule,
                          n_consensus_ties=tied, scale=scale)


def intra_rater_agreement(
    rater_ids: Sequence,
    first: Sequence[float] | np.ndarray,
    repeat: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> IntraRaterAgreement:
    """Test-retest kappa: one row per repeated item, ``first`` and ``repeat`` rating of ``rater_ids``.

    ``per_rater`` holds each rater's kappa over their own pairs (raters in first-seen order);
    ``pooled`` is one kappa over all pairs of all raters. Rows with a missing rating are left out.
    Bootstrap CIs resample the rater's (or all) repeated items.
    """
    k = _prepare(labels, weights, confidence)
    first, repeat = as_vector(first, k), as_vector(repeat, k)
    ids = list(rater_ids)
    if not (len(ids) == first.size == repeat.size):
        raise ValueError("rater_ids, first and repeat must have the same length")
    order = list(dict.fromkeys(ids))
    index = {r: i for i, r in enumerate(order)}
    rater_idx = np.array([index[r] for r in ids], dtype=int)
    both = ~np.isnan(first) & ~np.isnan(repeat)
    tables = np.zeros((len(order), k, k))
    np.add.at(tables, (rater_idx[both], first[both].astype(int), repeat[both].astype(int)), 1.0)
    present = (~np.isnan(first)).astype(int) + (~np.isnan(repeat)).astype(int)  # ratings per row
    rows_per = np.bincount(rater_idx, minlength=len(order)) if ids else np.zeros(0, int)
    ratings_per = np.bincount(rater_idx, weights=present, minlength=len(order)) if ids else np.zeros(0)
    totals = [(int(rows_per[i]), int(ratings_per[i])) for i in range(len(order))]
    coefs = _pair_coefficients(tables, weights, totals=totals, ci="bootstrap", n_boot=n_boot, seed=seed,
                               confidence=confidence, name="test_retest_kappa")
    pooled_total = [(len(ids), int(present.sum()))]
    pooled = _pair_coefficients(tables.sum(axis=0, keepdims=True), weights, totals=pooled_total, ci="bootstrap",
                                n_boot=n_boot, seed=seed, confidence=confidence, name="test_retest_kappa")[0]
    if not ids:
        pooled = insufficient(pooled.name, REASON_EMPTY, n_items_total=0, n_ratings_total=0)
    return IntraRaterAgreement(weights=weights, per_rater=tuple(zip(order, coefs, strict=True)), pooled=pooled)
