"""Persona effects with cases and clinicians as random effects: mixed models over long-format rows.

One row per observation (a clinician's rating of a response, or a response's own outcome). Fixed
effects are categorical factors in treatment coding: each level against a reference level (the
no-persona baseline for personas; otherwise the most frequent level, ties broken by name). Random
effects are intercepts per level of each random factor (case, clinician), CROSSED, not nested: every
clinician rates many cases and every case is rated by many clinicians. A fixed-effect coefficient is
therefore the difference from the reference at the same case and clinician (a conditional effect).

Three kinds of outcome, each with the model statsmodels offers for it and a check fitted another way:

* ``"binary"`` (0/1, e.g. an answer equal to the case's reference): ``BinomialBayesMixedGLM``, a
  logistic GLMM fitted by mean-field variational Bayes (``fit_vb``; priors N(0, 2^2) on fixed effects,
  N(0, 1) on each log random-effect SD). statsmodels has no frequentist GLMM with crossed random
  effects (``MixedLM`` is Gaussian, ``GEE`` is marginal), so the Bayesian fit is the crossed one it
  has. Mean-field VB drops the posterior correlation of the fixed and the random effects and so
  understates the fixed effects' posterior SDs: in 40 simulated studies (40 cases, 16 clinicians, 720
  ratings) its +/- 1.96 SD intervals covered a care-setting effect 45 % of the times and a model effect
  85 %. The interval is therefore the VB posterior mean +/- z SD of the Laplace approximation at the VB
  fit given the variance components (the inverse Hessian of the log posterior in fixed and random
  effects, as glmer's Wald SEs; ``"vb_laplace"``), which covered 92-100 % with SDs within 10-20 % of
  the estimates' spread; the mean-field SDs are kept in ``extra["mean_field_sd"]``. Check: ``GEE``
  (logit, exchangeable working correlation within case,
  cluster-robust "sandwich" SEs, ``"wald_cluster_robust"``); its coefficients are population-averaged
  log-odds, attenuated towards 0 against the conditional ones by about 1 / sqrt(1 + 0.346 var_case)
  (Zeger, Liang & Albert 1988).
* ``"ordinal"`` (level indices 0..K-1, e.g. safety compliance): statsmodels has no ordinal mixed model.
  The main fit is a linear mixed model of the level index (REML, crossed random intercepts): a LINEAR
  APPROXIMATION that reads a coefficient as the mean shift in scale points and treats the distance
  between adjacent levels as equal; its Wald interval uses the model SE (``"wald_model_se"``). Check:
  ``OrderedModel`` (proportional-odds logit, the ordinal likelihood, no random effects) with SEs
  clustered by case (``"wald_cluster_robust"``); its coefficients are log cumulative odds, another
  scale, so the two are compared by sign and significance, not by size. The clinician correlation is
  not in the check's SEs (one clustering only).
* ``"score"`` (numbers, e.g. judge scores or per-response mean ratings): linear mixed model, REML, no
  check.

The linear mixed model is statsmodels ``MixedLM``'s (one group holding every row, a variance component
per random factor, REML), fitted here by the profiled REML criterion of lme4 with one sparse
factorisation per evaluation: ``MixedLM`` solves for every random-effect column separately, which
took 14 s for 2,000 ratings with a random effect per response and 41 s for 50,000 ratings with case
and clinician effects only. Both give the same estimates (tested to 1e-4 against ``MixedLM`` through
its formula interface, and exactly against the ANOVA estimates of balanced designs).

Variance components: the variance of each random factor and the residual, with their shares of the
total ("how much is rater, how much is item"). For the logistic fit the residual is the latent-scale
logistic variance pi^2/3 (Nakagawa & Schielzeth 2010) and each component is exp(2 m) at the posterior
mean m of its log SD. No interval is given for a variance: Wald intervals for a variance near 0 are not
trustworthy, and the mean-field posterior intervals of the logistic fit covered the true case and
clinician variances in only 70 % of the simulated studies above.

Thin data come back as a result with a status and a reason, never an exception: no row (``empty``);
the first fixed factor, the one the model is about, with one level (``one_level``); a random factor
with one level, e.g. one clinician (``too_few_levels``); as many parameters as rows
(``too_many_parameters``); one outcome value throughout (``undefined_no_variation``); a fit that
raises (``fit_failed``). Other fixed factors with one level are dropped and named; a level aliased
with others (e.g. a model used for one care setting only) is dropped and named. Warnings raised while
fitting (convergence, a variance on the boundary) are kept as text.

References: Baayen, Davidson & Bates (2008), J. Memory and Language 59, 390-412 (crossed random
effects of subjects and items); Bates, Maechler, Bolker & Walker (2015), J. Statistical Software 67(1)
(the profiled REML criterion); Nakagawa & Schielzeth (2010), Biological Reviews 85, 935-956;
Zeger, Liang & Albert (1988), Biometrics 44, 1049-1060; McCullagh (1980), JRSS B 42, 109-142
(proportional odds); Blei, Kucukelbir & McAuliffe (2017), JASA 112, 859-877 (variational Bayes).
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import sparse, special, stats

from ._core import check_confidence, finite_or_none
from .results import STATUS_INSUFFICIENT, STATUS_NO_VARIATION, STATUS_OK, _Serialisable

KINDS = ("binary", "ordinal", "score")
STATUS_FIT_FAILED = "fit_failed"
REASON_EMPTY = "empty"
REASON_ONE_LEVEL = "one_level"
REASON_TOO_FEW_LEVELS = "too_few_levels"
REASON_TOO_MANY_PARAMETERS = "too_many_parameters"
CI_MODEL = "wald_model_se"
CI_ROBUST = "wald_cluster_robust"
CI_VB = "vb_laplace"
CI_LABELS = {CI_MODEL: "Wald, model SE", CI_ROBUST: "Wald, SE clustered by case",
             CI_VB: "VB mean +/- z Laplace SD"}
LOGISTIC_RESIDUAL = math.pi**2 / 3
VB_PRIOR_SD = {"fe_p": 2.0, "vcp_p": 1.0}
VB_MAXCOR = 50  # L-BFGS-B's memory of the variational fit (see _fit_vb)
# What the fits import on first use (statsmodels, with pandas and patsy: about a second), so that importing
# the metrics stays light; `import_fitting_libraries` imports them ahead, as a worker does before it forks.
FITTING_MODULES = ("statsmodels.genmod.bayes_mixed_glm", "statsmodels.genmod.generalized_estimating_equations",
                   "statsmodels.miscmodels.ordinal_model")


def import_fitting_libraries() -> None:
    for name in FITTING_MODULES:
        importlib.import_module(name)


@dataclass(frozen=True)
class ModelTerm(_Serialisable):
    """One fixed-effect coefficient: a level of a factor against the factor's reference level."""

    name: str  # the fit's figure name, e.g. "mixed_lm_effect"
    factor: str
    level: str
    reference: str
    value: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    ci_level: float
    p_value: float | None  # none for the Bayesian fit
    n_obs: int  # rows at this level


