"""Per-item sums behind every pooled (multi-rater) coefficient, and their bootstrap.

Formulas and edge-case behaviour are documented in multirater.py (Fleiss, Gwet, Brennan-Prediger)
and alpha.py (Krippendorff); this module holds the shared machinery so that one set of item
resamples serves them all.
"""

from __future__ import annotations

import hashlib

import numpy as np

from . import _bootstrap
from ._core import (
    agreement_weights,
    category_counts,
    insufficiency,
    insufficient,
    no_variation,
    size_warnings,
    t_interval,
)
from .results import STATUS_OK, Coefficient

_NO_VARIATION_EPS = 1e-12


class PooledItems:
    """Per-item category counts of one items x raters matrix and the sums every pooled coefficient needs.

    A coefficient is a function of column sums of ``features`` (one row per item with >= 1 rating),
    so the point estimate uses the plain sums and each bootstrap replicate a weighted sum.
    Columns: [1, pairable, p_a,i (identity), p_a,i (linear), p_a,i (quadratic), r_ik / r_i (K),
    unit coincidences (K^2, Krippendorff 2011: (r_ik r_il - [k=l] r_ik) / (r_i - 1))].
    """

    def __init__(self, ratings: np.ndarray, k: int):
        counts_all = category_counts(ratings, k)
        r_all = counts_all.sum(axis=1)
        self.k = k
        self.n_items_total = int(ratings.shape[0])
        self.n_ratings_total = int(r_all.sum())
        self.reason = insufficiency(ratings)
        keep = r_all >= 1
        self.counts = counts_all[keep].astype(float)
        self.r = r_all[keep].astype(float)
        pairable = self.r >= 2
        self.n = int(keep.sum())
        self.n2 = int(pairable.sum())
        self.n_ratings = int(self.r[pairable].sum())
        self.pairable = pairable
        self._features: np.ndarray | None = None
        self._pa: dict[str | None, np.ndarray] = {}
        self._sums: np.ndarray | None = None
        self.memo: dict = {}  # other figures' intermediate results on these items, computed once

    # column layout
    def _slices(self):
        k = self.k
        return {"one": 0, "m2": 1, "pa": {None: 2, "linear": 3, "quadratic": 4}, "q": slice(5, 5 + k),
                "coinc": slice(5 + k, 5 + k + k * k)}

    def pa_items(self, weights: str | None) -> np.ndarray:
        """Per-item weighted observed agreement (0 for items with one rating); computed once per weighting."""
        if weights not in self._pa:
            w = agreement_weights(self.k, weights)
            sum_q = (self.counts * (self.counts @ w.T - 1.0)).sum(axis=1)
            den = self.r * (self.r - 1.0)
            # a single rating is paired with nothing: its sum_q is 0 (its own weight 1 minus 1), so it gets 0 / 1
            self._pa[weights] = sum_q / np.where(den > 0, den, 1.0)
        return self._pa[weights]

    def _head(self, f: np.ndarray) -> None:
        """Fill the first 5 + K columns: count, pairable, p_a,i per weighting, category shares."""
        k = self.k
        f[:, 0] = 1.0
        f[:, 1] = self.pairable
        for w, col in self._slices()["pa"].items():
            f[:, col] = self.pa_items(w)
        f[:, 5 : 5 + k] = self.counts / self.r[:, None]

    @property
    def features(self) -> np.ndarray:
        if self._features is None:
            k = self.k
            f = np.empty((self.n, 5 + k + k * k))
            self._head(f)
            outer = self.counts[:, :, None] * self.counts[:, None, :]
            outer[:, np.arange(k), np.arange(k)] -= self.counts
            den = np.where(self.pairable, self.r - 1.0, np.inf)
            f[:, 5 + k :] = (outer / den[:, None, None]).reshape(self.n, k * k)
            self._features = f
        return self._features

    def sums(self) -> np.ndarray:
        return self.features.sum(axis=0)

    def point_sums(self) -> np.ndarray:
        """The first 5 + K column sums, all a point estimate or its SE reads; computed once, and without the
        coincidence columns (bootstrap replicates only) when those were not built."""
        if self._sums is None:
            head = 5 + self.k
            if self._features is None:
                f = np.empty((self.n, head))
                self._head(f)
                self._sums = f.sum(axis=0)
            else:
                self._sums = self._features[:, :head].sum(axis=0)
        return self._sums

    def resampled(self, n_boot: int, seed: int | None) -> np.ndarray:
        """The features' sums over each item resample; the features follow from the counts, so the sums of
        equal counts are computed once while kept (``_bootstrap.kept_sums``)."""
        counts = np.ascontiguousarray(self.counts)
        key = ("pooled", counts.shape, hashlib.blake2b(counts.data, digest_size=16).digest(), n_boot, seed)
        return _bootstrap.kept_sums(key, seed, lambda: _bootstrap.resampled_sums(self.features, n_boot, seed))

    # coefficient pieces from sums (vectorised over leading axes)
    def p_a(self, s: np.ndarray, weights: str | None) -> np.ndarray:
        sl = self._slices()
        with np.errstate(invalid="ignore", divide="ignore"):
            return s[..., sl["pa"][weights]] / s[..., sl["m2"]]

    def pi(self, s: np.ndarray) -> np.ndarray:
        sl = self._slices()
        return s[..., sl["q"]] / s[..., sl["one"], None]

    def coincidences(self, s: np.ndarray) -> np.ndarray:
        return s[..., self._slices()["coinc"]].reshape(*s.shape[:-1], self.k, self.k)

    def p_e(self, s: np.ndarray, method: str, weights: str | None) -> np.ndarray:
        k = self.k
        w = agreement_weights(k, weights)
        pi = self.pi(s)
        if method == "fleiss":
            return np.einsum("...k,kl,...l->...", pi, w, pi)
        if method == "gwet":
            if k == 1:
                return np.ones(pi.shape[:-1])
            return w.sum() / (k * (k - 1)) * (pi * (1 - pi)).sum(axis=-1)
        if method == "bp":
            return np.full(pi.shape[:-1], w.sum() / k**2)
        raise ValueError(method)

    def coefficient(self, s: np.ndarray, method: str, weights: str | None) -> np.ndarray:
        if method == "percent":
            return self.p_a(s, None)
        pa, pe = self.p_a(s, weights), self.p_e(s, method, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (pa - pe) / (1 - pe)
        return np.where(1 - pe > _NO_VARIATION_EPS, out, np.nan)

    def gwet_se(self, method: str, weights: str | None, value: float) -> float | None:
        """Gwet's linearisation standard error (irrCAC's formulas, f = 0)."""
        n = self.n
        if n < 2:
            return None
        pa_i = self.pa_items(weights)
        if method == "percent":
            if self.n2 < 2:
                return None
            return float(np.std(pa_i[self.pairable], ddof=1) / np.sqrt(self.n2))
        s = self.point_sums()
        pe = float(self.p_e(s, method, weights))
        w = agreement_weights(self.k, weights)
        coef_i = (n / self.n2) * (pa_i - pe * self.pairable) / (1 - pe)
        if method == "bp":
            dev = coef_i - value
        else:
            pi = self.pi(s)
            if method == "fleiss":
                pe_i = self.counts @ ((w + w.T) / 2 @ pi) / self.r
            else:
                pe_i = w.sum() / (self.k * (self.k - 1)) * (self.counts @ (1 - pi)) / self.r
            dev = coef_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe) - value
        return float(np.sqrt((dev**2).sum() / (n * (n - 1))))


