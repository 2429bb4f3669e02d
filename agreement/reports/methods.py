"""The report's meta block, inclusion rules and methods paragraph, each interval named by its real method.

The methods text is written from the report itself: every coefficient carries its ``ci_method`` and
the paragraph lists, per method, the figures whose intervals were computed that way, so the text
cannot claim one method for an interval computed by another.
"""
from __future__ import annotations

import functools
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata

from agreement.data import StudyData

from .persona_models import methods_sentence

SOFTWARE = ("django", "numpy", "scipy", "scikit-learn", "krippendorff", "statsmodels", "celery")

INTERVAL_METHODS = {
    "bootstrap_percentile": "item bootstrap percentile interval ({n_boot} resamples of the items, seed {seed})",
    "jackknife_normal": "normal interval around the delete-one-item jackknife standard error",
    "wald": "Wald interval (Fleiss-Cohen-Everitt standard error)",
    "wilson": "Wilson score interval",
    "t": "t interval (mean +/- t standard error)",
    "f": "exact F-based interval (Shrout & Fleiss 1979)",
    "f_satterthwaite": "F-based interval with Satterthwaite degrees of freedom (McGraw & Wong 1996)",
    "case_cluster_bootstrap_percentile": "case-clustered bootstrap percentile interval ({n_boot} resamples of the "
                                         "cases, each with all its responses, seed {seed})",
    "case_cluster_bootstrap_bias_shifted": "case-clustered bootstrap percentile interval shifted by the bootstrap "
                                           "bias estimate, floored at 0 ({n_boot} resamples of the cases, seed "
                                           "{seed})",
    "two_way_bootstrap_percentile": "two-way bootstrap percentile interval ({n_boot} resamples of items and, "
                                    "independently, of raters, seed {seed})",
    "wald_model_se": "Wald interval, estimate +/- z model-based standard error (REML linear mixed model)",
    "wald_cluster_robust": "Wald interval with cluster-robust (sandwich) standard errors, clustered by case",
    "vb_laplace": "variational Bayes posterior mean +/- z SD of the Laplace approximation at that fit, given the "
                  "variance components (a credible interval)",
}
# Figure names as they appear in the methods text (the coefficients' `name`, weights suffix removed).
FIGURE_NAMES = {
    "average_cohen_kappa": "average pairwise Cohen's kappa (Light)",
    "n_weighted_average_cohen_kappa": "n-weighted average pairwise kappa",
    "judge_average_cohen_kappa": "judge's average kappa against each clinician",
    "judge_vs_consensus_kappa": "judge vs consensus kappa",
    "cohen_kappa": "per-pair Cohen's kappa",
    "test_retest_kappa": "test-retest kappa",
    "persona_minus_baseline": "persona minus baseline differences",
    "style_by_model_interaction": "style-by-model interactions",
    "expected_calibration_error": "expected calibration error",
    "ece_difference": "ECE difference persona minus baseline",
    "percent_agreement": "percent agreement",
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2": "Gwet's AC2",
    "brennan_prediger": "Brennan-Prediger (PABAK)",
    "conger_kappa": "Conger's kappa",
    "krippendorff_alpha_nominal": "Krippendorff's alpha (nominal)",
    "krippendorff_alpha_ordinal": "Krippendorff's alpha (ordinal)",
    "krippendorff_alpha_interval": "Krippendorff's alpha (interval)",
    "krippendorff_alpha_ratio": "Krippendorff's alpha (ratio)",
    "kendall_tau_b": "Kendall's tau-b of persona rankings",
    "spearman_rho": "Spearman's rho of persona rankings",
    "slope_per_position": "order-effect slope",
    "judge_vs_loo_consensus_kappa": "judge vs leave-one-out consensus kappa",
    "clinician_vs_loo_consensus_kappa": "clinician vs leave-one-out consensus kappa",
    "judge_minus_clinician_kappa": "judge minus clinician (leave-one-out)",
    "judge_vs_loo_consensus_kappa_average": "judge vs leave-one-out consensus, mean over clinicians",
    "clinician_vs_loo_consensus_kappa_average": "clinicians vs leave-one-out consensus, mean",
    "judge_minus_clinician_kappa_average": "judge minus clinician (leave-one-out), mean",
    "accuracy": "accuracy",
    "under_triage_rate": "under-triage",
    "over_triage_rate": "over-triage",
    "exact_triage_rate": "exact triage",
    "risk_propensity": "risk propensity",
    "mixed_lm_effect": "persona-model effects (linear mixed model)",
    "binomial_vb_effect": "persona-model effects (logistic mixed model)",
    "gee_effect": "persona-model checks (GEE)",
    "ordered_logit_effect": "persona-model checks (proportional odds)",
}
# Where a figure is recomputed without a bootstrap, the methods text says so beside its name.
SECTION_NOTES = {"breakdowns": " (breakdowns)", "by_threshold": " (by confidence threshold)"}