@dataclass(frozen=True)
class VarianceComponent(_Serialisable):
    component: str  # a random factor, or "residual"
    variance: float | None
    share: float | None  # of the summed variances
    n_levels: int | None = None


@dataclass(frozen=True)
class MixedModelFit(_Serialisable):
    """One fitted model; ``check`` holds the same effects fitted another way (or None)."""

    kind: str
    model: str  # the model and how it was fitted
    formula: str
    scale: str  # what a coefficient is measured in
    status: str
    reason: str | None
    detail: str  # the reason in words, or ""
    n_obs: int  # rows used
    n_obs_total: int  # rows given (a missing outcome leaves its row out)
    ci_level: float
    references: dict[str, str] = field(default_factory=dict)
    n_levels: dict[str, int] = field(default_factory=dict)  # random factors
    effects: tuple[ModelTerm, ...] = ()
    variance_components: tuple[VarianceComponent, ...] = ()
    dropped: tuple[str, ...] = ()  # single-level factors and aliased levels left out of the design
    warnings: tuple[str, ...] = ()
    check: MixedModelFit | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    def variance_ratios(self) -> dict[str, float]:
        """Each random factor's variance over the residual variance: what a related linear mixed model's REML
        search can start from (``mixed_model(start=...)``); empty without a residual variance."""
        variances = {c.component: c.variance for c in self.variance_components if c.variance is not None}
        residual = variances.pop("residual", None)
        return {name: v / residual for name, v in variances.items()} if residual else {}


@dataclass
class _Design:
    y: np.ndarray
    x: np.ndarray  # intercept first
    terms: list[tuple[str, str]]  # (factor, level) per column after the intercept
    references: dict[str, str]
    dropped: list[str]
    random: dict[str, np.ndarray]  # integer codes per random factor
    n_levels: dict[str, int]
    level_counts: dict[tuple[str, str], int]


# --- inputs and design ------------------------------------------------------------------------------


def _coded(values) -> tuple[list[str], np.ndarray]:
    """A factor's levels, sorted, and each row's index among them. A level is a name: the text of the distinct
    values (as Python tells values apart, so 1, 1.0 and True are one value), values of one text being one level;
    None, numbers and text are then sorted together. Only the distinct values are converted to text, found by
    np.unique for numbers and by one dict look-up per row otherwise (np.unique would sort Python objects)."""
    column = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)  # a list as written
    if column.dtype.kind in "biuf":
        distinct, row_of = np.unique(column.reshape(-1), return_inverse=True)
        distinct = distinct.tolist()
    else:
        rows = column.reshape(-1).tolist()
        distinct = list(dict.fromkeys(rows))
        at = {value: i for i, value in enumerate(distinct)}
        row_of = np.fromiter(map(at.__getitem__, rows), dtype=np.intp, count=len(rows))
    names = [str(value) for value in distinct]
    levels = sorted(set(names))
    index = {name: i for i, name in enumerate(levels)}
    return levels, np.array([index[name] for name in names], dtype=np.intp)[row_of.reshape(-1)]


