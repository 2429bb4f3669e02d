"""User-given weight matrices, and Cohen's weighted kappa with one.

Cohen (1968) weights credit partial agreement between categories i and j. They can be given either as
**agreement weights** w (1 on the diagonal: full agreement; 0 <= w_ij <= 1 off it) or as
**disagreement weights** d (0 on the diagonal, d_ij >= 0 off it). The two describe the same kappa
when w = 1 - d / max(d), because kappa is invariant to rescaling d:

    kappa_w = 1 - sum_ij d_ij T_ij / sum_ij d_ij E_ij = (p_o,w - p_e,w) / (1 - p_e,w)

with T the K x K table of the two raters (rows: rater a, columns: rater b), E_ij = row_i col_j / n,
p_o,w = sum w_ij T_ij / n and p_e,w = sum w_ij E_ij / n. The built-in ``"linear"`` and
``"quadratic"`` weights are the matrices |i - j| and (i - j)^2 on category indices.

Validation (``weight_matrix``) raises ``ValueError`` for a matrix that is not K x K (K = the declared
number of categories), has a non-finite entry, does not give full agreement on the diagonal, has an
agreement weight outside [0, 1] or a negative disagreement weight, or credits every pair of
categories with full agreement (then no disagreement is possible and kappa is 0/0 for any data).

Asymmetric matrices are allowed (e.g. an under-triage counted worse than an over-triage): rows are
rater a's category and columns rater b's, so swapping the raters changes the value; the result's
``extra["symmetric"]`` says which case applies. The standard error is that of Fleiss, Cohen &
Everitt (1969), which holds for any weights, symmetric or not.

References: Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220. Fleiss, J. L.,
Cohen, J. & Everitt, B. S. (1969). Large sample standard errors of kappa and weighted kappa.
*Psychological Bulletin* 72(5), 323-327.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from . import kappa as _kappa
from ._core import WEIGHTS, agreement_weights, as_vector, check_confidence, insufficiency, insufficient, n_categories
from .kappa import cohen_kappa
from .results import REASON_EMPTY, REASON_SINGLE_RATER, Coefficient

KINDS = ("agreement", "disagreement")


def _check_square(matrix, k: int) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.shape != (k, k):
        raise ValueError(f"a weight matrix must be {k} x {k} (one row and column per declared category), "
                         f"not {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("weight matrix entries must be finite")
    return m


def weight_matrix(k: int, weights=None, *, kind: str = "agreement") -> np.ndarray:
    """Validated K x K **agreement** weights from a name or a user-given matrix.

    ``weights`` is None (identity), ``"linear"``, ``"quadratic"``, or a K x K array-like of
    ``kind`` ``"agreement"`` weights (diagonal 1, entries in [0, 1]) or ``"disagreement"`` weights
    (diagonal 0, entries >= 0), which is turned into agreement weights 1 - d / max(d).
    """
    if weights is None or isinstance(weights, str):
        if kind != "agreement":
            raise ValueError("kind applies to a weight matrix, not to a named weighting")
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS} or a {k} x {k} matrix, not {weights!r}")
        return agreement_weights(k, weights)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    m = _check_square(weights, k)
    off = ~np.eye(k, dtype=bool)
    if kind == "disagreement":
        if np.any(np.diag(m) != 0):
            raise ValueError("disagreement weights must be 0 on the diagonal (a category agrees with itself)")
        if np.any(m < 0):
            raise ValueError("disagreement weights must be >= 0")
        if k > 1 and not np.any(m[off] > 0):
            raise ValueError("disagreement weights are all 0: no disagreement is possible")
        return 1.0 - m / m.max() if k > 1 else np.ones((1, 1))
    if np.any(np.diag(m) != 1):
        raise ValueError("agreement weights must be 1 on the diagonal (a category agrees with itself)")
    if np.any((m < 0) | (m > 1)):
        raise ValueError("agreement weights must lie in [0, 1]")
    if k > 1 and np.all(m[off] == 1):
        raise ValueError("agreement weights are all 1: no disagreement is possible")
    return m


def weighted_cohen_kappa(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights,
    kind: str = "agreement",
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Cohen's (1968) weighted kappa of two raters with a user-given weight matrix.

    Parameters
    ----------
    a, b : array-like of shape (n_items,)
        Category indices 0..K-1 into ``labels``; NaN = missing (items rated by both are used).
    labels : sequence
        The declared categories, K = len(labels).
    weights : array-like of shape (K, K), or "linear" / "quadratic" / None
        Agreement weights (``kind="agreement"``: 1 on the diagonal, in [0, 1]) or disagreement
        weights (``kind="disagreement"``: 0 on the diagonal, >= 0). Rows index rater a's category.
    kind : {"agreement", "disagreement"}
    n_boot, seed, confidence
        As :func:`cohen_kappa`: item-bootstrap percentile interval when ``n_boot`` > 0, else Wald on
        the Fleiss-Cohen-Everitt standard error.

    Returns
    -------
    Coefficient
        ``name`` ``"cohen_kappa_custom"`` for a matrix; ``extra`` holds ``weight_matrix`` (the
        agreement weights used) and ``symmetric``. Edge cases as :func:`cohen_kappa`.

    References
    ----------
    Cohen (1968), *Psychological Bulletin* 70, 213-220; Fleiss, Cohen & Everitt (1969),
    *Psychological Bulletin* 72, 323-327.
    """
    k = n_categories(labels)
    check_confidence(confidence)
    w = weight_matrix(k, weights, kind=kind)
    if weights is None or isinstance(weights, str):
        return cohen_kappa(a, b, labels=labels, weights=weights, n_boot=n_boot, seed=seed, confidence=confidence)
    d = 1.0 - w
    res = _custom_kappa(a, b, k, d, n_boot=n_boot, seed=seed, confidence=confidence)
    extra = {**res.extra, "weight_matrix": w.tolist(), "symmetric": bool(np.allclose(w, w.T)), "kind": kind}
    return replace(res, extra=extra)


def _custom_kappa(a, b, k: int, d: np.ndarray, **options) -> Coefficient:
    a, b = as_vector(a, k), as_vector(b, k)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same length")
    ratings = np.column_stack([a, b])
    totals = [(a.size, int(np.count_nonzero(~np.isnan(ratings))))]
    reason = insufficiency(ratings)
    if reason in (REASON_EMPTY, REASON_SINGLE_RATER):
        return insufficient("cohen_kappa_custom", reason, n_items_total=totals[0][0], n_ratings_total=totals[0][1])
    tables = _kappa._cross_tables(ratings[:, :1], ratings[:, 1:], k).reshape(1, k, k)
    return _kappa._pair_coefficients(tables, d, totals=totals, ci="bootstrap", **options)[0]
