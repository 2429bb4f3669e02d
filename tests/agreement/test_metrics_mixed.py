"""Persona-effect mixed models against known truth and independent estimates.

Simulated studies (seeded) with known fixed effects and variance components: every true effect must lie
in its interval, and each variance component near its true value within three of its approximate
standard errors, sqrt(2 / (L - 1)) x the variance for a component with L levels (the sampling spread
of a variance estimated from L draws). Balanced designs are checked against the ANOVA
(method-of-moments) estimates written out with numpy, which REML reproduces exactly when they are
positive; an unbalanced crossed design against statsmodels' formula interface (patsy dummies, dense).
"""
import json
import os
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize, sparse, stats

from agreement.metrics import mixed
from agreement.metrics.mixed import mixed_model

REF = {"persona": "baseline", "care_setting": "emergency", "model": "m0"}
PERSONA = {"baseline": 0.0, "doctor": 0.5, "layperson": -0.4}
SETTING, MODEL = 0.25, 0.3
VAR = {"case": 0.5, "clinician": 0.3, "response": 0.2, "residual": 0.4}


def _study(seed, *, n_cases=40, n_raters=16, per_response=3):
    """Case x persona x model responses (care setting per case), each rated by `per_response` clinicians."""
    rng = np.random.default_rng(seed)
    personas = np.array(list(PERSONA), dtype=object)
    case = np.repeat(np.arange(n_cases), 6)
    persona = np.tile(np.repeat(personas, 2), n_cases)
    model = np.tile(np.array(["m0", "m1"], dtype=object), 3 * n_cases)
    setting = np.where(case < n_cases // 2, "emergency", "primary_care").astype(object)
    item = np.repeat(np.arange(case.size), per_response)
    rater = np.concatenate([rng.choice(n_raters, per_response, replace=False) for _ in range(case.size)])
    fixed_part = (np.array([PERSONA[p] for p in persona]) + SETTING * (setting == "primary_care")
                  + MODEL * (model == "m1"))[item]
    u = rng.normal(0, np.sqrt(VAR["case"]), n_cases)[case[item]]
    v = rng.normal(0, np.sqrt(VAR["clinician"]), n_raters)[rater]
    w = rng.normal(0, np.sqrt(VAR["response"]), case.size)[item]
    fixed = {"persona": persona[item], "care_setting": setting[item], "model": model[item]}
    random = {"case": case[item], "clinician": rater, "response": item}
    return rng, fixed_part, u + v + w, fixed, random


def _near(component, truth, n_levels):
    return abs(component["variance"] - truth) <= 3 * np.sqrt(2 / (n_levels - 1)) * truth


def test_scores_cover_every_true_effect_and_recover_the_variance_components():
    rng, fixed_part, random_part, fixed, random = _study(11)
    y = 1.0 + fixed_part + random_part + rng.normal(0, np.sqrt(VAR["residual"]), fixed_part.size)
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference=REF).to_dict()
    assert fit["status"] == "ok" and fit["n_obs"] == 720 and fit["check"] is None
    assert fit["references"] == REF and fit["n_levels"] == {"case": 40, "clinician": 16, "response": 240}
    assert [(e["factor"], e["level"]) for e in fit["effects"]] == [
        ("persona", "doctor"), ("persona", "layperson"), ("care_setting", "primary_care"), ("model", "m1")]
    for term in fit["effects"]:
        assert term["ci_method"] == "wald_model_se" and term["ci_low"] < _truth_of(term) < term["ci_high"]
    comps = {c["component"]: c for c in fit["variance_components"]}
    assert list(comps) == ["case", "clinician", "response", "residual"]
    assert sum(c["share"] for c in comps.values()) == pytest.approx(1.0)
    for name, levels in (("case", 40), ("clinician", 16), ("response", 240), ("residual", 480)):
        assert _near(comps[name], VAR[name], levels), name
    json.dumps(fit, allow_nan=False)


def _truth_of(term: dict) -> float:
    return {"persona": PERSONA.get(term["level"]), "care_setting": SETTING, "model": MODEL}[term["factor"]]


def test_unbalanced_crossed_fit_equals_the_formula_interface():
    rng, fixed_part, random_part, fixed, random = _study(5)
    y = fixed_part + random_part + rng.normal(0, np.sqrt(VAR["residual"]), fixed_part.size)
    keep = rng.random(y.size) > 0.2  # unbalanced: a fifth of the ratings missing
    y[~keep] = np.nan
    random = {"case": random["case"], "clinician": random["clinician"]}
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference=REF)
    frame = pd.DataFrame({**{k: v[keep] for k, v in {**fixed, **random}.items()}, "y": y[keep],
                          "one": np.ones(keep.sum())})
    ref = smf.mixedlm(
        "y ~ C(persona, Treatment('baseline')) + C(care_setting, Treatment('emergency')) + C(model, Treatment('m0'))",
        frame, groups="one", re_formula="0",
        vc_formula={"case": "0 + C(case)", "clinician": "0 + C(clinician)"},
    ).fit(reml=True)
    assert fit.n_obs == keep.sum() and fit.n_obs_total == y.size
    assert [t.value for t in fit.effects] == pytest.approx(list(ref.fe_params[1:]), abs=1e-4)
    assert [t.se for t in fit.effects] == pytest.approx(list(ref.bse_fe[1:]), rel=1e-3)
    assert [c.variance for c in fit.variance_components] == pytest.approx([*ref.vcomp, ref.scale], rel=1e-3)


def _anova_balanced(y: np.ndarray) -> dict:
    """Additive three-way layout case x persona x clinician, one observation per cell (numpy ANOVA)."""
    c, p, r = y.shape
    grand = y.mean()
    mean_c, mean_p, mean_r = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    resid = y - mean_c[:, None, None] - mean_p[None, :, None] - mean_r[None, None, :] + 2 * grand
    ms_c = p * r * np.sum((mean_c - grand) ** 2) / (c - 1)
    ms_r = c * p * np.sum((mean_r - grand) ** 2) / (r - 1)
    ms_e = np.sum(resid**2) / (y.size - c - p - r + 2)
    return {"case": (ms_c - ms_e) / (p * r), "clinician": (ms_r - ms_e) / (c * p), "residual": ms_e,
            "effects": mean_p[1:] - mean_p[0]}