def _present(coded: tuple[list[str], np.ndarray], ok: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The levels of the rows `ok` selects and those rows' indices among them (levels no such row has dropped)."""
    levels, codes = coded
    codes = codes[ok]
    present = np.bincount(codes, minlength=len(levels)) > 0
    return [level for level, kept in zip(levels, present, strict=True) if kept], (np.cumsum(present) - 1)[codes]


def _reference(levels: list[str], counts: np.ndarray, wanted: str | None) -> str:
    if wanted is not None and wanted in levels:
        return wanted
    return levels[int(np.argmax(counts))]  # most frequent; levels are sorted, so ties go to the first name


def _aliased(x: np.ndarray) -> list[int]:
    """Columns that are linear combinations of the columns before them (checked left to right)."""
    gram = x.T @ x
    keep, out = [], []
    for j in range(x.shape[1]):
        cols = keep + [j]
        if np.linalg.matrix_rank(gram[np.ix_(cols, cols)], hermitian=True) == len(cols):
            keep.append(j)
        else:
            out.append(j)
    return out


def _design(y, fixed, random, reference) -> tuple[_Design | None, str | None, str]:
    """The fixed-effects matrix and random-factor codes on the rows with an outcome, or why not."""
    ok = np.isfinite(y)
    y = y[ok]
    if y.size == 0:
        return None, REASON_EMPTY, "no observation"
    columns, terms, references, dropped, counts = [np.ones(y.size)], [], {}, [], {}
    for i, (factor, values) in enumerate(fixed.items()):
        levels, level_of_row = _present(values, ok)
        if len(levels) < 2:
            if i == 0:
                return None, REASON_ONE_LEVEL, f"one {factor} ({levels[0]}): no {factor} contrast to estimate"
            dropped.append(f"{factor} (one level: {levels[0]})")
            continue
        per_level = np.bincount(level_of_row, minlength=len(levels))
        references[factor] = ref = _reference(levels, per_level, reference.get(factor))
        for j, level in enumerate(levels):
            if level != ref:
                columns.append((level_of_row == j).astype(float))
                terms.append((factor, level))
                counts[(factor, level)] = int(per_level[j])
    x = np.column_stack(columns)
    for j in reversed(_aliased(x)):
        factor, level = terms.pop(j - 1)
        dropped.append(f"{factor}: {level} (aliased with other terms)")
        x = np.delete(x, j, axis=1)
    codes, n_levels = {}, {}
    for name, values in random.items():
        uniques, codes[name] = _present(values, ok)
        n_levels[name] = len(uniques)
        if len(uniques) < 2:
            return None, REASON_TOO_FEW_LEVELS, f"one {name}: the {name} variance cannot be estimated"
    if x.shape[1] + len(random) + 1 > y.size:
        return None, REASON_TOO_MANY_PARAMETERS, f"{y.size} observations for {x.shape[1]} fixed effects"
    return _Design(y, x, terms, references, dropped, codes, n_levels, counts), None, ""


def _validate(y: np.ndarray, kind: str, fixed: Mapping, random: Mapping, confidence: float,
              start: Mapping[str, float]) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    check_confidence(confidence)
    if not fixed or not random:
        raise ValueError("a mixed model needs at least one fixed factor and one random factor")
    if set(start) - set(random) or not all(np.isfinite(v) and v >= 0 for v in start.values()):
        raise ValueError("start must give random factors non-negative variance ratios")
    for name, (_, codes) in {**fixed, **random}.items():
        if len(codes) != len(y):
            raise ValueError(f"{name!r} has {len(codes)} values for {len(y)} outcomes")
    observed = y[np.isfinite(y)]
    if kind == "binary" and not np.all(np.isin(observed, (0.0, 1.0))):
        raise ValueError("binary outcomes must be 0 or 1 (NaN = missing)")
    if kind == "ordinal" and (np.any(observed < 0) or np.any(observed != np.floor(observed))):
        raise ValueError("ordinal outcomes must be level indices 0..K-1 (NaN = missing)")


def _formula(kind: str, fixed: Mapping, random: Mapping) -> str:
    lhs = {"binary": "logit P(y = 1)", "ordinal": "level index", "score": "score"}[kind]
    return f"{lhs} ~ {' + '.join([*fixed, *(f'(1 | {r})' for r in random)])}"


# --- fitting -----------------------------------------------------------------------------------------


class _Recorder(warnings.catch_warnings):
    """Collects the warnings a fit raises as text (deduplicated, in order).

    The warnings filters and log are the process's, so recording fits run one at a time: reports built side by
    side in one process's threads (the demo server runs its tasks in the request's thread) recorded each other's
    warnings. A process forked meanwhile starts with the lock free (its other threads are gone)."""

    _lock = threading.Lock()

    def __init__(self):
        super().__init__(record=True)

    def __enter__(self):
        _Recorder._lock.acquire()
        try:
            self.log = super().__enter__()
            warnings.simplefilter("always")
        except BaseException:
            _Recorder._lock.release()
            raise
        return self

    def __exit__(self, *exc_info):
        try:
            return super().__exit__(*exc_info)
        finally:
            _Recorder._lock.release()

    def texts(self) -> list[str]:
        return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in self.log))


def _fresh_recorder_lock() -> None:
    _Recorder._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # where processes fork (the report's sections)
    os.register_at_fork(after_in_child=_fresh_recorder_lock)


def _terms(d: _Design, name: str, values, ses, method: str, z: float, level: float, p_values=None) -> tuple:
    out = []
    for j, (factor, lv) in enumerate(d.terms, start=1):
        value, se = finite_or_none(values[j]), finite_or_none(ses[j])
        ok = value is not None and se is not None
        out.append(ModelTerm(
            name=name, factor=factor, level=lv, reference=d.references[factor], value=value, se=se,
            ci_low=value - z * se if ok else None, ci_high=value + z * se if ok else None,
            ci_method=method, ci_level=level,
            p_value=finite_or_none(p_values[j]) if p_values is not None else None,
            n_obs=d.level_counts[(factor, lv)],
        ))
    return tuple(out)


def _components(variances: dict[str, float], residual: float, n_levels: dict) -> tuple:
    total = sum(variances.values()) + residual
    out = []
    for name, var in [*variances.items(), ("residual", residual)]:
        out.append(VarianceComponent(
            component=name, variance=finite_or_none(var), share=finite_or_none(var / total) if total > 0 else None,
            n_levels=n_levels.get(name),
        ))
    return tuple(out)


def _indicators(codes: np.ndarray, k: int) -> sparse.csr_matrix:
    rows = np.arange(codes.size)
    return sparse.csr_matrix((np.ones(codes.size), (rows, codes)), shape=(codes.size, k))


def _random_design(d: _Design) -> tuple[sparse.csc_matrix, np.ndarray]:
    """Z (rows x all random-effect levels) and, per column, the index of its random factor."""
    names = list(d.random)
    z = sparse.hstack([_indicators(d.random[n], d.n_levels[n]) for n in names]).tocsc()
    return z, np.repeat(np.arange(len(names)), [d.n_levels[n] for n in names])


class _Schur:
    """M's Schur complement on the levels of the smaller random factors, for any theta, from parts built once.

    S = Lambda_O (G_OO - K' W K) Lambda_O + I with K = Z_B'Z_O and W = diag(theta_B^2 / (theta_B^2 n_b + 1)),
    n_b the rows at big level b: W takes one value per distinct n_b, so K'WK is a weighted sum of one fixed
    matrix per distinct count, each laid out on the common sparsity pattern of S once. Each evaluation then
    scales one data array instead of multiplying sparse matrices; up to DENSE_MAX levels S is factorised
    dense (Cholesky), above that by a sparse LU (cases meet only through the clinicians, so S is a diagonal
    with a border and its LU stays sparse: 320 levels 4.6 ms against 15 ms dense, 160 levels 0.3 ms dense).
    """

    DENSE_MAX = 200

    def __init__(self, k_bo: sparse.csr_matrix, g_oo: sparse.spmatrix, counts: np.ndarray):
        size = g_oo.shape[0]
        self.counts, of_count = np.unique(counts, return_inverse=True)
        parts = [g_oo] + [k_bo[of_count == j].T @ k_bo[of_count == j] for j in range(self.counts.size)]
        eye = sparse.identity(size, format="csc")
        pattern = (sum(parts[1:], parts[0]) + eye).tocsc()  # every part is non-negative: no cancellation
        pattern.sort_indices()
        self.indices, self.indptr, self.shape = pattern.indices, pattern.indptr, pattern.shape
        self.parts = np.stack([_on_pattern(part, pattern) for part in parts])
        self.eye = _on_pattern(eye, pattern)
        self.rows, self.cols = pattern.indices, np.repeat(np.arange(size), np.diff(pattern.indptr))

    def dense(self, weights: np.ndarray) -> np.ndarray:
        """sum_j weights_j part_j (G_OO, then K'K restricted to the big levels of each count) as a dense matrix."""
        out = np.zeros(self.shape)
        out[self.rows, self.cols] = weights @ self.parts
        return out

    def factor(self, theta_big: float, lam: np.ndarray):
        """(solve, log-determinant) of S at the big factor's theta and the other levels' Lambda."""
        t2 = theta_big**2
        weights = np.r_[1.0, -t2 / (t2 * self.counts + 1)]
        data = (weights @ self.parts) * lam[self.rows] * lam[self.cols] + self.eye
        schur = sparse.csc_matrix((data, self.indices, self.indptr), shape=self.shape)
        if self.shape[0] <= self.DENSE_MAX:
            from scipy.linalg import cho_factor, cho_solve

            chol = cho_factor(schur.toarray(), lower=True)
            return (lambda b: cho_solve(chol, b)), 2 * np.sum(np.log(np.diag(chol[0])))
        from scipy.sparse.linalg import splu

        lu = splu(schur, permc_spec="MMD_AT_PLUS_A")
        return lu.solve, np.sum(np.log(np.abs(lu.U.diagonal())))