def software_versions() -> dict[str, str]:
    """The versions this process computes with (a copy: the caller may change it)."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    """Read once per process (12 ms of package metadata a report otherwise): installing other versions takes
    restarting the process that imported these anyway."""
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _base_name(name: str) -> str:
    for suffix in ("_quadratic", "_linear"):
        name = name.removesuffix(suffix)
    return name


def _figure(node: dict, note: str) -> str:
    name = _base_name(str(node["name"]))
    form = (node.get("extra") or {}).get("form")
    return (form or FIGURE_NAMES.get(name, name.replace("_", " "))) + note


def interval_figures(node, path: tuple = ()) -> dict[str, set[str]]:
    """{ci_method: figure names} of the coefficients with an interval in `node`, the part of a report found
    under the keys `path` (a figure under "breakdowns" or "by_threshold" is named as such)."""
    found: dict[str, set[str]] = {}

    def walk(node, note):  # only dicts and lists are entered: most values are leaves
        if isinstance(node, dict):
            method = node.get("ci_method")
            if method and node.get("name") and node.get("ci_low") is not None:
                found.setdefault(method, set()).add(_figure(node, note))
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    walk(value, SECTION_NOTES.get(key, note))
        else:
            for value in node:
                if isinstance(value, (dict, list)):
                    walk(value, note)

    note = ""
    for key in path:
        note = SECTION_NOTES.get(key, note)
    if isinstance(node, (dict, list)):
        walk(node, note)
    return found


def interval_methods(found: Iterable[dict[str, set[str]]]) -> dict[str, list[str]]:
    """{ci_method: sorted figure names} over every coefficient with an interval, from what ``interval_figures``
    found in the report's parts."""
    merged: dict[str, set[str]] = {}
    for part in found:
        for method, names in part.items():
            merged.setdefault(method, set()).update(names)
    return {method: sorted(names) for method, names in sorted(merged.items())}


def inclusion_rules(data: StudyData, params: dict) -> list[str]:
    rules = [
        "Only ratings of submitted assignments are included; drafts and withdrawn assignments are not.",
        "Items are responses. Inter-rater figures use each clinician's first rating of an item; test-retest "
        "repeats enter only the intra-rater analysis.",
    ]
    if params["cannot_assess"] == "exclude":
        rules.append('"Cannot assess" answers are excluded (treated as missing) and counted per dimension.')
    else:
        rules.append('"Cannot assess" is analysed as its own category; those dimensions are treated as nominal.')
    scale = data.triage.scale
    rules += [
        "Coefficients are computed on the declared scale of each dimension, not only the observed categories.",
        "Triage answers and references are read on the case sets' declared triage scale ("
        + (f"{scale.name}: {', '.join(scale.label_names)}" if scale else "case sets disagree: not compared")
        + "); values off that scale are missing and counted.",
        f"Restricted agreement keeps ratings made with confidence '{params['min_confidence']}' or higher.",
        f"The clinicians' consensus for judge comparisons is the per-item {params['consensus']}; tied items "
        f"follow the rule '{params['consensus_tie']}' and are counted.",
        "Persona rankings of clinicians and judge use only responses scored by both.",
        "Persona effects pair each response with the baseline response to the same case, model and sample; "
        "differences are averaged per case, then over cases.",
        "Metric-based evaluation uses discrete-answer responses with a reference; unparsed answers count as "
        "wrong for accuracy and are left out of calibration, consistency and triage direction.",
    ]
    return rules