def _balanced_crossed(seed=3, c=20, r=6):
    """Scores of c cases x 3 personas x r clinicians, one each, and the score model's arguments."""
    rng = np.random.default_rng(seed)
    y = (rng.normal(0, 0.8, (c, 1, 1)) + np.array([0.0, 0.6, -0.2])[None, :, None]
         + rng.normal(0, 0.5, (1, 1, r)) + rng.normal(0, 0.7, (c, 3, r)))
    case, persona, rater = np.meshgrid(np.arange(c), np.array(["a", "b", "c"], dtype=object), np.arange(r),
                                       indexing="ij")
    return y, {"kind": "score", "fixed": {"persona": persona.ravel()},
               "random": {"case": case.ravel(), "clinician": rater.ravel()}, "reference": {"persona": "a"}}


def test_balanced_crossed_design_equals_the_anova_estimates():
    y, args = _balanced_crossed()
    fit = mixed_model(y.ravel(), **args)
    anova = _anova_balanced(y)
    assert [t.value for t in fit.effects] == pytest.approx(list(anova["effects"]), abs=1e-6)
    comps = {v.component: v.variance for v in fit.variance_components}
    assert comps == pytest.approx({k: anova[k] for k in ("case", "clinician", "residual")}, rel=1e-4)


@pytest.fixture
def searched(monkeypatch) -> list[int]:
    """The criterion evaluations of every optimiser run (``scipy.optimize.minimize``) from here on, in order."""
    evaluations, minimize = [], optimize.minimize

    def counted(*a, **k):
        result = minimize(*a, **k)
        evaluations.append(result.nfev)
        return result

    monkeypatch.setattr(optimize, "minimize", counted)
    return evaluations


def test_a_search_started_from_a_related_fit_reaches_the_same_optimum_in_fewer_steps(searched):
    y, args = _balanced_crossed()
    cold = mixed_model(y.ravel(), **args, start={"case": 1.0, "clinician": 1.0})
    ratios = cold.variance_ratios()
    assert set(ratios) == {"case", "clinician"} and ratios["case"] == pytest.approx(
        cold.variance_components[0].variance / cold.variance_components[-1].variance)
    warm = mixed_model(y.ravel(), **args, start=ratios)
    assert searched[1] < searched[0]
    assert [t.value for t in warm.effects] == pytest.approx([t.value for t in cold.effects], abs=1e-7)
    assert [v.variance for v in warm.variance_components] == pytest.approx(
        [v.variance for v in cold.variance_components], rel=1e-5)
    with pytest.raises(ValueError, match="start"):
        mixed_model(y.ravel(), **args, start={"persona": 1.0})
    with pytest.raises(ValueError, match="start"):
        mixed_model(y.ravel(), **args, start={"case": -1.0})