def _on_pattern(part: sparse.spmatrix, pattern: sparse.csc_matrix) -> np.ndarray:
    """The values of a non-negative `part` at the stored entries of `pattern` (which holds all of its own)."""
    total = (part + pattern).tocsc()
    total.sort_indices()
    return total.data - pattern.data


def _lmm_traces(t2: float, lam_o: np.ndarray, counts: np.ndarray, schur: _Schur | None, k_sq, edges_o,
                solve_o) -> list:
    """tr(W_k'M^-1 W_k) per random factor, the big one first, W_k = Lambda Z'Z_k (see ``_reml``).

    With D the big factor's diagonal block of M (t2 n_b + 1), E = D^-1 M_BO and S the Schur complement,
    W'M^-1 W = W_B'D^-1 W_B + (E'W_B - W_O)' S^-1 (E'W_B - W_O). For the big factor E'W_B - W_O =
    -Lambda_O K'D^-1, for another one the factor's columns of -Lambda_O T, T = G_OO - K' diag(t2 / D) K
    (S = Lambda_O T Lambda_O + I): both weighted sums of the parts ``_Schur`` holds. ``k_sq``: per big level and
    other factor, the summed squares of K over that factor's levels; ``edges_o``: where each other factor's
    levels start and end among the other levels.
    """
    d_inv = 1 / (t2 * counts + 1)
    out = [t2 * np.sum(counts**2 * d_inv)]
    if schur is None:
        return out
    s_inv = solve_o(np.eye(lam_o.size))
    by_count = 1 / (t2 * schur.counts + 1)
    out[0] += np.sum(s_inv * np.outer(lam_o, lam_o) * schur.dense(np.r_[0.0, by_count**2]))
    t = lam_o[:, None] * schur.dense(np.r_[1.0, -t2 * by_count])
    for j, (lo, hi) in enumerate(zip(edges_o[:-1], edges_o[1:], strict=True)):
        out.append(t2 * (d_inv @ k_sq[:, j]) + np.sum((s_inv @ t[:, lo:hi]) * t[:, lo:hi]))
    return out


