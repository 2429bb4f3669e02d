"""Persona-effect models: the paths the whole-result tests do not reach.

Optimisers stopped early (their notes and warnings), fits that raise in the main model or in its check, the
default seed of the variational fit, and the design's edge cases, each against statsmodels or a result written
out in the test.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import statsmodels.formula.api as smf
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from statsmodels.miscmodels.ordinal_model import OrderedModel

from agreement.metrics import mixed
from agreement.metrics.mixed import VB_MAXCOR, mixed_model

PERSONA = {"baseline": 0.0, "doctor": 0.5, "layperson": -0.4}


def _crossed(seed, n_cases=12, n_clinicians=4):
    """Every case x persona rated by every clinician; care setting per case; case and clinician effects."""
    rng = np.random.default_rng(seed)
    case, persona, clinician = (a.ravel() for a in np.meshgrid(
        np.arange(n_cases), np.array(list(PERSONA), dtype=object), np.arange(n_clinicians), indexing="ij"))
    setting = np.where(case < n_cases // 2, "emergency", "primary_care").astype(object)
    eta = (np.array([PERSONA[p] for p in persona]) + 0.25 * (setting == "primary_care")
           + rng.normal(0, 0.7, n_cases)[case] + rng.normal(0, 0.5, n_clinicians)[clinician])
    return rng, eta, {"persona": persona, "care_setting": setting}, {"case": case, "clinician": clinician}


def _limited(monkeypatch, owner, name, **changes):
    """Replace a fitting method by the same method with some arguments forced (e.g. too few iterations)."""
    original = getattr(owner, name)
    calls = []

    def wrapper(*args, **kwargs):
        result = original(*args, **{**kwargs, **changes})
        calls.append(result)
        return result

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def _boundary(n=120, seed=0):
    """Every clinician's mean outcome the same (each rates both personas equally often): the REML estimate of
    the clinician variance is 0, on the boundary."""
    rng = np.random.default_rng(seed)
    fixed = {"persona": np.where(np.arange(n) % 2, "a", "b").astype(object)}
    random = {"case": np.arange(n) // 4, "clinician": np.arange(n) % 5}
    noise = rng.normal(size=n)
    noise -= (np.bincount(random["clinician"], noise) / np.bincount(random["clinician"]))[random["clinician"]]
    return noise + (fixed["persona"] == "a"), fixed, random


def test_a_reml_optimiser_stopped_early_is_reported_with_its_message(monkeypatch):
    y, fixed, random = _boundary()
    calls = _limited(monkeypatch, scipy.optimize, "minimize", options={"maxiter": 3})
    fit = mixed_model(y, kind="score", fixed=fixed, random=random)
    (opt,) = calls
    assert not opt.success and opt.nit == 3 and opt.x[1] == 0
    assert fit.ok and fit.warnings == (f"the REML optimiser did not converge ({opt.message})",
                                       "the clinician variance is estimated at 0 (the boundary)")


def test_a_variance_on_the_boundary_is_exactly_0_and_the_rest_is_the_model_without_that_factor():
    y, fixed, random = _boundary()
    fit = mixed_model(y, kind="score", fixed=fixed, random=random)
    frame = pd.DataFrame({"y": y, "persona": fixed["persona"], "case": random["case"]})
    # 60 rows of either persona: the reference is a, the first by name
    ref = smf.mixedlm("y ~ C(persona, Treatment('a'))", frame, groups="case").fit(reml=True)
    variances = {c.component: c.variance for c in fit.variance_components}
    assert variances["clinician"] == 0.0
    assert [variances["case"], variances["residual"]] == pytest.approx([ref.cov_re.iloc[0, 0], ref.scale], rel=1e-3)
    assert [fit.effects[0].value, fit.effects[0].se] == pytest.approx([ref.fe_params.iloc[1], ref.bse_fe.iloc[1]],
                                                                      rel=1e-4)


def test_a_variational_fit_stopped_early_is_reported(monkeypatch):
    rng, eta, fixed, random = _crossed(2)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    _limited(monkeypatch, BinomialBayesMixedGLM, "fit_vb", minim_opts={"maxiter": 2})
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random)
    assert fit.ok and fit.warnings == ("ConvergenceWarning: VB fitting did not converge",
                                       "the variational optimiser did not converge")
    assert fit.check.ok and fit.check.warnings == ()


def test_a_proportional_odds_check_stopped_early_is_reported(monkeypatch):
    rng, eta, fixed, random = _crossed(3)
    y = np.digitize(eta + rng.logistic(size=eta.size), (-0.5, 0.5, 1.5)).astype(float)
    assert mixed_model(y, kind="ordinal", fixed=fixed, random=random).check.warnings == ()
    _limited(monkeypatch, OrderedModel, "fit", maxiter=2)
    fit = mixed_model(y, kind="ordinal", fixed=fixed, random=random)
    assert fit.ok and fit.check.ok and fit.check.warnings == (
        "ConvergenceWarning: Maximum Likelihood optimization failed to converge. Check mle_retvals",
        "the likelihood optimiser did not converge")


def _failing(exc, *messages):
    """A fit that warns (each message twice) and then raises."""
    def fit(*args, **kwargs):
        for text in messages:
            for _ in range(2):
                warnings.warn(text, RuntimeWarning, stacklevel=1)
        raise exc

    return fit


@pytest.mark.parametrize("exc", [ValueError("bad start"), ZeroDivisionError("division by zero"),
                                 FloatingPointError("overflow"), np.linalg.LinAlgError("Singular matrix")])
def test_a_main_fit_that_raises_is_a_whole_fit_failed_result_without_a_check(monkeypatch, exc):
    rng, eta, fixed, random = _crossed(3)
    y = np.digitize(eta + rng.logistic(size=eta.size), (-0.5, 0.5, 1.5)).astype(float)
    monkeypatch.setattr("agreement.metrics.mixed._fit_lmm", _failing(exc, "first", "second"))
    fit = mixed_model(y, kind="ordinal", fixed=fixed, random=random, confidence=0.9)
    assert fit.to_dict() == {
        "kind": "ordinal", "model": "linear mixed model (REML, as statsmodels MixedLM), crossed random intercepts",
        "formula": "level index ~ persona + care_setting + (1 | case) + (1 | clinician)",
        "scale": "level index (scale points)", "status": "fit_failed", "reason": "fit_failed", "detail": str(exc),
        "n_obs": 144, "n_obs_total": 144, "ci_level": 0.9,
        "references": {"persona": "baseline", "care_setting": "emergency"}, "n_levels": {"case": 12, "clinician": 4},
        "effects": [], "variance_components": [], "dropped": [],
        "warnings": ["RuntimeWarning: first", "RuntimeWarning: second"], "check": None, "extra": {},
    }


def test_a_check_that_raises_is_a_fit_failed_check_beside_the_main_fit(monkeypatch):
    rng, eta, fixed, random = _crossed(2)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    y[:4] = np.nan  # case 0 at baseline: 44 baseline, 48 doctor, 48 layperson, 68 emergency, 72 primary care
    monkeypatch.setattr("agreement.metrics.mixed._fit_gee", _failing(ValueError("no convergence"), "gee"))
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random, confidence=0.8)
    assert fit.ok and len(fit.effects) == 3
    assert fit.check.to_dict() == {
        "kind": "binary", "model": "GEE, logit, exchangeable within case, robust SE",
        "formula": "logit P(y = 1) ~ persona + care_setting; SE clustered by case",
        "scale": "log-odds (population-averaged)", "status": "fit_failed", "reason": "fit_failed",
        "detail": "no convergence", "n_obs": 140, "n_obs_total": 144, "ci_level": 0.8,
        "references": {"persona": "doctor", "care_setting": "primary_care"}, "n_levels": {"case": 12, "clinician": 4},
        "effects": [], "variance_components": [], "dropped": [], "warnings": ["RuntimeWarning: gee"],
        "check": None, "extra": {},
    }


def test_other_errors_are_not_turned_into_results(monkeypatch):
    rng, eta, fixed, random = _crossed(1)
    monkeypatch.setattr("agreement.metrics.mixed._fit_lmm", _failing(TypeError("a bug")))
    with pytest.raises(TypeError, match="a bug"):
        mixed_model(eta, kind="score", fixed=fixed, random=random)


def test_the_variational_fit_starts_from_seed_0_by_default():
    rng, eta, fixed, random = _crossed(2, n_cases=16)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random, check=False)
    x = np.column_stack([np.ones(y.size), fixed["persona"] == "doctor", fixed["persona"] == "layperson",
                         fixed["care_setting"] == "primary_care"]).astype(float)
    z = np.column_stack([random["case"].astype(str) == level for level in np.unique(random["case"].astype(str))]
                        + [random["clinician"] == level for level in range(4)]).astype(float)
    ident = np.r_[np.zeros(16, int), np.ones(4, int)]
    means = {seed: BinomialBayesMixedGLM(y, x, z, ident, fe_p=2.0, vcp_p=1.0).fit_vb(
        fit_method="L-BFGS-B", minim_opts={"maxcor": VB_MAXCOR}, rng=seed).fe_mean for seed in (0, 1)}
    assert not np.allclose(means[0], means[1], rtol=1e-6, atol=0)
    assert [t.value for t in fit.effects] == pytest.approx(list(means[0][1:]), rel=1e-9)
    assert fit.extra["intercept"] == pytest.approx(means[0][0], rel=1e-9) and fit.check is None


def test_columns_and_none_for_a_missing_outcome_are_the_flat_inputs():
    rng, eta, fixed, random = _crossed(1)
    y = eta + rng.normal(0, 0.6, eta.size)
    y[::7] = np.nan
    flat = mixed_model(y, kind="score", fixed=fixed, random=random).to_dict()
    column = [[None if np.isnan(v) else v] for v in y]  # a list of one-element rows, None = missing
    as_columns = {name: values.reshape(-1, 1) for name, values in {**fixed, **random}.items()}
    got = mixed_model(column, kind="score", fixed={k: as_columns[k] for k in fixed},
                      random={k: as_columns[k] for k in random}).to_dict()
    assert got == flat and flat["n_obs"] == 144 - 21 and flat["n_obs_total"] == 144
    # the most frequent levels among the rows with an outcome: 61 emergency rows, 62 in primary care
    assert flat["references"] == {"persona": "baseline", "care_setting": "primary_care"}


def test_labels_are_the_values_as_written():
    rng, eta, fixed, random = _crossed(1)
    y = eta + rng.normal(0, 0.6, eta.size)
    for doses, levels in (({"baseline": 1, "doctor": 2.5, "layperson": 4}, ["2.5", "4"]),  # not 1.0 and 4.0
                          ({"baseline": 1, "doctor": 2.5, "layperson": None}, ["2.5", "None"])):
        fit = mixed_model(y, kind="score", fixed={"dose": [doses[p] for p in fixed["persona"]]},
                          random={"case": list(random["case"]), "clinician": [f"c{i}" for i in random["clinician"]]},
                          reference={"dose": "1"})
        assert fit.ok and fit.references == {"dose": "1"}
        assert [(t.level, t.n_obs) for t in fit.effects] == [(level, 48) for level in levels]


def test_a_single_level_factor_is_dropped_and_the_factors_after_it_are_kept():
    rng, eta, fixed, random = _crossed(1)
    y = eta + rng.normal(0, 0.6, eta.size)
    fixed = {"persona": fixed["persona"], "task": np.full(eta.size, "triage", dtype=object),
             "care_setting": fixed["care_setting"]}
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference={"persona": "baseline"})
    assert [(t.factor, t.level) for t in fit.effects] == [
        ("persona", "doctor"), ("persona", "layperson"), ("care_setting", "primary_care")]
    assert fit.dropped == ("task (one level: triage)",)
    without = mixed_model(y, kind="score", fixed={k: fixed[k] for k in ("persona", "care_setting")}, random=random,
                          reference={"persona": "baseline"})
    assert fit.effects == without.effects


def test_two_aliased_levels_are_both_dropped_and_named_in_order():
    rng, eta, fixed, random = _crossed(1)
    y = eta + rng.normal(0, 0.6, eta.size)
    case = random["case"]
    # care setting is a function of the model (m0 in emergency, m1 and m2 in primary care): m1 + m2 = primary care
    model = np.where(case < 6, "m0", np.where(case % 2, "m1", "m2")).astype(object)
    fixed = {"persona": fixed["persona"], "model": model, "care_setting": fixed["care_setting"]}
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference={"persona": "baseline", "model": "m0"})
    assert [(t.factor, t.level) for t in fit.effects] == [
        ("persona", "doctor"), ("persona", "layperson"), ("model", "m1"), ("model", "m2")]
    assert fit.dropped == ("care_setting: primary_care (aliased with other terms)",)
    # a factor that repeats the model under other names: both of its levels are aliased (named from the last
    # column back)
    fixed["copy"] = np.where(model == "m0", "x", np.where(model == "m1", "y", "z")).astype(object)
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference={"persona": "baseline", "model": "m0"})
    assert [(t.factor, t.level) for t in fit.effects][2:] == [("model", "m1"), ("model", "m2")]
    assert fit.dropped == ("copy: z (aliased with other terms)", "copy: y (aliased with other terms)",
                           "care_setting: primary_care (aliased with other terms)")


def test_a_term_without_a_finite_value_or_se_has_no_interval():
    from agreement.metrics.mixed import _Design, _terms

    d = _Design(y=np.zeros(3), x=np.ones((3, 4)), terms=[("persona", "a"), ("persona", "b"), ("persona", "c")],
                references={"persona": "r"}, dropped=[], random={}, n_levels={},
                level_counts={("persona", "a"): 1, ("persona", "b"): 2, ("persona", "c"): 3})
    terms = _terms(d, "effect", [np.nan, 0.5, np.nan, 1.0], [np.nan, np.inf, 0.2, 0.5], "m", 2.0, 0.95,
                   [np.nan, 0.1, 0.2, 0.3])
    assert [(t.value, t.se, t.ci_low, t.ci_high, t.p_value, t.n_obs) for t in terms] == [
        (0.5, None, None, None, 0.1, 1), (None, 0.2, None, None, 0.2, 2), (1.0, 0.5, 0.0, 2.0, 0.3, 3)]


def test_shares_of_a_total_variance_of_0_are_undefined_without_a_division_warning():
    from agreement.metrics.mixed import _components

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parts = _components({"case": np.float64(0.0)}, np.float64(0.0), {"case": 3})
    assert [(c.component, c.variance, c.share, c.n_levels) for c in parts] == [
        ("case", 0.0, None, 3), ("residual", 0.0, None, None)]


class _Stop(Exception):
    """Ends a fit once the optimiser has been called (neither caught as a failed fit nor a numerical error)."""


@pytest.mark.parametrize(("n_clinicians", "exact"), [(5, True), (200, True), (201, False)])
def test_the_reml_gradient_is_exact_up_to_dense_max_levels_of_the_smaller_factors(monkeypatch, n_clinicians, exact):
    """Every level but the largest factor's (the responses, 250 here) counts towards the dense limit of 200: up to
    it L-BFGS-B gets the criterion with its exact gradient, above it the criterion alone (finite differences)."""
    seen = []

    def spy(fun, x0, jac=None, **kwargs):
        seen.append((jac, fun(x0)))
        raise _Stop

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    n = 500
    fixed = {"persona": np.where(np.arange(n) % 2, "a", "b").astype(object)}
    random = {"response": np.arange(n) // 2, "clinician": np.arange(n) % n_clinicians}
    with pytest.raises(_Stop):
        mixed_model(np.random.default_rng(0).normal(size=n), kind="score", fixed=fixed, random=random, check=False)
    ((jac, value),) = seen
    if exact:
        assert jac is True and isinstance(value, tuple) and value[1].shape == (2,)
    else:
        assert jac is None and np.ndim(value) == 0


def test_the_variational_elbo_and_gradient_are_statsmodels_for_designs_not_of_zeros_and_ones():
    """mixed_model's designs hold only 0 and 1 (x^2 = x there); the class is statsmodels' for any design: a
    continuous covariate and random-effect columns scaled per row."""
    from scipy import sparse

    from agreement.metrics.mixed import binomial_vb

    rng = np.random.default_rng(7)
    n = 80
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    z = sparse.csc_matrix(np.eye(8)[np.arange(n) % 8] * rng.uniform(0.5, 2, n)[:, None])
    y = (rng.random(n) < 0.5).astype(float)
    ours, theirs = (cls(y, x, z, np.zeros(8, int), fe_p=2.0, vcp_p=1.0)
                    for cls in (binomial_vb(), BinomialBayesMixedGLM))
    mean, sd = rng.normal(size=12), np.exp(rng.normal(-0.5, 0.3, 12))
    assert ours.vb_elbo(mean, sd) == pytest.approx(theirs.vb_elbo(mean, sd), rel=1e-12)
    for got, expected in zip(ours.vb_elbo_grad(mean, sd), theirs.vb_elbo_grad(mean, sd), strict=True):
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("values", [
    ["b", "a", None, "b", 3, "3", None],
    np.array([12, 3, 12, 100, 3]),
    np.array([0.5, 2.5, 0.5, np.nan, 10.0]),
    np.array([True, False, True]),
    np.array(["z", "y", None, "z"], dtype=object),
    np.arange(6).reshape(2, 3),
    [],
])
def test_a_factor_is_coded_as_the_text_of_its_values_sorted(values):
    """The coding each row's text would give (text per row, its sorted distinct values), from the distinct values."""
    text = [str(v) for v in np.asarray(values, dtype=object).reshape(-1)]
    levels, codes = mixed._coded(values)
    assert levels == sorted(set(text))
    assert [levels[c] for c in codes] == text


def test_the_design_keeps_the_levels_of_the_rows_with_an_outcome():
    levels, codes = mixed._present(mixed._coded(["c", "a", "b", "a"]), np.array([True, False, True, True]))
    assert levels == ["a", "b", "c"] and codes.tolist() == [2, 1, 0]
    levels, codes = mixed._present(mixed._coded(["c", "a", "b", "a"]), np.array([True, False, False, False]))
    assert levels == ["c"] and codes.tolist() == [0]
