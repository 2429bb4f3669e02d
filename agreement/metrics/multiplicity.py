"""Adjusting a family of p-values for multiple testing: Holm and Benjamini-Hochberg.

A report tests many things at once (each persona, each dimension, each judge), so some p-values fall
below 0.05 by chance. With m p-values sorted ascending p_(1) <= ... <= p_(m):

* ``"holm"`` (Holm 1979) controls the family-wise error rate (the chance of any false rejection)
  under any dependence: adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)). It is uniformly
  more powerful than Bonferroni.
* ``"bh"`` (Benjamini & Hochberg 1995) controls the false discovery rate (the expected share of
  false rejections among rejections) for independent or positively dependent tests:
  adjusted p_(i) = min_{j >= i} min(1, m p_(j) / j); computed by scipy
  ``stats.false_discovery_control(method="bh")``.

A hypothesis is rejected when its adjusted p-value is <= ``alpha``. Both equal statsmodels
``multipletests(method="holm"/"fdr_bh")`` (tested). Missing p-values (NaN or None, e.g. from an
undefined coefficient) are left out of the family, so m counts only the p-values present, and come
back as None; ``n_missing`` says how many there were. A p-value outside [0, 1] raises ``ValueError``.

References: Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70. Benjamini, Y. & Hochberg, Y. (1995). Controlling the false
discovery rate. *JRSS B* 57(1), 289-300.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .results import AdjustedPValues

METHODS = ("holm", "bh")


def _holm(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


def adjust_pvalues(p_values: Sequence[float | None] | np.ndarray, *, method: str = "holm",
                   alpha: float = 0.05) -> AdjustedPValues:
    """Holm or Benjamini-Hochberg adjusted p-values and rejections for one family of tests.

    Parameters
    ----------
    p_values : sequence of float or None
        One p-value per hypothesis; None/NaN = not available (left out of the family).
    method : {"holm", "bh"}
        Family-wise error rate (Holm) or false discovery rate (Benjamini-Hochberg).
    alpha : float, default 0.05
        Level at which ``reject`` is decided (adjusted p <= alpha).

    Returns
    -------
    AdjustedPValues
        ``adjusted`` and ``reject`` in the input order (None where the p-value was missing).

    References
    ----------
    Holm (1979), *Scand J Stat* 6, 65-70; Benjamini & Hochberg (1995), *JRSS B* 57, 289-300.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    raw = np.array([np.nan if v is None else v for v in p_values], dtype=float).reshape(-1)
    present = ~np.isnan(raw)
    p = raw[present]
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    adjusted = np.full(raw.size, np.nan)
    if p.size:
        adjusted[present] = _holm(p) if method == "holm" else stats.false_discovery_control(p, method="bh")
    return AdjustedPValues(
        method=method, alpha=alpha, n_tests=int(p.size), n_missing=int((~present).sum()),
        p_values=tuple(float(v) if ok else None for v, ok in zip(raw, present, strict=True)),
        adjusted=tuple(float(v) if ok else None for v, ok in zip(adjusted, present, strict=True)),
        reject=tuple(bool(v <= alpha) if ok else None for v, ok in zip(adjusted, present, strict=True)),
    )
