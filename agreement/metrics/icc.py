"""Intraclass correlations: the six forms of Shrout & Fleiss (1979) with their F-based intervals.

Input: an items (targets) x raters (judges) matrix of numeric scores. The ANOVA needs a complete
matrix, so raters without any score are dropped first (``n_raters_dropped``), then every item with a
missing score is dropped listwise (``n_items_dropped``); both counts are in the result, and
``n_items``/``n_items_total`` on every coefficient say how many items were used out of how many.

With n items and k raters, the mean squares of the two-way layout are (Shrout & Fleiss 1979, Table 1)
BMS between items (df n - 1), WMS within items (df n(k - 1)), JMS between raters (df k - 1) and
EMS residual (df (n - 1)(k - 1)); WMS pools JMS and EMS. The six forms:

=========  ============  ======================================  ===========================================
S&F        McGraw-Wong   model                                   estimate
=========  ============  ======================================  ===========================================
ICC(1,1)   ICC(1)        one-way random, single rater            (BMS - WMS) / (BMS + (k - 1) WMS)
ICC(2,1)   ICC(A,1)      two-way random, absolute agreement      (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n)
ICC(3,1)   ICC(C,1)      two-way mixed, consistency              (BMS - EMS) / (BMS + (k - 1) EMS)
ICC(1,k)   ICC(k)        one-way random, mean of k raters        (BMS - WMS) / BMS
ICC(2,k)   ICC(A,k)      two-way random, mean of k raters        (BMS - EMS) / (BMS + (JMS - EMS) / n)
ICC(3,k)   ICC(C,k)      two-way mixed, mean of k raters         (BMS - EMS) / BMS
=========  ============  ======================================  ===========================================

Confidence intervals (Shrout & Fleiss 1979, section 4; McGraw & Wong 1996, Tables 7-8), with
F_q(a, b) the q-quantile of the F distribution (scipy ``stats.f``) and q = (1 + confidence) / 2:

* ICC(1,·) and ICC(3,·): F0 = BMS / WMS (resp. BMS / EMS) on (n - 1, n(k - 1)) (resp.
  (n - 1, (n - 1)(k - 1))) df; FL = F0 / F_q(df1, df2), FU = F0 * F_q(df2, df1); single rater:
  [(FL - 1) / (FL + k - 1), (FU - 1) / (FU + k - 1)]; mean of k: [1 - 1 / FL, 1 - 1 / FU]. These are
  exact under the normal model (``ci_method="f"``).
* ICC(2,·): no exact interval exists; Satterthwaite's approximate df v for a combination of JMS and
  EMS (Shrout & Fleiss eq. 10-11, with rho the ICC(2,1) estimate), F* = F_q(n - 1, v),
  F** = F_q(v, n - 1), and the bounds of Shrout & Fleiss (single rater) and McGraw & Wong (mean of k)
  (``ci_method="f_satterthwaite"``).

``extra`` carries the F test of H0: ICC = 0 (``f_statistic``, ``df1``, ``df2``, ``p_value``; for
ICC(2,·) the same BMS / EMS test as ICC(3,·), as Shrout & Fleiss), the two names and the model.
``se`` is None: the intervals are not Wald intervals.

Edge cases: no score at all: ``insufficient_data``/``empty``; fewer than two raters with scores:
``single_rater``; fewer than two complete items: ``too_few_items``. A form whose denominator is not
positive (all scores equal; or, for the k-rater and absolute-agreement forms, items whose means do
not vary) is ``undefined_no_variation``. Estimates can be negative (the between-items mean square
below the error mean square) and are reported as they are, not truncated at 0. With a zero error
mean square the exact F interval degenerates to its limit [1, 1]. When an F quantile of the interval
is not finite (Satterthwaite's df near 0, which happens with very few items and a negative estimate)
the interval is None and ``extra["ci_undefined"]`` says why. Fewer than 10 items add ``small_n``.

References: Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. *Psychological Bulletin* 86(2), 420-428. McGraw, K. O. & Wong, S. P. (1996). Forming
inferences about some intraclass correlation coefficients. *Psychological Methods* 1(1), 30-46.
Koo, T. K. & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation
coefficients for reliability research. *J Chiropr Med* 15(2), 155-163.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._core import check_confidence, insufficient, size_warnings
from .results import (
    REASON_EMPTY,
    REASON_SINGLE_RATER,
    REASON_TOO_FEW_ITEMS,
    STATUS_NO_VARIATION,
    STATUS_OK,
    Coefficient,
    IntraclassCorrelation,
)

# field, Shrout & Fleiss name, McGraw & Wong name, model
FORMS = (
    ("icc1", "ICC(1,1)", "ICC(1)", "one-way random effects, single rater"),
    ("icc2", "ICC(2,1)", "ICC(A,1)", "two-way random effects, absolute agreement, single rater"),
    ("icc3", "ICC(3,1)", "ICC(C,1)", "two-way mixed effects, consistency, single rater"),
    ("icc1k", "ICC(1,k)", "ICC(k)", "one-way random effects, mean of k raters"),
    ("icc2k", "ICC(2,k)", "ICC(A,k)", "two-way random effects, absolute agreement, mean of k raters"),
    ("icc3k", "ICC(3,k)", "ICC(C,k)", "two-way mixed effects, consistency, mean of k raters"),
)
_ZERO = 1e-12  # a sum of squares below this share of the total is rounding error


def mean_squares(x: np.ndarray) -> dict[str, float]:
    """Mean squares of the two-way items x raters layout of a complete matrix (n >= 2, k >= 2)."""
    n, k = x.shape
    grand = x.mean()
    row, col = x.mean(axis=1), x.mean(axis=0)
    ss_total = float(((x - grand) ** 2).sum())
    ss = {
        "between_items": k * float(((row - grand) ** 2).sum()),
        "within_items": float(((x - row[:, None]) ** 2).sum()),
        "between_raters": n * float(((col - grand) ** 2).sum()),
        "residual": float(((x - row[:, None] - col[None, :] + grand) ** 2).sum()),
    }
    ss = {key: (0.0 if value <= _ZERO * ss_total else value) for key, value in ss.items()}
    df = {"between_items": n - 1, "within_items": n * (k - 1), "between_raters": k - 1,
          "residual": (n - 1) * (k - 1)}
    return {key: ss[key] / df[key] for key in ss}


def _estimates(ms: dict[str, float], n: int, k: int) -> dict[str, tuple[float, float]]:
    """(numerator, denominator) of each form."""
    b, w, j, e = ms["between_items"], ms["within_items"], ms["between_raters"], ms["residual"]
    return {
        "icc1": (b - w, b + (k - 1) * w),
        "icc2": (b - e, b + (k - 1) * e + k * (j - e) / n),
        "icc3": (b - e, b + (k - 1) * e),
        "icc1k": (b - w, b),
        "icc2k": (b - e, b + (j - e) / n),
        "icc3k": (b - e, b),
    }


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else (np.inf if num > 0 else 0.0)


def _exact_interval(f0: float, df1: int, df2: int, k: int, average: bool, q: float) -> tuple[float, float]:
    """Shrout & Fleiss intervals of ICC(1,·) and ICC(3,·) from the observed F ratio."""
    f_low = f0 / stats.f.ppf(q, df1, df2)
    f_high = f0 * stats.f.ppf(q, df2, df1)
    if average:
        bound = [1.0 - 1.0 / f if f > 0 else -np.inf for f in (f_low, f_high)]
    else:
        bound = [1.0 - k / (f + k - 1) for f in (f_low, f_high)]
    return float(bound[0]), float(bound[1])


def satterthwaite_df(ms: dict[str, float], n: int, k: int, rho: float) -> float:
    """Approximate df of the ICC(2,·) interval (Shrout & Fleiss 1979, eq. 11, multiplied through by EMS^2)."""
    j, e = ms["between_raters"], ms["residual"]
    c = n * (1 + (k - 1) * rho) - k * rho
    num = (k - 1) * (n - 1) * (k * rho * j + c * e) ** 2
    den = (n - 1) * (k * rho * j) ** 2 + (c * e) ** 2
    return num / den if den > 0 else float((n - 1) * (k - 1))


def _absolute_interval(ms: dict[str, float], n: int, k: int, rho: float, average: bool,
                       q: float) -> tuple[float, float, float]:
    """ICC(2,1) (Shrout & Fleiss) or ICC(2,k) (McGraw & Wong) bounds, and Satterthwaite's df."""
    b, j, e = ms["between_items"], ms["between_raters"], ms["residual"]
    v = satterthwaite_df(ms, n, k, rho)
    f_star, f_2star = stats.f.ppf(q, n - 1, v), stats.f.ppf(q, v, n - 1)
    if average:
        low = n * (b - f_star * e) / (f_star * (j - e) + n * b)
        high = n * (f_2star * b - e) / (j - e + n * f_2star * b)
    else:
        spread = k * j + (k * n - k - n) * e
        low = n * (b - f_star * e) / (f_star * spread + n * b)
        high = n * (f_2star * b - e) / (spread + n * f_2star * b)
    return float(low), float(high), float(v)