def _reml(d: _Design):
    """The profiled REML criterion of lme4 for y = X b + Z u + e with independent random intercepts, as a
    function of psi = theta^2 returning its value and gradient, and the solve at theta.

    With relative SDs theta (u_k ~ N(0, sigma^2 theta_k^2)), Lambda = diag(theta per column) and
    M = Lambda Z'Z Lambda + I: -2 REML = log|M| + log|R| + (n - p) (1 + log(2 pi r2 / (n - p))), where
    R = X'X - X'Z Lambda M^-1 Lambda Z'X and r2 the penalised residual sum of squares (Bates, Maechler,
    Bolker & Walker 2015, eq. 42). Each row has one level of every random factor, so the block of M that
    belongs to one factor is diagonal: the factor with the most levels (the responses, in a report) is
    eliminated in closed form and only the Schur complement on the other factors' levels is factorised, once
    per evaluation (``_Schur``).

    The gradient is exact: in psi_k = theta_k^2, with H = I + Z Lambda^2 Z' and P = H^-1 - H^-1 X R^-1 X'H^-1,
    d(-2 REML)/d psi_k = tr(Z_k'P Z_k) - (n - p) |Z_k'P y|^2 / r2, where P y is the residual and
    tr(Z_k'P Z_k) = n - tr(W_k'M^-1 W_k) - tr(R^-1 G_k'G_k), W_k = Lambda Z'Z_k, G_k = Z_k'H^-1 X; M^-1's blocks
    come from the big factor's diagonal and S^-1 (``_lmm_traces``). L-BFGS-B then takes one evaluation per
    step where the finite differences took one more per variance.
    """
    names = list(d.random)
    n, p = d.x.shape
    big = max(names, key=lambda k: d.n_levels[k])
    rest = [k for k in names if k != big]
    zb = _indicators(d.random[big], d.n_levels[big]).tocsc()
    zo = sparse.hstack([_indicators(d.random[k], d.n_levels[k]) for k in rest]).tocsc() if rest else \
        sparse.csc_matrix((n, 0))
    zmat, nb = sparse.hstack([zb, zo]).tocsc(), d.n_levels[big]
    # Per column of [Z_big, Z_rest]: the position of its factor's theta.
    order = [names.index(k) for k in (big, *rest)]
    which = np.repeat(order, [d.n_levels[k] for k in (big, *rest)])
    edges = np.cumsum([0] + [d.n_levels[k] for k in (big, *rest)])
    counts = np.asarray(zb.sum(axis=0)).ravel()
    k_bo = (zb.T @ zo).tocsr()
    k_ob = k_bo.T.tocsr()
    schur = _Schur(k_bo, zo.T @ zo, counts) if rest else None
    # Per big level and other factor: the sum of squared co-occurrence counts with that factor's levels.
    k_sq = np.column_stack([np.asarray(k_bo[:, lo - nb:hi - nb].power(2).sum(axis=1)).ravel()
                            for lo, hi in zip(edges[1:-1], edges[2:], strict=True)]) if rest else None
    ztz = (zmat.T @ zmat).tocsr()
    zty_x = np.asarray(zmat.T @ np.column_stack([d.y, d.x]))
    xtx, xty = d.x.T @ d.x, d.x.T @ d.y

    def solve(theta):
        lam = theta[which]
        root = np.sqrt(lam[:nb] ** 2 * counts + 1)  # M's diagonal block of the big factor, square-rooted
        scale = lam[:nb] / root  # the big block's inverse root times Lambda_B; M_BO = Lambda_B K Lambda_O
        c = lam[:, None] * zty_x  # Lambda Z'[y X]
        cb = c[:nb] / root[:, None]
        a_o, logdet, solve_o = np.zeros((0, c.shape[1])), 2 * np.sum(np.log(root)), None
        if rest:
            solve_o, logdet_o = schur.factor(theta[which[0]], lam[nb:])
            a_o = solve_o(c[nb:] - lam[nb:, None] * (k_ob @ (scale[:, None] * cb)))
            logdet += logdet_o
        # M^-1 Lambda Z'[y X]
        a = np.vstack([(cb - scale[:, None] * (k_bo @ (lam[nb:, None] * a_o))) / root[:, None], a_o])
        r = xtx - c[:, 1:].T @ a[:, 1:]
        beta = np.linalg.solve(r, xty - c[:, 1:].T @ a[:, 0])
        u = a[:, 0] - a[:, 1:] @ beta
        resid = d.y - d.x @ beta - zmat @ (lam * u)
        return beta, r, resid @ resid + u @ u, logdet, (lam, a, solve_o)

    def criterion(psi, gradient=True):
        theta = np.sqrt(psi)
        beta, r, r2, logdet_m, (lam, a, solve_o) = solve(theta)
        value = logdet_m + np.linalg.slogdet(r)[1] + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))
        if not gradient:
            return value
        zt_h = zty_x - ztz @ (lam[:, None] * a)  # Z'H^-1 [y X]
        zt_py = zt_h[:, 0] - zt_h[:, 1:] @ beta
        traces = _lmm_traces(psi[order[0]], lam[nb:], counts, schur, k_sq, edges[1:] - nb, solve_o)
        r_inv = np.linalg.inv(r)
        grad = np.zeros(len(names))
        for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            g_x = zt_h[lo:hi, 1:]
            grad[order[j]] = (n - traces[j] - np.sum(r_inv * (g_x.T @ g_x))
                              - (n - p) * (zt_py[lo:hi] @ zt_py[lo:hi]) / r2)
        return value, grad

    return criterion, solve


# A start on the boundary (a variance ratio of 0) is moved this far inside, where the search can still find
# whether the variance belongs there.
START_FLOOR = 0.01
REML_TOLERANCES = {"ftol": 1e-12, "gtol": 1e-9}  # L-BFGS-B's, for the REML search (``_fit_lmm``)


def _moment_ratios(d: _Design) -> dict[str, float]:
    """Moment estimates of the variance ratios, where the REML search starts: the one-way random-effects
    (ANOVA) estimator of each factor's variance (Searle, Casella & McCulloch 1992, ch. 3) on the least-squares
    residuals, the factor with the fewest levels first, each factor's shrunken level means taken out of the
    residuals before the next one (a response's mean then no longer holds its case's). On simulated rating
    studies of 2,000-20,000 ratings the search takes about a third fewer evaluations than from 1, to the
    same optimum."""
    n = d.y.size
    resid = d.y - d.x @ np.linalg.lstsq(d.x, d.y, rcond=None)[0]
    variances, within = {}, 0.0
    for name in sorted(d.random, key=d.n_levels.__getitem__):
        codes = d.random[name]
        counts = np.bincount(codes, minlength=d.n_levels[name]).astype(float)
        means = np.bincount(codes, resid, minlength=d.n_levels[name]) / np.maximum(counts, 1)
        levels = np.count_nonzero(counts)
        between = means @ (means * counts)  # sum of n_j m_j^2: the residuals' mean is 0 (X holds the intercept)
        within = (resid @ resid - between) / max(n - levels, 1)
        per_level = (n - counts @ counts / n) / max(levels - 1, 1)  # n_0, the mean level size for unequal ones
        v = max((between / max(levels - 1, 1) - within) / per_level, 0.0) if levels > 1 else 0.0
        variances[name] = v
        resid = resid - (means * v / (v + within / np.maximum(counts, 1)))[codes]
    if not within > 0:  # the last (largest) factor explains every outcome: no residual to scale by
        return dict.fromkeys(variances, 1.0)
    return {name: float(v / within) for name, v in variances.items()}


def _fit_lmm(d: _Design, z: float, level: float, start: Mapping[str, float]) -> dict:
    """REML fit of the linear mixed model (``_reml``), minimised over theta >= 0 from the variance ratios
    `start` (the moment estimates, ``_moment_ratios``, for a factor it does not name)."""
    from scipy.optimize import minimize

    names = list(d.random)
    n, p = d.x.shape
    criterion, solve = _reml(d)
    # Minimised over the variance ratios psi = theta^2: the criterion depends on theta through theta^2, so its
    # slope in theta is 0 at theta = 0 and a gradient method that reaches that bound stays there; in psi the
    # slope at 0 tells whether the variance belongs inside. The exact gradient takes S^-1 densely (m^3 for m
    # levels of the smaller factors); above _Schur.DENSE_MAX of them finite differences of the sparse
    # criterion cost less. The search is held to the optimum itself (REML_TOLERANCES): under L-BFGS-B's default
    # tolerances it stopped where the criterion is flat (a variance near 0) up to 1e-3 short in a ratio, two
    # starts then gave SEs 1e-3 apart, and the two factorisations 2e-5; held, one or two more steps from 1.
    exact = sum(d.n_levels.values()) - max(d.n_levels.values()) <= _Schur.DENSE_MAX
    moments = _moment_ratios(d) if set(names) - set(start) else {}
    psi0 = np.array([max(float(start[name] if name in start else moments[name]), START_FLOOR) for name in names])
    opt = minimize(criterion if exact else functools.partial(criterion, gradient=False), psi0,
                   jac=exact or None, method="L-BFGS-B", bounds=[(0, None)] * len(names),
                   options=REML_TOLERANCES)
    theta = np.sqrt(opt.x)
    beta, r, r2, _, _ = solve(theta)
    sigma2 = r2 / (n - p)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(r)))
    notes = [] if opt.success else [f"the REML optimiser did not converge ({opt.message})"]
    notes += [f"the {name} variance is estimated at 0 (the boundary)" for name, t in zip(names, theta, strict=True)
              if t < 1e-4]
    return {
        "effects": _terms(d, "mixed_lm_effect", beta, se, CI_MODEL, z, level, 2 * stats.norm.sf(np.abs(beta / se))),
        "components": _components({k: sigma2 * t**2 for k, t in zip(names, theta, strict=True)}, sigma2, d.n_levels),
        "intercept": finite_or_none(beta[0]), "notes": notes,
    }


