"""Persona-effect models: persona (or style), care setting and model as fixed effects; cases, clinicians
and, where a response is rated more than once, responses as random effects (``agreement.metrics.mixed``).

The paired persona effects (``effects.py``) compare each response with its baseline twin; these models
estimate all the factors at once and say how much of the variation lies with the cases, the
clinicians and the single responses. Measures, one model each:

* clinicians' ratings of each dimension, one row per rating: ordinal dimensions on the level index
  (``"ordinal"``: linear mixed model, proportional-odds check), categorical ones as "rated <first
  level>" (``"binary"``: logistic GLMM, GEE check). Random: case, clinician and response (ratings of
  one response share that response's own quality; leaving it out would count them as independent);
* the study judge's score of each dimension, one row per response (``"score"``, or ``"binary"`` for a
  categorical dimension). Random: case;
* accuracy of the discrete answers against the case's reference (unparsed = wrong, as in the
  evaluation), one row per response (``"binary"``). Random: case.

Persona and style cannot enter one model: each persona has one style, so every style contrast is a sum
of persona contrasts. The persona model is fitted, then the style model (style in place of persona)
where styles group several personas. The baseline responses form one level, the reference, in both.
Care setting and model are measured against their most frequent level.

Size (``benchmarks/mixed_models.py``'s studies, 2 shared cores at load 3, a random effect per response):
20,000 ratings took 0.25 s for the ordinal model with its check and 1.3 s for the logistic one; 50,000
ratings 0.8-1.3 s and 4-6 s. Under ``mixed_models="auto"`` (the default) a model is fitted when it has at most
``AUTO_MAX_ROWS`` rows and is otherwise listed as skipped with the reason; ``"on"`` fits every
model, ``"off"`` none.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from agreement.data import BASELINE_KIND, DimensionData
from agreement.metrics.mixed import CI_LABELS, MixedModelFit, mixed_model

from .scores import rating_scores

AUTO_MAX_ROWS = 20_000
FIXED = ("care_setting", "model")


def _columns(data, spec: str) -> dict[str, np.ndarray]:
    items = data.items
    first = np.where(items.is_baseline, BASELINE_KIND, items.persona if spec == "persona" else items.style)
    return {spec: first.astype(object), **{key: items.key(key) for key in FIXED}}


def _specs(data) -> tuple[list[str], str]:
    """The factor each model is about: persona, and style where styles group several personas."""
    items = data.items
    personas = set(items.persona[~items.is_baseline].tolist())
    styles = set(items.style[~items.is_baseline].tolist())
    if len(styles) < len(personas):
        return ["persona", "style"], ""
    return ["persona"], "each persona has its own style, so a style model would repeat the persona model"


def _rating_rows(dim: DimensionData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    item, rater = np.nonzero(~np.isnan(dim.ratings))
    return item, rater, dim.ratings[item, rater]


def _first_level(dim: DimensionData, values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.nan, (values == 0).astype(float))


def _measures(data) -> list[dict]:
    """Every outcome a model is fitted to: its rows (item index per row), kind and random factors."""
    out = []
    for dim in data.dimensions.values():
        d = dim.dimension
        item, rater, values = _rating_rows(dim)
        ordinal = d.is_ordinal
        outcome = (f"level index (0 = {d.label_names[0]} ... {len(d.labels) - 1} = {d.label_names[-1]})" if ordinal
                   else f"rated {d.label_names[0]} (1) or not (0)")
        random = {"case": data.items.case_id[item], "clinician": data.raters.username[rater]}
        if np.any(np.bincount(item) >= 2):
            random["response"] = item
        out.append({"measure": f"Clinicians: {d.label}", "outcome": outcome, "kind": "ordinal" if ordinal else "binary",
                    "item": item, "y": values if ordinal else _first_level(dim, values), "random": random})
        if data.primary_judge is not None:
            judge = dim.judge[:, data.primary_judge]
            rows = np.arange(len(judge))
            out.append({"measure": f"Judge: {d.label}",
                        "outcome": (f"scale point (1 = {d.label_names[0]} ... {len(d.labels)} = {d.label_names[-1]})"
                                    if ordinal else outcome),
                        "kind": "score" if ordinal else "binary", "item": rows,
                        "y": rating_scores(dim, judge) if ordinal else _first_level(dim, judge),
                        "random": {"case": data.items.case_id}})
    tri = data.triage
    if tri.scale is not None and np.any(~np.isnan(tri.reference)):
        answered = tri.is_discrete & ~np.isnan(tri.reference)
        out.append({"measure": "Accuracy (exact)", "outcome": "answer equal to the reference (1); unparsed = wrong",
                    "kind": "binary", "item": np.arange(len(answered)),
                    "y": np.where(answered, (tri.predicted == tri.reference).astype(float), np.nan),
                    "random": {"case": data.items.case_id}})
    return out


def _flatten(fit: dict) -> dict:
    """The check's coefficients beside the main ones, matched by term (one table per model)."""
    check = fit.pop("check")
    by_term = {(e["factor"], e["level"]): e for e in (check or {}).pop("effects", [])}
    for effect in [*fit["effects"], *by_term.values()]:
        effect["ci_label"] = CI_LABELS[effect["ci_method"]]
    for effect in fit["effects"]:
        effect["check"] = by_term.get((effect["factor"], effect["level"]))
    fit["check"] = check
    return fit