def _form(field_name: str, ms: dict[str, float], n: int, k: int, *, q: float, confidence: float, rho2: float,
          sizes: dict[str, int]) -> Coefficient:
    _, sf_name, mw_name, model = next(f for f in FORMS if f[0] == field_name)
    num, den = _estimates(ms, n, k)[field_name]
    extra: dict = {"form": sf_name, "mcgraw_wong": mw_name, "model": model}
    scale = max(ms.values())
    if scale <= 0 or den <= _ZERO * scale:
        return Coefficient(name=field_name, value=None, status=STATUS_NO_VARIATION, **sizes,
                           warnings=size_warnings(n), extra=extra)
    value = num / den
    one_way = field_name.startswith("icc1")
    average = field_name.endswith("k")
    error = ms["within_items"] if one_way else ms["residual"]
    df1, df2 = n - 1, (n * (k - 1) if one_way else (n - 1) * (k - 1))
    f0 = _ratio(ms["between_items"], error)
    extra.update(f_statistic=f0, df1=df1, df2=df2, p_value=float(stats.f.sf(f0, df1, df2)))
    if field_name.startswith("icc2"):
        with np.errstate(invalid="ignore", divide="ignore"):
            low, high, extra["satterthwaite_df"] = _absolute_interval(ms, n, k, rho2, average, q)
        ci_method = "f_satterthwaite"
    else:
        low, high = _exact_interval(f0, df1, df2, k, average, q)
        ci_method = "f"
    if not (np.isfinite(low) and np.isfinite(high)):  # e.g. Satterthwaite df near 0: an F quantile is infinite
        low = high = ci_method = None
        extra["ci_undefined"] = "an F quantile of the interval is not finite"
    return Coefficient(name=field_name, value=float(value), status=STATUS_OK, **sizes, ci_low=low, ci_high=high,
                       ci_method=ci_method, ci_level=confidence if ci_method else None, warnings=size_warnings(n),
                       extra=extra)