def _laplace_fixed_cov(x, exog_vc, fe_mean, vc_mean, log_sd) -> np.ndarray:
    """Fixed-effect block of the inverse Hessian of the negative log posterior in (fixed, random effects).

    At eta = X b + Z u with weights w = mu (1 - mu): H_bb = X'WX + I / fe_p^2, H_ub = Z'WX, H_uu = Z'WZ +
    diag(1 / s^2), s the random effects' SDs (held at the VB fit); the block is the inverse of the Schur
    complement H_bb - H_ub' H_uu^-1 H_ub, H_uu sparse (one column per case, clinician, response).
    """
    from scipy.sparse.linalg import splu
    from scipy.special import expit

    mu = expit(x @ fe_mean + exog_vc @ vc_mean)
    xw = x * (mu * (1 - mu))[:, None]
    h_bb = x.T @ xw + np.eye(x.shape[1]) / VB_PRIOR_SD["fe_p"] ** 2
    h_ub = np.asarray(exog_vc.T @ xw)
    h_uu = (exog_vc.T @ sparse.diags(mu * (1 - mu)) @ exog_vc + sparse.diags(np.exp(-2 * log_sd))).tocsc()
    return np.linalg.inv(h_bb - h_ub.T @ splu(h_uu).solve(h_ub))


def _vb_expectations(model, vb_mean, vb_sd) -> tuple:
    """The variational parts by kind, the linear predictor's mean tm and variance tv, and the Gauss-Legendre
    rule of statsmodels (nodes on (-rng, rng), weights times the standard normal density) at which the
    expectations over the linear predictor are taken: tm + sqrt(tv) node, nodes x rows. Kept for the last
    point: the optimiser asks for the ELBO and then its gradient at the same point."""
    from statsmodels.genmod.bayes_mixed_glm import glw

    key = (vb_mean.tobytes(), vb_sd.tobytes())
    last = model.__dict__.get("_vb_last")
    if last is not None and last[0] == key:
        return last[1]
    means, sds = model._unpack(vb_mean), model._unpack(vb_sd)
    tm, tv = model._lp_stats(means[0], sds[0], means[2], sds[2])
    weights, nodes = np.asarray(glw).T
    nodes = model.rng * nodes
    dens = weights * np.exp(-(nodes**2) / 2) / np.sqrt(2 * np.pi)
    out = means, sds, tm, tv, nodes, dens, tm + np.sqrt(tv) * nodes[:, None]
    model._vb_last = key, out
    return out


def _vb_elbo(model, vb_mean, vb_sd) -> float:
    """statsmodels' ELBO with the quadrature over all nodes in one array operation."""
    means, sds, tm, _, _, dens, lp = _vb_expectations(model, vb_mean, vb_sd)
    fit = np.sum(model.rng * (dens @ -np.log(1 + np.exp(lp))) + model.endog * tm)  # statsmodels' h, as written
    return (fit + model._elbo_common(means[0], sds[0], means[1], sds[1], means[2], sds[2])
            + sum(np.sum(np.log(sd)) for sd in sds))


def _vb_elbo_grad(model, vb_mean, vb_sd) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' ELBO gradient with the quadrature over all nodes in one array operation and summed over
    them before the designs enter: one product with each design per gradient, not one per node (statsmodels
    also copies the sparse random-effects design at each node); the same sums in another order."""
    (fep_mean, vcp_mean, vc_mean), (fep_sd, vcp_sd, vc_sd), _, tv, nodes, dens, lp = \
        _vb_expectations(model, vb_mean, vb_sd)
    values = -special.expit(lp)  # d/d lp of -log(1 + e^lp)
    by_mean, by_sd = dens @ values, (dens * nodes) @ values / np.sqrt(tv)
    common = model._elbo_grad_common(fep_mean, fep_sd, vcp_mean, vcp_sd, vc_mean, vc_sd)
    fep_mean_grad = model.rng * (by_mean @ model.exog) + model.endog @ model.exog + common[0]
    fep_sd_grad = model.rng * (by_sd @ model.exog**2) * fep_sd + common[1] + 1 / fep_sd
    vc_mean_grad = (model.rng * by_mean + model.endog) @ model.exog_vc + common[4]
    vc_sd_grad = model.rng * vc_sd * (by_sd @ model.exog_vc2) + common[5] + 1 / vc_sd
    return (np.concatenate((fep_mean_grad, common[2], vc_mean_grad)),
            np.concatenate((fep_sd_grad, common[3] + 1 / vcp_sd, vc_sd_grad)))


@functools.cache
def binomial_vb() -> type:
    """statsmodels' BinomialBayesMixedGLM with its ELBO and gradient in fewer operations (same values to
    rounding, tested against statsmodels')."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    return type("BinomialVB", (BinomialBayesMixedGLM,), {"vb_elbo": _vb_elbo, "vb_elbo_grad": _vb_elbo_grad})