def _skipped(measure: dict, spec: str, n_rows: int, reason: str) -> dict:
    return {"measure": measure["measure"], "outcome": measure["outcome"], "spec": spec, "status": "skipped",
            "detail": reason, "n_obs": n_rows, "effects": [], "variance_components": [], "check": None}


def _fit(builder, measure: dict, spec: str, start: dict[str, float]) -> tuple[MixedModelFit | None, dict]:
    """The fitted model (None when skipped) and its entry in the section."""
    p = builder.p
    n_rows = int(np.count_nonzero(~np.isnan(measure["y"])))
    if p["mixed_models"] == "auto" and n_rows > AUTO_MAX_ROWS:
        return None, _skipped(measure, spec, n_rows, f"{n_rows} observations, above the {AUTO_MAX_ROWS} fitted "
                              "under mixed_models = auto (set it to on to fit this model)")
    columns = _columns(builder.data, spec)
    fit = mixed_model(
        measure["y"], kind=measure["kind"], fixed={k: v[measure["item"]] for k, v in columns.items()},
        random=measure["random"], reference={spec: BASELINE_KIND}, confidence=p["ci_level"], seed=p["seed"],
        start=start,
    )
    return fit, {"measure": measure["measure"], "outcome": measure["outcome"], "spec": spec,
                 **_flatten(fit.to_dict())}


def _fits(builder, measure: dict, specs: list[str]) -> list[dict]:
    """The measure's models in `specs` order. A style model differs from the persona model only in coding the
    personas by their styles, so its REML search starts from the persona model's variance ratios (6-11
    evaluations instead of about 24, to the same optimum within the search's tolerance)."""
    out, start = [], {}
    for spec in specs:
        fit, entry = _fit(builder, measure, spec, start)
        start = fit.variance_ratios() if fit is not None and fit.ok else {}
        out.append(entry)
    return out


def persona_models_plan(builder) -> tuple[dict, list[Callable[[], list[dict]]]]:
    """The section but its ``models``, and the fits of each measure (its models, in the section's order): the
    report computes them as sections of their own (side by side where it runs several processes)."""
    mode = builder.p["mixed_models"]
    if mode == "off":
        return {"available": False, "reason": "not fitted (report parameter mixed_models = off)"}, []
    data = builder.data
    if len(set(data.items.persona.tolist())) < 2:
        return {"available": False, "reason": "the study has one persona: no persona effect to model"}, []
    specs, note = _specs(data)
    baselines = data.items.baseline_personas()
    head = {
        "available": True, "mode": mode, "auto_max_rows": AUTO_MAX_ROWS,
        "reference": f"{BASELINE_KIND}: {', '.join(baselines)}" if baselines else
        "the most frequent persona (the study has no no-persona baseline)",
        "style_note": note,
    }
    return head, [functools.partial(_fits, builder, measure, specs) for measure in _measures(data)]


def methods_sentence(report: dict) -> list[str]:
    """The methods paragraph's sentence on these models (none when the section is off or empty)."""
    section = report.get("persona_models") or {}
    if not section.get("available"):
        return []
    return [
        "Persona-effect models (statsmodels) took persona (or style), care setting and model as fixed effects in "
        "treatment coding against the no-persona baseline and the most frequent level, with crossed random "
        "intercepts for case and clinician (and response, for ratings): a REML linear mixed model of the level "
        "index for ordinal ratings (a linear approximation, checked by a proportional-odds model with SEs "
        "clustered by case) and of judge scores, and a logistic mixed model fitted by variational Bayes for "
        "binary outcomes (checked by GEE with an exchangeable correlation within case); variance components "
        "are given with their shares of the total, on the latent logistic scale (residual pi^2/3) for binary "
        f"outcomes; models above {section['auto_max_rows']} observations are fitted only on request."
    ]