def meta(data: StudyData, params: dict) -> dict:
    return {
        "study": {"id": data.study_id, "name": data.study_name, "description": data.study_description},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_snapshot_sha256": data.snapshot_hash,
        "parameters": params,
        "software": software_versions(),
        "counts": {**data.counts, "judges": list(data.judges)},
        "confidence_levels": list(data.confidence_levels),
        "raters": list(data.raters.username),
        "inclusion_rules": inclusion_rules(data, params),
    }


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _interval_text(report: dict, found: Iterable[dict[str, set[str]]]) -> list[str]:
    p = report["meta"]["parameters"]
    out = []
    for method, names in interval_methods(found).items():
        label = INTERVAL_METHODS.get(method, method).format(n_boot=p["n_boot"], seed=p["seed"])
        out.append(f"{label}: {', '.join(names)}.")
    ruled_out = report["meta"].get("bootstrap_ruled_out_by_size") or []
    if ruled_out:  # a large study: those item bootstraps would each have taken seconds
        out.append(f"At this study's size these figures carry the analytic interval named above instead of "
                   f"{p['n_boot']} item resamples: {'; '.join(ruled_out)}.")
    return out


def methods_paragraph(report: dict, found: Iterable[dict[str, set[str]]]) -> str:
    """The methods text of `report`; `found`: ``interval_figures`` of all its parts but the meta (the report
    builder gets them from the processes that computed the sections)."""
    m = report["meta"]
    p, counts, sw = m["parameters"], m["counts"], m["software"]
    level = f"{int(round(p['ci_level'] * 100))}%"
    parts = [
        f"Agreement was computed on {counts['ratings']} submitted clinician ratings of {counts['responses']} "
        f"responses by {counts['raters']} clinicians (data snapshot sha256 {m['data_snapshot_sha256'][:16]}).",
        "For each rating dimension we report Cohen's kappa for every pair of clinicians on the items both rated "
        "(unweighted for categorical scales; quadratic, and linear, weights for ordinal scales, on the declared "
        "scale), its unweighted mean over pairs (Light's kappa) and its mean weighted by co-rated items, Fleiss' "
        "kappa generalised to varying numbers of raters per item, Conger's kappa, Krippendorff's alpha (nominal, "
        "and ordinal, interval and, for numeric levels, ratio for ordinal scales; krippendorff "
        f"{sw.get('krippendorff')}), Gwet's AC1/AC2, the Brennan-Prediger coefficient (PABAK), raw percent "
        "agreement and, for ordinal scales with numeric levels, intraclass correlations (Shrout & Fleiss; "
        "one-way forms only when raters differ between items).",
        "The LLM judge was compared with each clinician by Cohen's kappa (quadratic weights for ordinal scales) "
        "and the mean over clinicians set beside the clinicians' own average pairwise kappa; then with the "
        f"per-item {p['consensus']} of the other clinicians, leaving each clinician out in turn, beside that "
        f"clinician's kappa with the same consensus (tie rule '{p['consensus_tie']}', tied items counted).",
        "Persona rankings by clinicians and by the judge were compared on the responses both scored, with "
        "Kendall's tau-b (exact permutation p-value for up to eight personas), Spearman's rho and rank-biased "
        f"overlap (p = {p['rbo_p']}). Persona effects are paired on case, model and sample, averaged per case; "
        "p-values are sign-flip permutation tests over cases, adjusted by "
        + ("Holm's method" if p["multiplicity"] == "holm" else "the Benjamini-Hochberg procedure")
        + " within each family (one measure in one stratum kind).",
        *methods_sentence(report),
        f"{level} confidence intervals, by method:",
        *_interval_text(report, found),
        "Bradley-Terry preference ratings: percentile intervals resampling comparisons.",
        '"Cannot assess" answers were ' + ("excluded." if p["cannot_assess"] == "exclude" else
                                           "analysed as a separate nominal category."),
    ]
    for dim in report["dimensions"].values():
        avg = ((dim["agreement"].get("pairwise") or {}).get("average") or {}).get("value")
        dist = dim["confidence"]["distribution"]
        low = m["confidence_levels"][0] if m["confidence_levels"] else None
        share = (dist.get("proportions") or {}).get(low) if low else None
        text = f"{dim['label']}: average pairwise kappa {_fmt(avg)}"
        primary = next((j for j in dim["judges"].values() if j["is_primary"]), None)
        if primary:
            text += (f"; judge vs each clinician {_fmt(primary['per_rater_average']['value'])} "
                     f"(clinicians with each other {_fmt((primary['clinicians_average'] or {}).get('value'))})")
        if share is not None:
            text += f"; {share * 100:.1f}% of ratings made with {low} confidence ({dist['counts'][low]}/{dist['n']})"
        parts.append(text + ".")
    parts.append(
        f"Computed with Persona Paradox Lab (Python {sw['python']}, NumPy {sw['numpy']}, SciPy {sw['scipy']}, "
        f"scikit-learn {sw['scikit-learn']})."
    )
    return " ".join(parts)