def _fit_vb(d: _Design, z: float, level: float, seed: int) -> dict:
    """Logistic GLMM with crossed random intercepts, mean-field variational Bayes."""
    names = list(d.random)
    exog_vc, ident = _random_design(d)
    model = binomial_vb()(d.y, d.x, exog_vc, ident, **VB_PRIOR_SD)
    # L-BFGS-B, not statsmodels' default BFGS: BFGS keeps a dense inverse Hessian over two parameters per
    # fixed and random effect (gigabytes with one random effect per response); same optimum, faster. 50 pairs
    # of past steps, not scipy's 10: half the iterations, and in simulated studies of 2,000-20,000 ratings
    # the fixed effects within 0.002 SE of a tightly converged fit where 10 pairs stop up to 0.004 SE off
    # (memory: 100 floats per parameter, 3.4 MB with 2,000 responses).
    result = model.fit_vb(fit_method="L-BFGS-B", minim_opts={"maxcor": VB_MAXCOR}, rng=seed)
    mean, log_sd = np.asarray(result.fe_mean), np.asarray(result.vcp_mean)
    sd = np.sqrt(np.diag(_laplace_fixed_cov(d.x, exog_vc, mean, np.asarray(result.vc_mean), log_sd[ident])))
    variances = {n: float(np.exp(2 * log_sd[i])) for i, n in enumerate(names)}
    notes = [] if result.optim_retvals.success else ["the variational optimiser did not converge"]
    return {
        "effects": _terms(d, "binomial_vb_effect", mean, sd, CI_VB, z, level),
        "components": _components(variances, LOGISTIC_RESIDUAL, d.n_levels),
        "intercept": finite_or_none(mean[0]), "notes": notes,
        "extra": {"mean_field_sd": [finite_or_none(v) for v in np.asarray(result.fe_sd)[1:]]},
    }


def _fit_gee(d: _Design, z: float, level: float, cluster: str) -> dict:
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.generalized_estimating_equations import GEE

    model = GEE(d.y, d.x, groups=d.random[cluster], family=families.Binomial(), cov_struct=cov_struct.Exchangeable())
    result = model.fit()
    return {
        "effects": _terms(d, "gee_effect", np.asarray(result.params), np.asarray(result.bse), CI_ROBUST, z, level,
                          np.asarray(result.pvalues)),
        "intercept": finite_or_none(result.params[0]), "notes": [],
        "extra": {"working_correlation": finite_or_none(np.ravel(model.cov_struct.dep_params)[0]),
                  "n_clusters": d.n_levels[cluster]},
    }


def _ordered_cdf(model, x: np.ndarray) -> np.ndarray:
    return special.expit(x)  # scipy.stats.logistic.cdf without its per-call argument handling


def _ordered_parts(model, params: np.ndarray) -> tuple:
    """What the proportional-odds derivatives take, per row: p = F(upper) - F(lower), F logistic, each bound
    a threshold (the row's level's, the one below) minus x b. Returns, upper bound first, the score weights
    w = d log p / d bound and their curvatures d w / d bound + w^2 = w (1 - 2 F), and the Jacobian of the
    thresholds by their parameters."""
    low, upp = model._bounds(params)
    cdf = special.expit(np.stack([upp, low]))
    prob = np.maximum(cdf[0] - cdf[1], 0) + 1e-20  # as loglikeobs
    weight = cdf * (1 - cdf) / prob * np.array([[1.0], [-1.0]])  # the density is 0 at an infinite bound
    # Threshold j = first + exp(increment 1) + ... + exp(increment j): a parameter moves every later one.
    k1 = model.k_levels - 1
    moves = np.tril(np.ones((k1, k1))) * np.r_[1.0, np.exp(params[params.size - k1 + 1:])]
    return weight, weight * (1 - 2 * cdf), moves


