"""The report as one JSON-able dict: every coefficient, with the counts it rests on.

All computation is delegated to `agreement.metrics` (pure math) and, for the persona-minus-baseline
intervals, to `scipy.stats.bootstrap`; this module only selects the data each figure is computed on
and labels the result. Every figure carries n used / n total (the metrics' result types do), and
every dimension states how "cannot assess" answers were treated.
"""
from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata

import numpy as np
from scipy import stats

from agreement import metrics
from agreement.data import GROUP_KEYS, DimensionData, StudyData

Progress = Callable[[float, str], None]
SOFTWARE = ("django", "numpy", "scipy", "scikit-learn", "krippendorff", "matplotlib", "celery")
# Score of one rating, used for rankings, order effects and persona effects (stated in the report).
SCORE_ORDINAL = "mean scale point (1 = lowest category)"
SCORE_CATEGORICAL = "share of ratings in the first category ({label})"


def _noop(fraction: float, message: str) -> None:
    return None


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# --- per-item scores ---------------------------------------------------------------------------


def score_description(dim: DimensionData) -> str:
    d = dim.dimension
    return SCORE_ORDINAL if d.is_ordinal else SCORE_CATEGORICAL.format(label=d.label_names[0])


def rating_scores(dim: DimensionData, values: np.ndarray) -> np.ndarray:
    """Category indices -> the score a ranking or a mean is taken over (nan stays nan)."""
    if dim.dimension.is_ordinal:
        return values + 1.0
    return np.where(np.isnan(values), np.nan, (values == 0).astype(float))