def test_the_moment_start_is_the_anova_estimator_of_a_balanced_one_way_design():
    rng = np.random.default_rng(5)
    groups, size = 40, 6
    y = rng.normal(0, 0.8, (groups, 1)) + rng.normal(0, 1.0, (groups, size))
    d, _, _ = mixed._design(y.ravel(), {"persona": mixed._coded(np.tile(np.array(["a", "b"]), groups * size // 2))},
                            {"case": mixed._coded(np.repeat(np.arange(groups), size))}, {})
    beta = np.linalg.lstsq(d.x, d.y, rcond=None)[0]
    resid = (d.y - d.x @ beta).reshape(groups, size)
    ms_between = size * np.sum(resid.mean(axis=1) ** 2) / (groups - 1)
    ms_within = np.sum((resid - resid.mean(axis=1, keepdims=True)) ** 2) / (groups * size - groups)
    assert mixed._moment_ratios(d) == pytest.approx({"case": (ms_between - ms_within) / size / ms_within})


def test_the_search_from_the_moment_estimates_reaches_the_optimum_in_fewer_steps_than_from_one(searched):
    """Crossed case and clinician effects and a response effect nested in the case, as the report's rating
    models have them: the default start (moment estimates) against ratios of 1."""
    rng = np.random.default_rng(11)
    cases, personas, clinicians, per = 60, 4, 12, 3
    response = np.repeat(np.arange(cases * personas), per)
    case, persona = response // personas, response % personas
    clinician = np.concatenate([rng.choice(clinicians, per, replace=False) for _ in range(cases * personas)])
    y = (0.3 * persona + rng.normal(0, 0.6, cases)[case] + rng.normal(0, 0.4, clinicians)[clinician]
         + rng.normal(0, 0.3, cases * personas)[response] + rng.normal(0, 1.0, response.size))
    args = {"kind": "score", "fixed": {"persona": persona.astype(str)}, "reference": {"persona": "0"},
            "random": {"case": case, "clinician": clinician, "response": response}, "check": False}
    from_one = mixed_model(y, **args, start=dict.fromkeys(args["random"], 1.0))
    from_moments = mixed_model(y, **args)
    assert searched[1] < searched[0]
    assert [t.value for t in from_moments.effects] == pytest.approx([t.value for t in from_one.effects], abs=1e-7)
    assert [t.se for t in from_moments.effects] == pytest.approx([t.se for t in from_one.effects], rel=1e-5)
    assert [v.variance for v in from_moments.variance_components] == pytest.approx(
        [v.variance for v in from_one.variance_components], rel=1e-4, abs=1e-8)


def test_the_proportional_odds_check_converges_at_its_optimum_on_a_large_study():
    """5,000 ratings (10 personas x 2 models x 25 cases, 10 of 25 clinicians each): held to a gradient of 1e-8 per
    row, the trust region stopped at the optimum but reported it had not converged."""
    rng = np.random.default_rng(1)
    n_cases, personas, models, clinicians, per = 25, 10, 2, 25, 10
    case = np.repeat(np.arange(n_cases), personas * models)
    persona = np.tile(np.repeat(np.arange(personas), models), n_cases)
    model = np.tile(np.arange(models), n_cases * personas)
    eta = (np.linspace(0, 0.6, personas)[persona] + 0.3 * model + 0.2 * (case % 2)
           + rng.normal(0, 0.7, n_cases)[case] + rng.normal(0, 0.4, case.size))
    item = np.repeat(np.arange(case.size), per)
    rater = np.argsort(rng.random((case.size, clinicians)), axis=1)[:, :per].ravel()
    latent = eta[item] + rng.normal(0, 0.5, clinicians)[rater] + rng.logistic(size=item.size)
    fit = mixed_model(np.digitize(latent, [-1.0, 0.5, 2.0]).astype(float), kind="ordinal",
                      fixed={"persona": persona[item], "care_setting": (case % 2)[item], "model": model[item]},
                      random={"case": case[item], "clinician": rater, "response": item},
                      reference={"persona": "0", "care_setting": "0", "model": "0"})
    assert fit.check.status == "ok" and fit.check.warnings == ()


def test_one_random_factor_equals_the_one_way_anova_estimate():
    rng = np.random.default_rng(4)
    c, p, n = 30, 2, 4  # cases x personas x replicates
    y = rng.normal(0, 0.9, (c, 1, 1)) + np.array([0.0, 0.4])[None, :, None] + rng.normal(0, 0.6, (c, p, n))
    case, persona, _ = np.meshgrid(np.arange(c), np.array(["a", "b"], dtype=object), np.arange(n), indexing="ij")
    fit = mixed_model(y.ravel(), kind="score", fixed={"persona": persona.ravel()}, random={"case": case.ravel()},
                      reference={"persona": "a"})
    mean_c, mean_p, grand = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean()
    resid = y - mean_c[:, None, None] - mean_p[None, :, None] + grand
    ms_c = p * n * np.sum((mean_c - grand) ** 2) / (c - 1)
    ms_e = np.sum(resid**2) / (y.size - c - p + 1)
    comps = {v.component: v.variance for v in fit.variance_components}
    assert comps == pytest.approx({"case": (ms_c - ms_e) / (p * n), "residual": ms_e}, rel=1e-4)
    assert fit.effects[0].value == pytest.approx(mean_p[1] - mean_p[0], abs=1e-6)



def _dense_reml(y, x, zs, ratios) -> float:
    """-2 REML profiled over the residual variance, V = sigma^2 (I + sum_k ratio_k Z_k Z_k'), written out densely."""
    n, p = x.shape
    h = np.eye(n) + sum(r * z @ z.T for r, z in zip(ratios, zs, strict=True))
    h_inv = np.linalg.inv(h)
    xhx = x.T @ h_inv @ x
    beta = np.linalg.solve(xhx, x.T @ h_inv @ y)
    resid = y - x @ beta
    return (np.linalg.slogdet(h)[1] + np.linalg.slogdet(xhx)[1]
            + (n - p) * (1 + np.log(2 * np.pi * resid @ h_inv @ resid / (n - p))))


def test_a_variance_inside_the_boundary_is_found_when_another_one_is_zero():
    """A clinician SD small against the residual: the REML optimum has a zero clinician variance and a case
    variance well inside; the fit reaches the optimum of the dense criterion (several starts)."""
    rng = np.random.default_rng(41)
    case = np.repeat(np.arange(60), 4)
    clinician = np.concatenate([rng.choice(10, 4, replace=False) for _ in range(60)])
    persona = np.tile(np.array(["a", "b"], dtype=object), case.size // 2)
    y = (0.3 * (persona == "b") + rng.normal(0, 0.5, 60)[case] + rng.normal(0, 0.08, 10)[clinician]
         + rng.normal(0, 1, case.size))
    fit = mixed_model(y, kind="score", fixed={"persona": persona}, random={"case": case, "clinician": clinician})
    x = np.column_stack([np.ones(y.size), persona == "b"])
    zs = [np.eye(levels)[codes] for codes, levels in ((case, 60), (clinician, 10))]
    best = min((optimize.minimize(lambda r: _dense_reml(y, x, zs, r), start, method="Nelder-Mead",
                                  bounds=[(0, None)] * 2, options={"xatol": 1e-9, "fatol": 1e-9})
                for start in ([1, 1], [0.1, 0.01])), key=lambda r: r.fun)
    comps = {v.component: v.variance for v in fit.variance_components}
    assert [comps["case"] / comps["residual"], comps["clinician"] / comps["residual"]] == pytest.approx(
        list(best.x), abs=1e-4)
    assert comps["case"] > 0.1 and comps["clinician"] == 0.0
    assert fit.warnings == ("the clinician variance is estimated at 0 (the boundary)",)


def test_the_reml_criterion_and_its_gradient_are_those_written_out_densely():
    """The profiled criterion against the dense definition, its exact gradient against the dense one's central
    differences (forward at a zero variance ratio); case, clinician and response, and case alone."""
    rng, fixed_part, random_part, fixed, random = _study(3, n_cases=8, n_raters=6)
    y = fixed_part + random_part + rng.normal(0, np.sqrt(VAR["residual"]), fixed_part.size)
    for names in (("case", "clinician", "response"), ("case",)):
        d, _, _ = mixed._design(y, {k: mixed._coded(v) for k, v in fixed.items()},
                                {k: mixed._coded(random[k]) for k in names}, REF)
        criterion, _ = mixed._reml(d)
        zs = [np.eye(d.n_levels[k])[d.random[k]] for k in names]

        def dense(ratios, zs=zs, d=d):
            return _dense_reml(d.y, d.x, zs, ratios)

        for ratios in (np.linspace(0.3, 1.4, len(names)), np.r_[0.0, np.full(len(names) - 1, 0.7)],
                       np.r_[np.full(len(names) - 1, 0.7), 0.0]):
            value, gradient = criterion(ratios)
            assert criterion(ratios, gradient=False) == value
            assert value == pytest.approx(dense(ratios), rel=1e-10)
            h = 1e-5 * np.eye(len(names))
            numeric = [(dense(ratios + e) - dense(ratios - e)) / 2e-5 if r > 0 else
                       (4 * dense(ratios + e) - dense(ratios + 2 * e) - 3 * dense(ratios)) / 2e-5
                       for r, e in zip(ratios, h, strict=True)]
            assert gradient == pytest.approx(numeric, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("seed", [5, 11])
def test_the_sparse_factorisation_of_many_levels_gives_the_dense_ones_fit(monkeypatch, seed):
    """Above _Schur.DENSE_MAX levels of the smaller factors the REML criterion is factorised by a sparse LU and
    differentiated numerically (the exact gradient below): the search, held to the optimum itself, reaches
    the same one (within 1e-6 of an SE; under L-BFGS-B's default tolerances 2e-5)."""
    rng, fixed_part, random_part, fixed, random = _study(seed)
    y = fixed_part + random_part + rng.normal(0, np.sqrt(VAR["residual"]), fixed_part.size)
    dense = mixed_model(y, kind="score", fixed=fixed, random=random, reference=REF)
    monkeypatch.setattr(mixed._Schur, "DENSE_MAX", 0)
    sparse_lu = mixed_model(y, kind="score", fixed=fixed, random=random, reference=REF)
    assert [t.value for t in sparse_lu.effects] == pytest.approx([t.value for t in dense.effects], rel=1e-6)
    assert [t.se for t in sparse_lu.effects] == pytest.approx([t.se for t in dense.effects], rel=1e-6)
    assert [v.variance for v in sparse_lu.variance_components] == pytest.approx(
        [v.variance for v in dense.variance_components], rel=1e-5)

def test_binary_ratings_cover_every_true_log_odds_effect_with_the_laplace_interval():
    """In 40 such studies the +/- 1.96 Laplace SD intervals covered 92-100 % (the mean-field SDs 45-95 %)."""
    rng, fixed_part, random_part, fixed, random = _study(21, n_cases=60)
    y = (rng.random(fixed_part.size) < 1 / (1 + np.exp(-(-0.3 + fixed_part + random_part)))).astype(float)
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random, reference=REF, seed=2).to_dict()
    assert fit["status"] == "ok" and fit["warnings"] == [] and fit["n_obs"] == 1080
    for term in fit["effects"]:
        assert term["ci_method"] == "vb_laplace" and term["p_value"] is None
        assert term["ci_low"] < _truth_of(term) < term["ci_high"], term["level"]
    # Mean-field VB understates the SD most for the case-level factor (care setting).
    setting = fit["effects"][2]
    assert fit["extra"]["mean_field_sd"][2] < 0.6 * setting["se"]
    comps = {c["component"]: c for c in fit["variance_components"]}
    assert comps["residual"]["variance"] == pytest.approx(np.pi**2 / 3)
    assert _near(comps["case"], VAR["case"], 60) and _near(comps["clinician"], VAR["clinician"], 16)
    check = fit["check"]
    assert check["status"] == "ok" and check["scale"] == "log-odds (population-averaged)"
    assert check["extra"]["n_clusters"] == 60 and 0 < check["extra"]["working_correlation"] < 1
    assert all(t["ci_method"] == "wald_cluster_robust" for t in check["effects"])
    assert [np.sign(t["value"]) for t in check["effects"][:2]] == [1, -1]


def _expected_level(linear: np.ndarray, cuts, sd: float) -> np.ndarray:
    """E[level] = sum_j P(latent > cut_j), latent = linear + N(0, sd^2) + logistic (Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    shifted = linear[:, None] + sd * nodes[None, :]
    return sum((1 / (1 + np.exp(-(shifted - c)))) @ weights for c in cuts)


def test_ordinal_ratings_cover_the_true_mean_shift_in_levels():
    rng, fixed_part, random_part, fixed, random = _study(8)
    cuts = (-1.0, 0.5, 2.0)
    y = np.digitize(fixed_part + random_part + rng.logistic(size=fixed_part.size), cuts).astype(float)
    fit = mixed_model(y, kind="ordinal", fixed=fixed, random=random, reference=REF)
    assert fit.ok and fit.scale == "level index (scale points)" and fit.check.ok
    # The linear model's persona coefficient estimates the mean level difference at the same design rows.
    sd = np.sqrt(VAR["case"] + VAR["clinician"] + VAR["response"])
    others = fixed_part - np.array([PERSONA[p] for p in fixed["persona"]])
    base = _expected_level(others, cuts, sd).mean()
    for term in fit.effects[:2]:
        truth = _expected_level(others + PERSONA[term.level], cuts, sd).mean() - base
        assert term.ci_method == "wald_model_se" and term.ci_low < truth < term.ci_high, term.level
    # The proportional-odds check is on the log cumulative odds scale: same signs, its own interval method.
    assert fit.check.scale == "log cumulative odds" and len(fit.check.extra["thresholds"]) == 3
    assert [np.sign(t.value) for t in fit.check.effects] == [np.sign(t.value) for t in fit.effects]
    assert all(t.ci_method == "wald_cluster_robust" for t in fit.check.effects)


def _small(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng, {"persona": np.where(np.arange(n) % 2, "a", "b").astype(object)}, {
        "case": np.arange(n) // 4, "clinician": np.arange(n) % 5}


@pytest.mark.parametrize(("change", "status", "reason", "detail"), [
    ("one_persona", "insufficient_data", "one_level", "one persona (b): no persona contrast to estimate"),
    ("one_clinician", "insufficient_data", "too_few_levels",
     "one clinician: the clinician variance cannot be estimated"),
    ("constant", "undefined_no_variation", "no_variation", "every outcome is 1"),
    ("empty", "insufficient_data", "empty", "no observation"),
    ("tiny", "insufficient_data", "too_many_parameters", "4 observations for 2 fixed effects"),
])
def test_thin_data_come_back_with_a_reason_not_an_exception(change, status, reason, detail):
    rng, fixed, random = _small()
    y = (rng.random(60) < 0.5).astype(float)
    if change == "one_persona":
        fixed["persona"][:] = "b"
    elif change == "one_clinician":
        random["clinician"][:] = 0
    elif change == "constant":
        y[:] = 1.0
    elif change == "empty":
        y[:] = np.nan
    else:  # four rows for two fixed effects, two variances and the residual
        y[np.setdiff1d(np.arange(60), [0, 6, 13, 19])] = np.nan
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random)
    assert (fit.status, fit.reason, fit.detail) == (status, reason, detail)
    assert fit.effects == () and fit.check is None and fit.n_obs_total == 60
    json.dumps(fit.to_dict(), allow_nan=False)


def test_single_level_and_aliased_terms_are_dropped_and_named():
    rng, fixed, random = _small(80)
    case = random["case"]
    fixed["care_setting"] = np.where(case < 10, "emergency", "primary_care").astype(object)
    fixed["model"] = np.where(case < 10, "m0", "m1").astype(object)  # each model in one care setting only
    fixed["task"] = np.full(80, "triage", dtype=object)
    y = rng.normal(size=80) + (fixed["persona"] == "a")
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference={"persona": "b", "model": "x"})
    assert fit.ok and [(t.factor, t.level) for t in fit.effects] == [("persona", "a"), ("care_setting", "primary_care")]
    assert fit.dropped == ("task (one level: triage)", "model: m1 (aliased with other terms)")
    # A reference that does not occur falls back to the most frequent level (ties: the first by name).
    assert fit.references == {"persona": "b", "care_setting": "emergency", "model": "m0"}


def test_fit_warnings_are_kept_as_text_and_none_escapes(monkeypatch):
    rng, fixed, random = _small(120)
    noise = rng.normal(size=120)
    # Every clinician's mean is the same (and each rates 12 rows of either persona): the REML estimate of the
    # clinician variance is 0, on the boundary.
    noise -= (np.bincount(random["clinician"], noise) / np.bincount(random["clinician"]))[random["clinician"]]
    y = noise + (fixed["persona"] == "a")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = mixed_model(y, kind="score", fixed=fixed, random=random)
    assert fit.ok and any("estimated at 0 (the boundary)" in w for w in fit.warnings)
    assert {c.component: c.share for c in fit.variance_components}["residual"] > 0.9

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr("agreement.metrics.mixed._fit_lmm", broken)
    failed = mixed_model(y, kind="score", fixed=fixed, random=random)
    assert (failed.status, failed.detail, failed.effects) == ("fit_failed", "Singular matrix", ())


def test_fits_side_by_side_in_threads_record_only_their_own_warnings():
    """The warnings machinery is the process's: a second thread's recording waits for the first one's end."""
    inside, go, texts = threading.Event(), threading.Event(), {}

    def fit(name, before=None):
        with mixed._Recorder() as rec:
            if before:
                before()
            warnings.warn(f"from {name}", UserWarning, stacklevel=1)
        texts[name] = rec.texts()

    first = threading.Thread(target=fit, args=("first", lambda: (inside.set(), go.wait(10))))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=fit, args=("second",))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first fit's recording to end
    go.set()
    first.join(10)
    second.join(10)
    assert texts == {"first": ["UserWarning: from first"], "second": ["UserWarning: from second"]}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_process_forked_while_another_thread_records_can_record():
    inside, go = threading.Event(), threading.Event()

    def hold():
        with mixed._Recorder():
            inside.set()
            go.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the lock is a fresh one
        try:
            with mixed._Recorder() as rec:
                warnings.warn("child", UserWarning, stacklevel=1)
            os._exit(0 if rec.texts() == ["UserWarning: child"] else 1)
        finally:
            os._exit(2)
    go.set()
    holder.join(10)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked process waited for a lock held by a thread it does not have")
    assert os.waitstatus_to_exitcode(done[1]) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "poisson"}, "kind must be one of"),
    ({"y": [0, 1, 2] * 20}, "binary outcomes must be 0 or 1"),
    ({"kind": "ordinal", "y": [0, 1.5] * 30}, "level indices"),
    ({"y": [0, 1] * 10}, "'persona' has 60 values for 20 outcomes"),
    ({"random": {}}, "at least one fixed factor and one random factor"),
    ({"confidence": 1.5}, "confidence"),
])
def test_bad_input_raises(kwargs, message):
    _, fixed, random = _small()
    args = {"y": [0, 1] * 30, "kind": "binary", "fixed": fixed, "random": random, **kwargs}
    with pytest.raises(ValueError, match=message):
        mixed_model(args.pop("y"), **args)