def _by_threshold(model, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Rows x thresholds: a row's upper-bound value at its level's threshold, its lower one at the one below."""
    y, k1 = np.asarray(model.endog, dtype=int), model.k_levels - 1
    out = np.zeros((y.size, k1 + 2))  # first and last column: the infinite bounds
    rows = np.arange(y.size)
    out[rows, y + 1] = upper
    out[rows, y] += lower
    return out[:, 1:-1]


def _ordered_score_obs(model, params: np.ndarray) -> np.ndarray:
    """d loglike_i / d params of the proportional-odds logit, one row per observation."""
    weight, _, moves = _ordered_parts(model, params)
    return np.column_stack([-weight.sum(axis=0)[:, None] * model.exog, _by_threshold(model, *weight) @ moves])


def _ordered_score(model, params: np.ndarray) -> np.ndarray:
    return _ordered_score_obs(model, params).sum(axis=0)


def _ordered_hessian(model, params: np.ndarray) -> np.ndarray:
    """Sum over rows of the bounds' curvatures times d bound d bound', less the score's outer product, in
    (b, thresholds), then by the chain rule in the parameters; the threshold increments' second derivative
    (d^2 exp(c) / dc^2 = d exp(c) / dc) adds their own score on the diagonal."""
    from scipy.linalg import block_diag

    weight, curvature, moves = _ordered_parts(model, params)
    x, k = np.asarray(model.exog, dtype=float), model.exog.shape[1]
    by_threshold, curvature_by_threshold = _by_threshold(model, *weight), _by_threshold(model, *curvature)
    score_obs = np.column_stack([-weight.sum(axis=0)[:, None] * x, by_threshold])
    hessian = -score_obs.T @ score_obs
    hessian[:k, :k] += x.T @ (x * curvature.sum(axis=0)[:, None])
    hessian[:k, k:] -= x.T @ curvature_by_threshold
    hessian[k:, :k] = hessian[:k, k:].T
    hessian[k:, k:] += np.diag(curvature_by_threshold.sum(axis=0))
    jacobian = block_diag(np.eye(k), moves)
    hessian = jacobian.T @ hessian @ jacobian
    increments = np.arange(k + 1, params.size)
    hessian[increments, increments] += (by_threshold.sum(axis=0) @ moves)[1:]
    return hessian


@functools.cache
def ordered_logit() -> type:
    """statsmodels' OrderedModel (proportional-odds logit) with its derivatives written out: statsmodels
    differentiates the likelihood numerically, two likelihoods per parameter for each gradient and per pair
    for the Hessian (tested against numerical derivatives and OrderedModel)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    return type("OrderedLogit", (OrderedModel,), {"cdf": _ordered_cdf, "score_obs": _ordered_score_obs,
                                                  "score": _ordered_score, "hessian": _ordered_hessian})


def _fit_ordered(d: _Design, z: float, level: float, cluster: str) -> dict:
    model = ordered_logit()(d.y.astype(int), d.x[:, 1:], distr="logit")
    # A trust region on the exact Hessian: about 5 steps where BFGS took 25-30 and stopped up to 1e-4 from the
    # optimum in the coefficients (its gradient tolerance, 1e-5 per row; here 1e-7, within 1e-6 SE of the
    # optimum: at 1e-8 the step near it could not be told from rounding and 2 of 12 simulated fits of 2,000-50,000
    # ratings ended "not converged" there).
    result = model.fit(method="minimize", min_method="trust-exact", gtol=1e-7, disp=False, maxiter=100,
                       cov_type="cluster", cov_kwds={"groups": d.random[cluster]})
    k = d.x.shape[1] - 1  # OrderedModel takes no intercept: its thresholds follow the coefficients
    pad = np.r_[np.nan, np.asarray(result.params)[:k]]
    notes = [] if result.mle_retvals.get("converged", True) else ["the likelihood optimiser did not converge"]
    return {
        "effects": _terms(d, "ordered_logit_effect", pad, np.r_[np.nan, np.asarray(result.bse)[:k]], CI_ROBUST, z,
                          level, np.r_[np.nan, np.asarray(result.pvalues)[:k]]),
        "intercept": None, "notes": notes,
        "extra": {"thresholds": [finite_or_none(t) for t in model.transform_threshold_params(result.params)[1:-1]],
                  "n_clusters": d.n_levels[cluster]},
    }


MODELS = {
    "lmm": ("linear mixed model (REML, as statsmodels MixedLM), crossed random intercepts", None),
    "vb": ("BinomialBayesMixedGLM, mean-field variational Bayes", "log-odds (conditional on case and clinician)"),
    "gee": ("GEE, logit, exchangeable within case, robust SE", "log-odds (population-averaged)"),
    "ordered": ("OrderedModel, proportional-odds logit, SE clustered by case", "log cumulative odds"),
}
SCALES = {"binary": MODELS["vb"][1], "ordinal": "level index (scale points)", "score": "score units"}


def _run(key: str, kind: str, d: _Design, formula: str, n_total: int, level: float, fit) -> MixedModelFit:
    label, scale = MODELS[key]
    base = {"kind": kind, "model": label, "formula": formula, "scale": scale or SCALES[kind], "n_obs": d.y.size,
            "n_obs_total": n_total, "ci_level": level, "references": d.references, "n_levels": d.n_levels,
            "dropped": tuple(d.dropped)}
    with _Recorder() as rec:
        try:
            out = fit()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            return MixedModelFit(status=STATUS_FIT_FAILED, reason=STATUS_FIT_FAILED, detail=str(exc),
                                 warnings=tuple(rec.texts()), **base)
    return MixedModelFit(
        status=STATUS_OK, reason=None, detail="", effects=out["effects"], variance_components=out.get("components", ()),
        warnings=tuple(rec.texts() + out["notes"]), extra={"intercept": out["intercept"], **out.get("extra", {})},
        **base,
    )


def _refused(kind: str, formula: str, status: str, reason: str, detail: str, n_total: int, level: float,
             d: _Design | None = None) -> MixedModelFit:
    key = "vb" if kind == "binary" else "lmm"
    return MixedModelFit(
        kind=kind, model=MODELS[key][0], formula=formula, scale=MODELS[key][1] or SCALES[kind], status=status,
        reason=reason, detail=detail, n_obs=d.y.size if d else 0, n_obs_total=n_total, ci_level=level,
        references=d.references if d else {}, n_levels=d.n_levels if d else {},
    )


def mixed_model(
    y,
    *,
    kind: str,
    fixed: Mapping[str, Any],
    random: Mapping[str, Any],
    reference: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    check: bool = True,
    start: Mapping[str, float] | None = None,
) -> MixedModelFit:
    """Fit one persona-effect model; see the module docstring for the models and their intervals.

    ``y``: one outcome per row (NaN = missing, the row is left out). ``fixed``: {factor: labels per
    row}, the first factor being the one the model is about (e.g. persona); ``reference``: {factor:
    reference level} (the most frequent level where absent or not observed). ``random``: {factor:
    labels per row}, e.g. {"case": ..., "clinician": ...}; the first one clusters the check's SEs.
    ``seed`` fixes the variational fit's random starting SDs. ``check=False`` skips the check fit. ``start``:
    {random factor: variance ratio} the linear mixed model's REML search starts from (moment estimates by
    default), e.g. a closely related model's ``variance_ratios()``; the optimum is the same within the search's
    tolerance.
    """
    y = np.asarray(y, dtype=float).reshape(-1)
    fixed, random = ({k: _coded(v) for k, v in factors.items()} for factors in (fixed, random))
    start = dict(start or {})
    _validate(y, kind, fixed, random, confidence, start)
    formula = _formula(kind, fixed, random)
    n_total = y.size  # rows given, outcome missing or not
    d, reason, detail = _design(y, fixed, random, dict(reference or {}))
    if d is None:
        return _refused(kind, formula, STATUS_INSUFFICIENT, reason, detail, n_total, confidence)
    if np.unique(d.y).size < 2:
        return _refused(kind, formula, STATUS_NO_VARIATION, "no_variation", f"every outcome is {d.y[0]:g}", n_total,
                        confidence, d)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    cluster = next(iter(random))
    if kind == "binary":
        main = _run("vb", kind, d, formula, n_total, confidence, lambda: _fit_vb(d, z, confidence, seed))
        other = ("gee", lambda: _fit_gee(d, z, confidence, cluster))
    else:
        main = _run("lmm", kind, d, formula, n_total, confidence, lambda: _fit_lmm(d, z, confidence, start))
        other = ("ordered", lambda: _fit_ordered(d, z, confidence, cluster)) if kind == "ordinal" else None
    if not (check and other and main.ok):
        return main
    check_formula = f"{_formula(kind, fixed, {})}; SE clustered by {cluster}"
    return replace(main, check=_run(other[0], kind, d, check_formula, n_total, confidence, other[1]))