def item_means(scores: np.ndarray) -> np.ndarray:
    """Row means over non-missing cells; nan for rows without any (no warning)."""
    counts = np.count_nonzero(~np.isnan(scores), axis=1)
    sums = np.nansum(scores, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


# --- sections ----------------------------------------------------------------------------------


def _counts(dim: DimensionData, mask: np.ndarray | None = None) -> dict:
    ratings = dim.ratings if mask is None else dim.ratings[mask]
    per_item = np.count_nonzero(~np.isnan(ratings), axis=1)
    stored = ~np.isnan(dim.position if mask is None else dim.position[mask])
    cannot = dim.cannot_assess if mask is None else dim.cannot_assess[mask]
    return {
        "items_total": int(ratings.shape[0]),
        "items_rated": int(np.count_nonzero(per_item >= 1)),
        "items_pairable": int(np.count_nonzero(per_item >= 2)),
        "ratings_total": int(np.count_nonzero(stored)),
        "ratings_used": int(per_item.sum()),
        "cannot_assess": int(np.count_nonzero(cannot)),
        "unknown_values": dim.n_unknown if mask is None else None,
        "cannot_assess_rule": _cannot_assess_rule(dim),
    }


def _cannot_assess_rule(dim: DimensionData) -> str:
    if not dim.dimension.allows_cannot_assess:
        return "not offered on this dimension"
    if dim.cannot_assess_mode == "category":
        return f"analysed as its own category ({dim.n_cannot_assess} answers); the scale is treated as nominal"
    return f"excluded ({dim.n_cannot_assess} answers left out as missing)"


def _stored_confidence(dim: DimensionData, mask: np.ndarray | None = None) -> np.ndarray:
    """Confidence of every stored first-presentation rating (cannot-assess ones included)."""
    stored = ~np.isnan(dim.position)
    if mask is not None:
        stored &= mask[:, None]
    return dim.confidence[stored]


class ReportBuilder:
    def __init__(self, data: StudyData, params: dict, progress: Progress | None = None):
        self.data = data
        self.p = params
        self.progress = progress or _noop
        self.boot = {"n_boot": params["n_boot"], "seed": params["seed"], "confidence": params["ci_level"]}
        self.raters = list(data.raters.username)
        levels = list(data.confidence_levels)
        self.min_level = levels.index(params["min_confidence"]) if params["min_confidence"] in levels else None

    # agreement among clinicians -------------------------------------------------------------

    def summary(self, dim: DimensionData, ratings: np.ndarray, *, pairs: bool = True) -> dict:
        """The metrics panel; `pairs=False` keeps the average kappa but not every rater pair (size)."""
        d = dim.dimension
        result = metrics.agreement_summary(
            ratings, labels=d.labels, ordinal=d.is_ordinal, rater_ids=self.raters, **self.boot
        )
        if not pairs and result.pairwise is not None:
            result = replace(result, pairwise=replace(result.pairwise, pairs=()))
        return result.to_dict()

    def pairwise_variants(self, dim: DimensionData) -> dict:
        """Every weighting next to the summary's own (unweighted for nominal, quadratic for ordinal)."""
        if not dim.dimension.is_ordinal:
            return {}
        return {
            weights or "unweighted": metrics.pairwise_cohen_kappa(
                dim.ratings, labels=dim.dimension.labels, weights=weights, rater_ids=self.raters, **self.boot
            ).to_dict()
            for weights in (None, "linear")
        }

    def confidence(self, dim: DimensionData) -> dict:
        levels = self.data.confidence_levels
        out = {
            "has_confidence": dim.dimension.has_confidence,
            "distribution": metrics.confidence_distribution(_stored_confidence(dim), levels=levels).to_dict(),
            "judge_distribution": None,
            "restricted": None,
            "by_threshold": [],
        }
        if self.data.primary_judge is not None:
            judged = dim.judge_confidence[:, self.data.primary_judge]
            judged = judged[~np.isnan(dim.judge[:, self.data.primary_judge]) | ~np.isnan(judged)]
            out["judge_distribution"] = metrics.confidence_distribution(judged, levels=levels).to_dict()
        if not dim.dimension.has_confidence or not levels:
            return out
        for i, level in enumerate(levels):
            masked = metrics.mask_below_confidence(dim.ratings, dim.confidence, i)
            row = self.summary(dim, masked, pairs=False)
            row.update(min_level=level, n_ratings=int(np.count_nonzero(~np.isnan(masked))))
            out["by_threshold"].append(row)
            if i == self.min_level:
                out["restricted"] = row
        return out

    # the judge -------------------------------------------------------------------------------

    def judge_weights(self, dim: DimensionData) -> str | None:
        return "quadratic" if dim.dimension.is_ordinal else None

    def judges(self, dim: DimensionData, mask: np.ndarray | None = None, *, per_rater: bool = True) -> dict:
        out = {}
        ratings = dim.ratings if mask is None else dim.ratings[mask]
        for j, name in enumerate(self.data.judges):
            column = dim.judge[:, j] if mask is None else dim.judge[mask, j]
            agreement = metrics.judge_agreement(
                ratings, column, labels=dim.dimension.labels, weights=self.judge_weights(dim),
                consensus=self.p["consensus"], rater_ids=self.raters, **self.boot,
            )
            result = (agreement if per_rater else replace(agreement, per_rater=())).to_dict()
            result.update(
                judge=name, is_primary=j == self.data.primary_judge,
                n_items_judged=int(np.count_nonzero(~np.isnan(column))),
            )
            out[name] = result
        return out

    def rankings(self, dim: DimensionData) -> dict:
        """Persona rankings by clinicians vs the judge: overall, per task type and per care setting."""
        if self.data.primary_judge is None:
            return {"available": False, "reason": "the study has no judge scores"}
        items = self.data.items
        clin = item_means(rating_scores(dim, dim.ratings))
        judge = rating_scores(dim, dim.judge[:, self.data.primary_judge])

        def rank(mask):
            return metrics.rank_agreement(items.persona[mask], clin[mask], judge[mask], **self.boot).to_dict()

        out = {"available": True, "score": score_description(dim), "overall": rank(np.ones(len(items), bool))}
        for key in ("task_type", "care_setting"):
            out[f"by_{key}"] = {value: rank(m) for value, m in items.groups(key).items()}
        return out

    # other designs ---------------------------------------------------------------------------

    def intra_rater(self, dim: DimensionData) -> dict:
        rt = dim.retest
        result = metrics.intra_rater_agreement(
            [self.raters[r] for r in rt.rater.tolist()], rt.first, rt.second, labels=dim.dimension.labels,
            weights=self.judge_weights(dim), **self.boot,
        ).to_dict()
        result.update(n_pairs_total=rt.n_pairs_total, n_pairs_excluded=rt.n_excluded)
        return result

    def order_effect(self, dim: DimensionData) -> dict:
        rated = ~np.isnan(dim.ratings)
        result = metrics.order_effect(
            dim.position[rated], rating_scores(dim, dim.ratings[rated]), bucket_size=self.p["position_bucket"],
            confidence=self.p["ci_level"],
        ).to_dict()
        result["score"] = score_description(dim)
        return result

    # breakdowns ------------------------------------------------------------------------------

    def breakdowns(self, dim: DimensionData) -> dict:
        items = self.data.items
        clin = item_means(rating_scores(dim, dim.ratings))
        out = {}
        for key in GROUP_KEYS:
            out[key] = {}
            for value, mask in items.groups(key).items():
                scores = clin[mask]
                row = {
                    "counts": _counts(dim, mask),
                    "agreement": self.summary(dim, dim.ratings[mask], pairs=False),
                    "confidence": metrics.confidence_distribution(
                        _stored_confidence(dim, mask), levels=self.data.confidence_levels
                    ).to_dict(),
                    "mean_score": float(np.nanmean(scores)) if np.any(~np.isnan(scores)) else None,
                    "judge": self.judges(dim, mask, per_rater=False),
                }
                out[key][value] = row
        return out

    # persona effects -------------------------------------------------------------------------

    def paired_effect(self, scores: np.ndarray, persona: str, mask: np.ndarray) -> dict | None:
        """Mean per-case difference persona - baseline on the cases both answered, bootstrap over cases."""
        items = self.data.items
        base_mask = mask & items.is_baseline
        pers_mask = mask & (items.persona == persona)
        ok = ~np.isnan(scores)

        def per_case(m):
            m = m & ok
            cases, inverse = np.unique(items.case_id[m], return_inverse=True)
            return dict(zip(cases.tolist(), (np.bincount(inverse, scores[m]) / np.bincount(inverse)).tolist(),
                            strict=True))

        base, pers = per_case(base_mask), per_case(pers_mask)
        common = sorted(set(base) & set(pers))
        if not common:
            return None
        diffs = np.array([pers[c] - base[c] for c in common])
        row = {
            "n_cases": len(common), "persona_mean": float(np.mean([pers[c] for c in common])),
            "baseline_mean": float(np.mean([base[c] for c in common])), "difference": float(diffs.mean()),
            "ci_low": None, "ci_high": None,
        }
        if len(common) >= 2 and self.p["n_boot"] > 0 and np.ptp(diffs) > 0:
            res = stats.bootstrap(
                (diffs,), np.mean, n_resamples=self.p["n_boot"], confidence_level=self.p["ci_level"],
                method="percentile", random_state=np.random.default_rng(self.p["seed"]),
            )
            row.update(ci_low=float(res.confidence_interval.low), ci_high=float(res.confidence_interval.high))
        elif len(common) >= 2:
            row.update(ci_low=row["difference"], ci_high=row["difference"])
        return row

    def persona_effects(self) -> dict:
        items = self.data.items
        baselines = items.baseline_personas()
        if not baselines:
            return {"available": False, "reason": "the study has no no-persona baseline", "rows": []}
        measures = []
        for dim in self.data.dimensions.values():
            label = dim.dimension.label
            measures.append((f"Clinicians: {label}", score_description(dim),
                             item_means(rating_scores(dim, dim.ratings))))
            if self.data.primary_judge is not None:
                measures.append((f"Judge: {label}", score_description(dim),
                                 rating_scores(dim, dim.judge[:, self.data.primary_judge])))
        tri = self.data.triage
        if np.any(~np.isnan(tri.reference)):
            correct = np.where(np.isnan(tri.reference) | ~tri.is_discrete, np.nan,
                               (tri.predicted == tri.reference).astype(float))
            correct[tri.is_discrete & ~np.isnan(tri.reference) & np.isnan(tri.predicted)] = 0.0
            measures.append(("Accuracy (exact)", "share of answers equal to the reference; unparsed = wrong",
                             correct))
        personas = sorted(set(items.persona[~items.is_baseline].tolist()))
        strata = [("all", "all", np.ones(len(items), bool))]
        strata += [("task_type", v, m) for v, m in items.groups("task_type").items()]
        strata += [("care_setting", v, m) for v, m in items.groups("care_setting").items()]
        rows = []
        for measure, score_def, scores in measures:
            for persona in personas:
                for stratum, value, mask in strata:
                    row = self.paired_effect(scores, persona, mask)
                    if row is not None:
                        rows.append({"measure": measure, "score": score_def, "persona": persona,
                                     "stratum": stratum, "value": value, **row})
        return {"available": True, "baseline": ", ".join(baselines), "pairing": "case", "rows": rows}

    # metric-based evaluation -----------------------------------------------------------------

    def evaluation_block(self, mask: np.ndarray) -> dict:
        tri = self.data.triage
        m = mask & tri.is_discrete & ~np.isnan(tri.reference)
        pred, ref = tri.predicted[m], tri.reference[m]
        parsed = ~np.isnan(pred)
        # An unparsed answer counts as wrong for accuracy: an index off the scale by more than the
        # tolerance. Calibration, consistency and triage direction use parsed answers only.
        scored = np.where(parsed, pred, float(len(tri.labels) + 2))
        conf_ok = parsed & ~np.isnan(tri.confidence[m])
        urgent = ref == 0
        level = self.p["ci_level"]
        return {
            "n_answers": int(np.count_nonzero(m)),
            "n_parsed": int(np.count_nonzero(parsed)),
            "accuracy": metrics.accuracy(scored, ref, tolerance=0, confidence=level).to_dict(),
            "accuracy_within_one": metrics.accuracy(scored, ref, tolerance=1, confidence=level).to_dict(),
            "accuracy_parsed_only": metrics.accuracy(pred, ref, tolerance=0, confidence=level).to_dict(),
            "calibration": metrics.calibration(
                tri.confidence[m][conf_ok], (pred[conf_ok] == ref[conf_ok]).astype(float), n_bins=self.p["ece_bins"]
            ).to_dict(),
            "consistency": metrics.consistency_rate(tri.prompt_group[m][parsed], pred[parsed]).to_dict(),
            "triage_rates": metrics.triage_rates(
                pred[parsed], ref[parsed], higher_is_more_urgent=False, confidence=level
            ).to_dict(),
            "risk_sensitivity": metrics.accuracy(scored[urgent], ref[urgent], tolerance=0, confidence=level).to_dict(),
        }

    def evaluation(self) -> dict:
        tri, items = self.data.triage, self.data.items
        if not np.any(tri.is_discrete & ~np.isnan(tri.reference)):
            return {"available": False, "reason": "no discrete-answer responses with a reference answer"}
        numeric = all(label.lstrip("-").isdigit() for label in tri.labels)
        out = {
            "available": True,
            "scale": list(tri.labels),
            "scale_is_numeric": numeric,
            "direction": "level 1 (index 0) is the most urgent; a less urgent answer is under-triage",
            "n_unparseable": tri.n_unparseable,
            "overall": self.evaluation_block(np.ones(len(items), bool)),
            "by_persona": {},
            "by_care_setting": {},
            "by_persona_and_care_setting": {},
        }
        personas, settings = items.groups("persona"), items.groups("care_setting")
        for p, pm in personas.items():
            out["by_persona"][p] = self.evaluation_block(pm)
        for s, sm in settings.items():
            out["by_care_setting"][s] = self.evaluation_block(sm)
            for p, pm in personas.items():
                if np.any(pm & sm & tri.is_discrete):
                    out["by_persona_and_care_setting"].setdefault(p, {})[s] = self.evaluation_block(pm & sm)
        return out

    # preferences -----------------------------------------------------------------------------

    def preferences(self) -> dict:
        prefs = self.data.preferences
        if prefs is None:
            return {"available": False, "reason": "this installation has no side-by-side preference mode"}
        if len(prefs.outcome) == 0:
            return {"available": False, "reason": "no side-by-side preferences submitted for this study",
                    "n_no_preference": prefs.n_no_preference}
        out = {"available": True, "ties": "half a win for each side", "n_no_preference": prefs.n_no_preference,
               "sources": {}, "vs_judge_scores": {}}
        for source in sorted(set(prefs.source.tolist())):
            m = prefs.source == source
            out["sources"][source] = metrics.bradley_terry(
                prefs.persona_a[m], prefs.persona_b[m], prefs.outcome[m], ties="half", **self.boot
            ).to_dict()
        # The clinicians' preference ranking against the judge's pointwise one, per dimension.
        clinician = out["sources"].get("clinician")
        if clinician and clinician["status"] == metrics.STATUS_OK and self.data.primary_judge is not None:
            strength = {r["name"]: r["theta"] for r in clinician["ratings"]}
            for key, dim in self.data.dimensions.items():
                judge = rating_scores(dim, dim.judge[:, self.data.primary_judge])
                means = {p: judge[m & ~np.isnan(judge)].mean() for p, m in self.data.items.groups("persona").items()
                         if p in strength and np.any(m & ~np.isnan(judge))}
                common = sorted(means)
                if len(common) >= 2:
                    a, b = [strength[c] for c in common], [means[c] for c in common]
                    out["vs_judge_scores"][key] = {
                        "personas": common, "judge_score": score_description(dim),
                        "kendall_tau_b": _finite(stats.kendalltau(a, b).statistic),
                        "spearman": _finite(stats.spearmanr(a, b).statistic),
                    }
        return out

    # the whole report ------------------------------------------------------------------------

    def dimension(self, dim: DimensionData, step: Callable[[str], None]) -> dict:
        d = dim.dimension
        out = {
            "key": d.key, "label": d.label, "kind": d.kind, "labels": list(d.labels),
            "label_names": list(d.label_names), "counts": _counts(dim),
        }
        step(f"{d.label}: agreement")
        out["agreement"] = self.summary(dim, dim.ratings)
        out["pairwise_variants"] = self.pairwise_variants(dim)
        step(f"{d.label}: confidence")
        out["confidence"] = self.confidence(dim)
        step(f"{d.label}: judge")
        out["judges"] = self.judges(dim)
        out["rankings"] = self.rankings(dim)
        step(f"{d.label}: test-retest and order")
        out["intra_rater"] = self.intra_rater(dim)
        out["order_effect"] = self.order_effect(dim)
        step(f"{d.label}: breakdowns")
        out["breakdowns"] = self.breakdowns(dim)
        return out

    def build(self) -> dict:
        dims = list(self.data.dimensions.values())
        total = 5 * len(dims) + 3
        done = [0]

        def step(message):
            self.progress(min(done[0] / total, 0.99), message)
            done[0] += 1

        report = {"meta": meta(self.data, self.p), "dimensions": {}}
        for dim in dims:
            report["dimensions"][dim.dimension.key] = self.dimension(dim, step)
        step("persona effects")
        report["persona_effects"] = self.persona_effects()
        step("metric-based evaluation")
        report["evaluation"] = self.evaluation()
        step("preferences")
        report["preferences"] = self.preferences()
        report["meta"]["methods"] = methods_paragraph(report)
        return report


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
    rules += [
        "Coefficients are computed on the declared scale of each dimension, not only the observed categories.",
        f"Restricted agreement keeps ratings made with confidence '{params['min_confidence']}' or higher.",
        f"The clinicians' consensus for judge comparisons is the per-item {params['consensus']}.",
        "Persona effects are per-case differences persona minus no-persona baseline, averaged over cases "
        "answered under both.",
        "Metric-based evaluation uses discrete-answer responses with a reference; unparsed answers count as "
        "wrong for accuracy and are left out of calibration, consistency and triage direction.",
    ]
    return rules


def meta(data: StudyData, params: dict) -> dict:
    return {
        "study": {"id": data.study_id, "name": data.study_name},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_snapshot_sha256": data.snapshot_hash,
        "parameters": params,
        "software": software_versions(),
        "counts": {**data.counts, "judges": list(data.judges)},
        "confidence_levels": list(data.confidence_levels),
        "raters": list(data.raters.username),
        "inclusion_rules": inclusion_rules(data, params),
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def methods_paragraph(report: dict) -> str:
    m = report["meta"]
    p, counts, sw = m["parameters"], m["counts"], m["software"]
    parts = [
        f"Agreement was computed on {counts['ratings']} submitted clinician ratings of {counts['responses']} "
        f"responses by {counts['raters']} clinicians (data snapshot sha256 {m['data_snapshot_sha256'][:16]}).",
        "For each rating dimension we report Cohen's kappa for every pair of clinicians on the items both rated "
        "(unweighted for categorical scales; linear and quadratic weights for ordinal scales, on the declared "
        "scale) and its unweighted mean over pairs, Fleiss' kappa generalised to varying numbers of raters per "
        "item, Krippendorff's alpha (nominal, and ordinal and interval for ordinal scales; krippendorff "
        f"{sw.get('krippendorff')}), Gwet's AC1/AC2, the Brennan-Prediger coefficient (PABAK) and raw percent "
        "agreement.",
        f"{int(p['ci_level'] * 100)}% confidence intervals are item-level bootstrap percentile intervals with "
        f"{p['n_boot']} resamples (seed {p['seed']}).",
        '"Cannot assess" answers were ' + ("excluded." if p["cannot_assess"] == "exclude" else
                                           "analysed as a separate nominal category."),
        "The LLM judge was compared with each clinician and with the clinicians' per-item "
        f"{p['consensus']} by Cohen's kappa (quadratic weights for ordinal scales), and persona rankings by "
        "clinicians and by the judge with Kendall's tau-b and Spearman's rho (bootstrap intervals over items).",
    ]
    for dim in report["dimensions"].values():
        avg = ((dim["agreement"].get("pairwise") or {}).get("average") or {}).get("value")
        dist = dim["confidence"]["distribution"]
        low = m["confidence_levels"][0] if m["confidence_levels"] else None
        share = (dist.get("proportions") or {}).get(low) if low else None
        text = f"{dim['label']}: average pairwise kappa {_fmt(avg)}"
        if share is not None:
            text += f"; {share * 100:.1f}% of ratings made with {low} confidence ({dist['counts'][low]}/{dist['n']})"
        parts.append(text + ".")
    parts.append(
        f"Computed with Persona Paradox Lab (Python {sw['python']}, NumPy {sw['numpy']}, SciPy {sw['scipy']}, "
        f"scikit-learn {sw['scikit-learn']})."
    )
    return " ".join(parts)


def build_report(data: StudyData, params: dict, progress: Progress | None = None) -> dict:
    return ReportBuilder(data, params, progress).build()