# --- whole results against statsmodels on small crossed designs -----------------------------------------


def _crossed(seed, n_cases=12, n_clinicians=4):
    """Every case x persona rated by every clinician; care setting per case; case and clinician effects."""
    rng = np.random.default_rng(seed)
    case, persona, clinician = (a.ravel() for a in np.meshgrid(
        np.arange(n_cases), np.array(list(PERSONA), dtype=object), np.arange(n_clinicians), indexing="ij"))
    setting = np.where(case < n_cases // 2, "emergency", "primary_care").astype(object)
    eta = (np.array([PERSONA[p] for p in persona]) + SETTING * (setting == "primary_care")
           + rng.normal(0, 0.7, n_cases)[case] + rng.normal(0, 0.5, n_clinicians)[clinician])
    return rng, eta, {"persona": persona, "care_setting": setting}, {"case": case, "clinician": clinician}


def _frame(fixed, random, y, keep):
    return pd.DataFrame({**{k: v[keep] for k, v in {**fixed, **random}.items()}, "y": y[keep],
                         "one": np.ones(keep.sum())})


def _term(name, factor, level, reference, value, se, z, method, level_ci, p_value, n_obs):
    return {"name": name, "factor": factor, "level": level, "reference": reference, "value": value, "se": se,
            "ci_low": value - z * se, "ci_high": value + z * se, "ci_method": method, "ci_level": level_ci,
            "p_value": p_value, "n_obs": n_obs}


LEVELS = [("persona", "doctor", "baseline"), ("persona", "layperson", "baseline"),
          ("care_setting", "primary_care", "emergency")]


def test_score_fit_is_the_whole_statsmodels_mixedlm_result():
    rng, eta, fixed, random = _crossed(1)
    y = eta + rng.normal(0, 0.6, eta.size)
    keep = rng.random(y.size) > 0.1
    y[~keep] = np.nan
    fit = mixed_model(y, kind="score", fixed=fixed, random=random, reference={"persona": "baseline"},
                      confidence=0.9, check=True)
    ref = smf.mixedlm("y ~ C(persona, Treatment('baseline')) + C(care_setting, Treatment('emergency'))",
                      _frame(fixed, random, y, keep), groups="one", re_formula="0",
                      vc_formula={"case": "0 + C(case)", "clinician": "0 + C(clinician)"}).fit(reml=True)
    z = stats.norm.ppf(0.95)
    variances = [*ref.vcomp, ref.scale]
    got = fit.to_dict()
    expected = {
        "kind": "score", "model": "linear mixed model (REML, as statsmodels MixedLM), crossed random intercepts",
        "formula": "score ~ persona + care_setting + (1 | case) + (1 | clinician)", "scale": "score units",
        "status": "ok", "reason": None, "detail": "", "n_obs": int(keep.sum()), "n_obs_total": y.size,
        "ci_level": 0.9, "references": {"persona": "baseline", "care_setting": "emergency"},
        "n_levels": {"case": 12, "clinician": 4},
        "effects": [_term("mixed_lm_effect", f, lv, r, ref.fe_params.iloc[j], ref.bse_fe.iloc[j], z, "wald_model_se",
                          0.9, ref.pvalues.iloc[j], int(np.sum(keep & (fixed[f] == lv))))
                    for j, (f, lv, r) in enumerate(LEVELS, start=1)],
        "variance_components": [{"component": c, "variance": v, "share": v / sum(variances), "n_levels": n}
                                for c, v, n in zip(["case", "clinician", "residual"], variances, [12, 4, None],
                                                   strict=True)],
        "dropped": [], "warnings": [], "check": None, "extra": {"intercept": ref.fe_params.iloc[0]},
    }
    for key in ("effects", "variance_components", "extra"):
        assert _close(got.pop(key), expected.pop(key)), key
    assert got == expected


def _close(got, expected, rel=2e-3, abs_=2e-4):
    """Nested equality, floats within tolerance (REML optimisers stop at slightly different points)."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(
            _close(got[k], expected[k], rel, abs_) for k in expected)
    if isinstance(expected, list | tuple):
        return len(got) == len(expected) and all(_close(g, e, rel, abs_) for g, e in zip(got, expected, strict=True))
    if isinstance(expected, float | np.floating) and not isinstance(expected, bool):
        return isinstance(got, float) and got == pytest.approx(float(expected), rel=rel, abs=abs_)
    return got == expected


def _laplace_sd(x, z_dense, fe_mean, vc_mean, log_sd_per_column):
    """SDs of the fixed effects from the full dense Hessian of the negative log posterior in (b, u)."""
    design = np.hstack([x, z_dense])
    mu = 1 / (1 + np.exp(-(design @ np.r_[fe_mean, vc_mean])))
    prior = np.r_[np.full(x.shape[1], 1 / 2.0**2), np.exp(-2 * log_sd_per_column)]
    hessian = design.T @ (design * (mu * (1 - mu))[:, None]) + np.diag(prior)
    return np.sqrt(np.diag(np.linalg.inv(hessian))[: x.shape[1]])


def test_binary_fit_is_the_statsmodels_vb_fit_with_a_dense_laplace_sd_and_the_gee_check():
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    from statsmodels.genmod.generalized_estimating_equations import GEE

    rng, eta, fixed, random = _crossed(2, n_cases=16)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    fit = mixed_model(y, kind="binary", fixed=fixed, random=random, reference={"persona": "baseline"}, seed=4)
    x = np.column_stack([np.ones(y.size)] + [(fixed[f] == lv).astype(float) for f, lv, _ in LEVELS])
    # one column per level, levels as text in sorted order ("10" before "2"), as the fit names them
    z_dense = np.column_stack([(random[name].astype(str) == level).astype(float)
                               for name in ("case", "clinician") for level in np.unique(random[name].astype(str))])
    ident = np.r_[np.zeros(16, int), np.ones(4, int)]
    vb = BinomialBayesMixedGLM(y, x, sparse.csc_matrix(z_dense), ident, fe_p=2.0, vcp_p=1.0).fit_vb(
        fit_method="L-BFGS-B", minim_opts={"maxcor": mixed.VB_MAXCOR}, rng=4)
    sd = _laplace_sd(x, z_dense, vb.fe_mean, vb.vc_mean, vb.vcp_mean[ident])
    z = stats.norm.ppf(0.975)
    variances = [float(np.exp(2 * vb.vcp_mean[0])), float(np.exp(2 * vb.vcp_mean[1])), np.pi**2 / 3]
    got = fit.to_dict()
    check = got.pop("check")
    expected = {
        "kind": "binary", "model": "BinomialBayesMixedGLM, mean-field variational Bayes",
        "formula": "logit P(y = 1) ~ persona + care_setting + (1 | case) + (1 | clinician)",
        "scale": "log-odds (conditional on case and clinician)", "status": "ok", "reason": None, "detail": "",
        "n_obs": y.size, "n_obs_total": y.size, "ci_level": 0.95,
        "references": {"persona": "baseline", "care_setting": "emergency"}, "n_levels": {"case": 16, "clinician": 4},
        "effects": [_term("binomial_vb_effect", f, lv, r, vb.fe_mean[j], sd[j], z, "vb_laplace", 0.95, None,
                          int(np.sum(fixed[f] == lv))) for j, (f, lv, r) in enumerate(LEVELS, start=1)],
        "variance_components": [{"component": c, "variance": v, "share": v / sum(variances), "n_levels": n}
                                for c, v, n in zip(["case", "clinician", "residual"], variances, [16, 4, None],
                                                   strict=True)],
        "dropped": [], "warnings": [],
        "extra": {"intercept": vb.fe_mean[0], "mean_field_sd": list(vb.fe_sd[1:])},
    }
    for key in expected:
        assert _close(got[key], expected[key], rel=1e-6, abs_=1e-9), (key, got[key], expected[key])
    gee_model = GEE(y, x, groups=random["case"], family=families.Binomial(), cov_struct=cov_struct.Exchangeable())
    gee = gee_model.fit()
    assert _close(check, {
        "kind": "binary", "model": "GEE, logit, exchangeable within case, robust SE",
        "formula": "logit P(y = 1) ~ persona + care_setting; SE clustered by case",
        "scale": "log-odds (population-averaged)", "status": "ok", "reason": None, "detail": "",
        "n_obs": y.size, "n_obs_total": y.size, "ci_level": 0.95,
        "references": {"persona": "baseline", "care_setting": "emergency"}, "n_levels": {"case": 16, "clinician": 4},
        "effects": [_term("gee_effect", f, lv, r, gee.params[j], gee.bse[j], z, "wald_cluster_robust", 0.95,
                          gee.pvalues[j], int(np.sum(fixed[f] == lv))) for j, (f, lv, r) in enumerate(LEVELS, start=1)],
        "variance_components": [], "dropped": [], "warnings": [], "check": None,
        "extra": {"intercept": gee.params[0], "working_correlation": float(gee_model.cov_struct.dep_params),
                  "n_clusters": 16},
    }, rel=1e-9, abs_=1e-12)


def test_ordinal_fit_has_the_statsmodels_proportional_odds_check():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rng, eta, fixed, random = _crossed(3)
    y = np.digitize(eta + rng.logistic(size=eta.size), (-0.5, 0.5, 1.5)).astype(float)
    fit = mixed_model(y, kind="ordinal", fixed=fixed, random=random, reference={"persona": "baseline"},
                      confidence=0.8)
    assert fit.ok and fit.formula == "level index ~ persona + care_setting + (1 | case) + (1 | clinician)"
    assert fit.scale == "level index (scale points)" and fit.effects[0].name == "mixed_lm_effect"
    x = np.column_stack([(fixed[f] == lv).astype(float) for f, lv, _ in LEVELS])
    # gtol: statsmodels' default BFGS stops 1e-4 from the optimum the Newton fit reaches (coefficients within 1e-7)
    res = OrderedModel(y.astype(int), x, distr="logit").fit(method="bfgs", disp=False, maxiter=500, gtol=1e-8,
                                                           cov_type="cluster", cov_kwds={"groups": random["case"]})
    z = stats.norm.ppf(0.9)
    # the thresholds: the first one, then each one the exponential of its increment above the one before
    thresholds = np.cumsum(np.r_[res.params[3], np.exp(res.params[4:])])
    assert _close(fit.check.to_dict(), {
        "kind": "ordinal", "model": "OrderedModel, proportional-odds logit, SE clustered by case",
        "formula": "level index ~ persona + care_setting; SE clustered by case", "scale": "log cumulative odds",
        "status": "ok", "reason": None, "detail": "", "n_obs": y.size, "n_obs_total": y.size, "ci_level": 0.8,
        "references": {"persona": "baseline", "care_setting": "emergency"}, "n_levels": {"case": 12, "clinician": 4},
        "effects": [_term("ordered_logit_effect", f, lv, r, res.params[j], res.bse[j], z, "wald_cluster_robust", 0.8,
                          res.pvalues[j], int(np.sum(fixed[f] == lv))) for j, (f, lv, r) in enumerate(LEVELS)],
        "variance_components": [], "dropped": [], "warnings": [], "check": None,
        "extra": {"intercept": None, "thresholds": list(thresholds), "n_clusters": 12},
    }, rel=1e-4, abs_=1e-8)  # exact derivatives here; statsmodels differentiates numerically (SEs within ~1e-5)
    assert mixed_model(y, kind="ordinal", fixed=fixed, random=random, check=False).check is None


@pytest.mark.parametrize(("levels", "unobserved"), [(2, None), (4, None), (5, 2)])
def test_the_ordinal_checks_derivatives_are_those_of_its_likelihood(levels, unobserved):
    from statsmodels.tools.numdiff import approx_fprime, approx_hess

    from agreement.metrics.mixed import ordered_logit

    rng = np.random.default_rng(levels)
    x = rng.integers(0, 2, size=(400, 3)).astype(float)
    y = np.digitize(x @ (0.8, -0.5, 0.3) + rng.logistic(size=400), np.linspace(-1, 1.5, levels - 1))
    if unobserved is not None:  # a level nobody used: the codes skip nothing, the thresholds are one fewer
        keep = y != unobserved
        x, y = x[keep], y[keep]
    model = ordered_logit()(y, x, distr="logit")
    k1 = model.k_levels - 1
    for params in (rng.normal(scale=0.5, size=3 + k1), np.r_[0.8, -0.5, 0.3, np.zeros(k1)]):
        numeric = approx_fprime(params, model.loglikeobs, centered=True)
        assert np.allclose(model.score_obs(params), numeric, rtol=1e-6, atol=1e-7)
        assert np.allclose(model.score(params), numeric.sum(axis=0), rtol=1e-6, atol=1e-6)
        assert np.allclose(model.hessian(params), approx_hess(params, model.loglike), rtol=1e-4, atol=1e-4)
        # tighter: the exact score differentiated once more numerically
        assert np.allclose(model.hessian(params), approx_fprime(params, model.score, centered=True), rtol=1e-6,
                           atol=1e-5)
    assert np.allclose(model.cdf(np.array([-np.inf, -2.0, 0.0, 3.0, np.inf])),
                       stats.logistic.cdf([-np.inf, -2.0, 0.0, 3.0, np.inf]), rtol=1e-15, atol=0)


def test_the_variational_gradient_is_statsmodels_and_that_of_the_elbo():
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    from statsmodels.tools.numdiff import approx_fprime

    rng, fixed_part, random_part, fixed, random = _study(5, n_cases=12, n_raters=5)
    y = (rng.random(fixed_part.size) < 1 / (1 + np.exp(-fixed_part - random_part))).astype(float)
    x = np.column_stack([np.ones(y.size), fixed["persona"] == "doctor", fixed["model"] == "m1"]).astype(float)
    z = sparse.hstack([sparse.csr_matrix(random[k][:, None] == np.unique(random[k])).astype(float)
                       for k in ("case", "clinician")]).tocsc()
    ident = np.r_[np.zeros(12, int), np.ones(5, int)]
    ours, theirs = (cls(y, x, z, ident, fe_p=2.0, vcp_p=1.0) for cls in (mixed.binomial_vb(), BinomialBayesMixedGLM))
    size = 3 + 2 + 17
    for mean, sd in ((rng.normal(size=size), np.exp(rng.normal(-0.5, 0.3, size))), (np.zeros(size), np.ones(size))):
        assert ours.vb_elbo(mean, sd) == pytest.approx(theirs.vb_elbo(mean, sd), rel=1e-12)
        got = ours.vb_elbo_grad(mean, sd)
        for g, expected in zip(got, theirs.vb_elbo_grad(mean, sd), strict=True):
            assert np.allclose(g, expected, rtol=1e-12, atol=1e-12)
        numeric = approx_fprime(np.r_[mean, sd], lambda v: ours.vb_elbo(v[:size], v[size:]), centered=True)
        assert np.allclose(np.r_[got], numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("kind", "model", "scale", "lhs"), [
    ("binary", "BinomialBayesMixedGLM, mean-field variational Bayes", "log-odds (conditional on case and clinician)",
     "logit P(y = 1)"),
    ("ordinal", "linear mixed model (REML, as statsmodels MixedLM), crossed random intercepts",
     "level index (scale points)", "level index"),
    ("score", "linear mixed model (REML, as statsmodels MixedLM), crossed random intercepts", "score units", "score"),
])
def test_refused_fits_are_whole_results(kind, model, scale, lhs):
    _, fixed, random = _small()
    y = np.ones(60)
    y[:5] = np.nan  # leaves case 0 out, and 28 rows of persona a against 27 of b: a is the reference
    base = {"kind": kind, "model": model, "formula": f"{lhs} ~ persona + (1 | case) + (1 | clinician)",
            "scale": scale, "ci_level": 0.8, "effects": [], "variance_components": [], "dropped": [],
            "warnings": [], "check": None, "extra": {}}
    constant = mixed_model(y, kind=kind, fixed=fixed, random=random, confidence=0.8).to_dict()
    assert constant == {**base, "status": "undefined_no_variation", "reason": "no_variation",
                        "detail": "every outcome is 1", "n_obs": 55, "n_obs_total": 60,
                        "references": {"persona": "a"}, "n_levels": {"case": 14, "clinician": 5}}
    fixed["persona"][:] = "a"
    one = mixed_model(y, kind=kind, fixed=fixed, random=random, confidence=0.8).to_dict()
    assert one == {**base, "status": "insufficient_data", "reason": "one_level",
                   "detail": "one persona (a): no persona contrast to estimate", "n_obs": 0, "n_obs_total": 60,
                   "references": {}, "n_levels": {}}


def test_as_many_rows_as_parameters_is_enough_to_try():
    # two fixed effects, two variances and the residual on five rows
    y = np.array([0.1, 1.3, 0.4, 2.0, 0.7])
    fixed = {"persona": np.array(["a", "b", "a", "b", "a"], dtype=object)}
    random = {"case": np.array([0, 0, 1, 1, 2]), "clinician": np.array([0, 1, 0, 1, 1])}
    fit = mixed_model(y, kind="score", fixed=fixed, random=random)
    assert fit.reason != "too_many_parameters" and fit.n_obs == 5
    fewer = mixed_model(y[:4], kind="score", fixed={"persona": fixed["persona"][:4]},
                        random={k: v[:4] for k, v in random.items()})
    assert (fewer.reason, fewer.detail) == ("too_many_parameters", "4 observations for 2 fixed effects")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "poisson"}, "kind must be one of ('binary', 'ordinal', 'score'), not 'poisson'"),
    ({"kind": "ordinal", "y": [0, -1] * 30}, "ordinal outcomes must be level indices 0..K-1 (NaN = missing)"),
    ({"y": [0, 1, 2] * 20}, "binary outcomes must be 0 or 1 (NaN = missing)"),
    ({"random": {"case": np.arange(59)}}, "'case' has 59 values for 60 outcomes"),
    ({"fixed": {}}, "a mixed model needs at least one fixed factor and one random factor"),
    ({"confidence": 0.0}, "confidence must lie strictly between 0 and 1"),
])
def test_input_messages_in_full(kwargs, message):
    _, fixed, random = _small()
    args = {"y": [0, 1] * 30, "kind": "binary", "fixed": fixed, "random": random, **kwargs}
    with pytest.raises(ValueError) as error:
        mixed_model(args.pop("y"), **args)
    assert str(error.value) == message


def test_missing_outcomes_are_allowed_in_every_kind():
    _, fixed, random = _small()
    for kind in ("binary", "ordinal", "score"):
        y = np.tile([0.0, 1.0, np.nan], 20)
        assert mixed_model(y, kind=kind, fixed=fixed, random=random, check=False).n_obs == 40