_NAMES = {"percent": "percent_agreement", "fleiss": "fleiss_kappa", "gwet": "gwet_ac1", "bp": "brennan_prediger"}


def _name(method: str, weights: str | None) -> str:
    if method == "gwet" and weights is not None:
        return "gwet_ac2"
    return _NAMES[method] + (f"_{weights}" if method == "bp" and weights else "")


def pooled_coefficient(
    items: PooledItems,
    method: str,
    weights: str | None,
    *,
    n_boot: int,
    seed: int | None,
    confidence: float,
    replicates: np.ndarray | None = None,
) -> Coefficient:
    """One pooled coefficient; ``replicates`` are shared resampled sums (agreement_summary)."""
    name = _name(method, weights)
    totals = {"n_items_total": items.n_items_total, "n_ratings_total": items.n_ratings_total}
    if items.reason:
        return insufficient(name, items.reason, **totals)
    sizes = {"n_items": items.n2, "n_ratings": items.n_ratings}
    s = items.point_sums()
    value = items.coefficient(s, method, weights)
    if not np.isfinite(value):
        return no_variation(name, **sizes, **totals, percent_agreement=float(items.p_a(s, None)))
    value = float(value)
    se = items.gwet_se(method, weights, value)
    extra = {"se_method": "gwet_linearisation" if method != "percent" else "sd_over_items",
             "p_a": float(items.p_a(s, weights)), "weights": weights}
    if method != "percent":
        extra["p_e"] = float(items.p_e(s, method, weights))
    if n_boot > 0:
        if replicates is None:
            replicates = items.resampled(n_boot, seed)
        low, high, n_undefined = _bootstrap.percentile_interval(items.coefficient(replicates, method, weights),
                                                                confidence)
        extra["n_boot_undefined"] = n_undefined
        ci_method = _bootstrap.CI_BOOTSTRAP
    elif se is not None:
        low, high = t_interval(confidence, items.n - 1, value, se) if se > 0 else (value, value)
        low, high, ci_method = float(low), min(1.0, float(high)), "t"
    else:
        low = high = ci_method = None
    return Coefficient(name=name, value=value, status=STATUS_OK, **sizes, **totals, se=se, ci_low=low,
                       ci_high=high, ci_method=ci_method, ci_level=confidence if ci_method else None,
                       n_boot=n_boot, seed=seed if n_boot > 0 else None, warnings=size_warnings(items.n2),
                       extra=extra)