def _as_scores(scores) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if arr.ndim != 2:
        if arr.size == 0:
            return arr.reshape(0, 0)
        raise ValueError("scores must be a 2-D items x raters array")
    if np.isinf(arr).any():
        raise ValueError("scores must be finite numbers or NaN")
    return arr


def intraclass_correlation(scores, *, confidence: float = 0.95) -> IntraclassCorrelation:
    """The six Shrout & Fleiss (1979) intraclass correlations with their F-based confidence intervals.

    Parameters
    ----------
    scores : array-like of shape (n_items, n_raters)
        Numeric scores (not category indices: the scale's own numbers), NaN = missing. Raters with
        no score are dropped, then items with a missing score are dropped listwise; both are counted.
    confidence : float, default 0.95
        Level of the two-sided intervals.

    Returns
    -------
    IntraclassCorrelation
        ``icc1``, ``icc2``, ``icc3`` (single rater) and ``icc1k``, ``icc2k``, ``icc3k`` (mean of the k
        raters) as :class:`Coefficient`; ``forms()`` maps "ICC(2,1)" etc. to them.

    References
    ----------
    Shrout & Fleiss (1979), *Psychological Bulletin* 86, 420-428; McGraw & Wong (1996),
    *Psychological Methods* 1, 30-46.

    Examples
    --------
    Shrout & Fleiss's Table 2 (6 targets, 4 judges): ICC(1,1) = .17, ICC(2,1) = .29, ICC(3,1) = .71.

    >>> x = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> round(intraclass_correlation(x).icc2.value, 2)
    0.29
    """
    check_confidence(confidence)
    arr = _as_scores(scores)
    observed = ~np.isnan(arr)
    rated = observed.any(axis=0) if arr.size else np.zeros(arr.shape[1] if arr.ndim == 2 else 0, bool)
    x_all = arr[:, rated]
    complete = ~np.isnan(x_all).any(axis=1) if x_all.shape[1] else np.zeros(arr.shape[0], bool)
    x = x_all[complete]
    n, k = x.shape
    sizes = {"n_items": int(n), "n_ratings": int(n * k), "n_items_total": int(arr.shape[0]),
             "n_ratings_total": int(observed.sum())}
    common = {"n_items": int(n), "n_raters": int(k), "n_items_total": int(arr.shape[0]),
              "n_items_dropped": int(arr.shape[0] - n), "n_raters_dropped": int((~rated).sum())}
    reason = None
    if not observed.any():
        reason = REASON_EMPTY
    elif k < 2:
        reason = REASON_SINGLE_RATER
    elif n < 2:
        reason = REASON_TOO_FEW_ITEMS
    if reason:
        forms = {}
        for field_name, sf_name, mw_name, model in FORMS:
            coef = insufficient(field_name, reason, n_items_total=sizes["n_items_total"],
                                n_ratings_total=sizes["n_ratings_total"])
            coef.extra.update(form=sf_name, mcgraw_wong=mw_name, model=model)
            forms[field_name] = coef
        return IntraclassCorrelation(mean_squares={}, **common, **forms)
    ms = mean_squares(x)
    num2, den2 = _estimates(ms, n, k)["icc2"]
    rho2 = num2 / den2 if den2 > 0 else 0.0
    q = (1 + confidence) / 2
    forms = {f[0]: _form(f[0], ms, n, k, q=q, confidence=confidence, rho2=rho2, sizes=sizes) for f in FORMS}
    return IntraclassCorrelation(mean_squares=ms, **common, **forms)
