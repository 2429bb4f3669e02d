"""The report as one JSON-able dict: every coefficient, with the counts it rests on.

All computation is delegated to `agreement.metrics` (pure math); this module and its sections
(judging, rankings, effects, evaluation, coefficients, methods) only select the data each figure is
computed on and label the result, interval method included. Every figure carries n used / n total
(the metrics' result types do), and every dimension states how "cannot assess" answers were treated.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from agreement import metrics
from agreement.data import GROUP_KEYS, DimensionData, StudyData

from .coefficients import extra_coefficients
from .effects import effects_section
from .evaluation import evaluation_section
from .forked import run_forked
from .judging import judge_section, judge_weights, judges_among_themselves
from .methods import interval_figures, meta, methods_paragraph
from .pairwise_judge import pairwise_judge_section
from .persona_models import persona_models_plan
from .preregistration import preregistration_section
from .rankings import rankings_section
from .scores import item_means, rating_scores, score_description

Progress = Callable[[float, str], None]
# A dimension's breakdowns in two sections, each about half of its time (two processes or more end closer
# together): the groups by persona, and the rest. Groups of one section that hold the same items (the baseline
# under persona, persona kind, role and style) are computed once.
BREAKDOWN_SECTIONS = (("persona", ("persona", "persona_kind", "role", "style")),
                      ("model and case", ("model", "task_type", "care_setting", "metadata")))
# Items x resamples of one item bootstrap beyond the study's own agreement panel (per-threshold panels,
# Conger's kappa): larger ones take seconds each, and those figures then carry their analytic interval.
RESAMPLED_CELLS_MAX = 25_000_000


def _noop(fraction: float, message: str) -> None:
    return None


# --- sections ----------------------------------------------------------------------------------


def _per_item(dim: DimensionData) -> dict[str, np.ndarray]:
    """Per item: ratings used, first-presentation ratings stored, "cannot assess" answers; and per stored
    rating its item and confidence (computed once per dimension; a subset of items selects from them)."""
    stored = ~np.isnan(dim.position)
    return {"used": np.count_nonzero(~np.isnan(dim.ratings), axis=1), "stored": np.count_nonzero(stored, axis=1),
            "cannot": np.count_nonzero(dim.cannot_assess, axis=1), "stored_item": np.nonzero(stored)[0],
            "stored_confidence": dim.confidence[stored]}


def _counts(dim: DimensionData, per_item: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict:
    used, stored, cannot = (per_item[k] if mask is None else per_item[k][mask] for k in ("used", "stored", "cannot"))
    return {
        "items_total": int(used.size),
        "items_rated": int(np.count_nonzero(used >= 1)),
        "items_pairable": int(np.count_nonzero(used >= 2)),
        "ratings_total": int(stored.sum()),
        "ratings_used": int(used.sum()),
        "cannot_assess": int(cannot.sum()),
        "unknown_values": dim.n_unknown if mask is None else None,
        "cannot_assess_rule": _cannot_assess_rule(dim),
    }


def _cannot_assess_rule(dim: DimensionData) -> str:
    if not dim.dimension.allows_cannot_assess:
        return "not offered on this dimension"
    if dim.cannot_assess_mode == "category":
        return f"analysed as its own category ({dim.n_cannot_assess} answers); the scale is treated as nominal"
    return f"excluded ({dim.n_cannot_assess} answers left out as missing)"


def _stored_confidence(per_item: dict[str, np.ndarray], mask: np.ndarray | None = None) -> np.ndarray:
    """Confidence of every stored first-presentation rating (cannot-assess ones included)."""
    values = per_item["stored_confidence"]
    return values if mask is None else values[mask[per_item["stored_item"]]]


class ReportBuilder:
    def __init__(self, data: StudyData, params: dict, progress: Progress | None = None):
        self.data = data
        self.p = params
        self.progress = progress or _noop
        self.boot = {"n_boot": params["n_boot"], "seed": params["seed"], "confidence": params["ci_level"]}
        self.raters = list(data.raters.username)
        levels = list(data.confidence_levels)
        self.min_level = levels.index(params["min_confidence"]) if params["min_confidence"] in levels else None
        self.scaled: list[str] = []  # figures whose item bootstrap the study's size ruled out
        self._summaries: dict[tuple, metrics.AgreementSummary] = {}  # whole-matrix panels by (dimension, bootstrap)

    def item_boot(self, n_items: int, figure: str) -> dict:
        """Bootstrap options for a secondary figure over `n_items` items; none beyond RESAMPLED_CELLS_MAX
        items x resamples (the figure keeps its analytic interval, and the methods text names it)."""
        if n_items * self.p["n_boot"] <= RESAMPLED_CELLS_MAX:
            return self.boot
        self.scaled.append(figure)
        return {**self.boot, "n_boot": 0}

    # agreement among clinicians -------------------------------------------------------------

    def summary(self, dim: DimensionData, ratings: np.ndarray, *, pairs: bool = True, boot: bool = True) -> dict:
        """The metrics panel; `pairs=False` keeps the average kappa but not every rater pair (size);
        `boot=False` (breakdowns) gives the analytic intervals, each named by its method. The panel of the
        whole matrix (``dim.ratings`` itself) is kept: a confidence threshold that keeps every rating shows it
        (computed again where the thresholds' section runs in another process than the panels)."""
        d = dim.dimension
        whole = ratings is dim.ratings
        result = self._summaries.get((d.key, boot)) if whole else None
        if result is None or (pairs and not result.pairwise.pairs):
            result = metrics.agreement_summary(
                ratings, labels=d.labels, ordinal=d.is_ordinal, rater_ids=self.raters, pairs=pairs,
                **(self.boot if boot else {**self.boot, "n_boot": 0}),
            )
            if whole:
                self._summaries[d.key, boot] = result
        if not pairs and result.pairwise.pairs:
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

    def confidence(self, dim: DimensionData, per_item: dict[str, np.ndarray]) -> dict:
        levels = self.data.confidence_levels
        out = {
            "has_confidence": dim.dimension.has_confidence,
            "distribution": metrics.confidence_distribution(_stored_confidence(per_item), levels=levels).to_dict(),
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
        # A threshold only removes ratings, so one keeping as many as the whole matrix (or as the threshold
        # before) keeps the same ones, and its panel is the one computed for those.
        whole = int(np.count_nonzero(~np.isnan(dim.ratings)))
        before = None  # (ratings kept, bootstrap, row) of the threshold before
        for i, level in enumerate(levels):
            masked = metrics.mask_below_confidence(dim.ratings, dim.confidence, i)
            rated = int(np.count_nonzero((~np.isnan(masked)).any(axis=1)))
            boot = self.item_boot(rated, f"{dim.dimension.label}: agreement by confidence threshold")["n_boot"] > 0
            n_ratings = int(np.count_nonzero(~np.isnan(masked)))
            if before is not None and before[:2] == (n_ratings, boot):
                row = copy.deepcopy(before[2])
            else:
                row = self.summary(dim, dim.ratings if n_ratings == whole else masked, pairs=False, boot=boot)
            before = (n_ratings, boot, row)
            row.update(min_level=level, n_ratings=n_ratings)
            out["by_threshold"].append(row)
            if i == self.min_level:
                out["restricted"] = row
        return out

    # the judge -------------------------------------------------------------------------------

    def judges(self, dim: DimensionData, mask: np.ndarray | None = None, *, per_rater: bool = True) -> dict:
        return judge_section(self, dim, mask, full=per_rater)

    # other designs ---------------------------------------------------------------------------

    def intra_rater(self, dim: DimensionData) -> dict:
        rt = dim.retest
        result = metrics.intra_rater_agreement(
            [self.raters[r] for r in rt.rater.tolist()], rt.first, rt.second, labels=dim.dimension.labels,
            weights=judge_weights(dim), **self.boot,
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

    def breakdowns(self, dim: DimensionData, per_item: dict[str, np.ndarray], keys: tuple[str, ...]) -> dict:
        """The figures of each group of items under each of `keys` (``BREAKDOWN_SECTIONS``)."""
        items = self.data.items
        clin = item_means(rating_scores(dim, dim.ratings))
        out = {}
        splits = {key: items.groups(key) for key in keys if key in GROUP_KEYS}
        if "metadata" in keys and self.p["metadata_key"]:
            splits[f"metadata:{self.p['metadata_key']}"] = items.metadata_groups(self.p["metadata_key"])
        # Groups of different keys often hold the same items (the baseline responses are one group under
        # persona, persona kind, role and style): such a group's row is computed once and copied.
        rows: dict[bytes, dict] = {}
        for key, groups in splits.items():
            out[key] = {}
            for value, mask in groups.items():
                same = np.packbits(mask).tobytes()
                if same in rows:
                    out[key][value] = copy.deepcopy(rows[same])
                    continue
                scores = clin[mask]
                rows[same] = out[key][value] = {
                    "counts": _counts(dim, per_item, mask),
                    "agreement": self.summary(dim, dim.ratings[mask], pairs=False, boot=False),
                    "confidence": metrics.confidence_distribution(
                        _stored_confidence(per_item, mask), levels=self.data.confidence_levels
                    ).to_dict(),
                    "mean_score": float(np.nanmean(scores)) if np.any(~np.isnan(scores)) else None,
                    "judge": self.judges(dim, mask, per_rater=False),
                }
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
        models = sorted(set(prefs.model.tolist())) if prefs.model is not None else []
        # Per model when there are several (no interval: one bootstrap per model would cost more than it tells).
        out["by_model"] = {model: metrics.bradley_terry(
            prefs.persona_a[prefs.model == model], prefs.persona_b[prefs.model == model],
            prefs.outcome[prefs.model == model], ties="half", **{**self.boot, "n_boot": 0}).to_dict()
            for model in models} if len(models) > 1 else {}
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

    def panels(self) -> dict:
        """Every dimension's agreement panel and the coefficients beside it, which take its resampled sums. One
        section for all dimensions, so that their items' seeded draws (the same items, the same seed) are made
        once per report, not once in each process computing a dimension."""
        return {key: {"agreement": self.summary(dim, dim.ratings), "coefficients": extra_coefficients(self, dim)}
                for key, dim in self.data.dimensions.items()}

    def dimension(self, dim: DimensionData) -> dict:
        """A dimension's figures but its panels (``panels``) and breakdowns (``breakdowns``), sections of their
        own."""
        d = dim.dimension
        per_item = _per_item(dim)
        return {
            "key": d.key, "label": d.label, "kind": d.kind, "labels": list(d.labels),
            "label_names": list(d.label_names), "counts": _counts(dim, per_item), "score": score_description(dim),
            "pairwise_variants": self.pairwise_variants(dim),
            "confidence": self.confidence(dim, per_item),
            "judges": self.judges(dim),
            "judges_among_themselves": judges_among_themselves(self, dim),
            "rankings": rankings_section(self, dim),
            "retest_design": dim.retest.n_pairs_total > 0,
            "intra_rater": self.intra_rater(dim),
            "order_effect": self.order_effect(dim),
        }

    def sections(self, model_fits: list[Callable[[], dict]]) -> list[tuple[str, tuple, Callable[[], Any]]]:
        """(message, key, computation) of every independent section, the longest first as far as known:
        they are handed out in this order to the processes computing them."""
        dims = list(self.data.dimensions.values())
        out = [(f"persona-effect models {i + 1} of {len(model_fits)}", ("persona_model", i), fit)
               for i, fit in enumerate(model_fits)]
        out.append(("agreement panels and coefficients", ("panels",), self.panels))
        for dim in dims:
            out.append((f"{dim.dimension.label}: confidence, judges, rankings, test-retest",
                        ("dimension", dim.dimension.key), lambda dim=dim: self.dimension(dim)))
        # Before the breakdowns: longer than any of their sections (taken last, it left the other process idle).
        out.append(("persona effects", ("persona_effects",), lambda: effects_section(self)))
        for dim in dims:
            for i, (name, keys) in enumerate(BREAKDOWN_SECTIONS):
                out.append((f"{dim.dimension.label}: breakdowns by {name}", ("breakdowns", dim.dimension.key, i),
                            lambda dim=dim, keys=keys: self.breakdowns(dim, _per_item(dim), keys)))
        return out + [
            ("metric-based evaluation", ("evaluation",), lambda: evaluation_section(self)),
            ("preferences", ("preferences",), self.preferences),
            ("pairwise judge", ("pairwise_judge",), lambda: pairwise_judge_section(self)),
        ]

    def build(self, processes: int = 1) -> dict:
        persona_models, model_fits = persona_models_plan(self)
        sections = self.sections(model_fits)
        parent, done = os.getpid(), [0]

        def task(message: str, key: tuple, compute: Callable[[], Any]) -> Callable[[], tuple]:
            def run():
                if os.getpid() == parent:  # progress is a database write: never from a forked child
                    self.progress(min(done[0] / len(sections), 0.99), message)
                    done[0] += 1
                before = len(self.scaled)
                value = compute()
                # The methods text names every interval's figures: each section's are found where it was computed.
                return value, self.scaled[before:], interval_figures(value, _path(key))
            return run

        computed = run_forked([task(message, key, compute) for message, key, compute in sections], processes)
        self.scaled = [figure for _, scaled, _ in computed for figure in scaled]
        figures = {key: value for (_, key, _), (value, _, _) in zip(sections, computed, strict=True)}
        report = {
            "meta": meta(self.data, self.p),
            "dimensions": {key: {**figures["dimension", key], **figures["panels",][key], "breakdowns": {
                k: v for i in range(len(BREAKDOWN_SECTIONS)) for k, v in figures["breakdowns", key, i].items()}}
                for key in self.data.dimensions},
            "persona_effects": figures["persona_effects",],
            "persona_models": {**persona_models,
                               "models": [m for i in range(len(model_fits)) for m in figures["persona_model", i]]},
            **{key: figures[key,] for key in ("evaluation", "preferences", "pairwise_judge")},
        }
        report["preregistration"] = preregistration_section(self.data.study_id, self.p, report)
        report["meta"]["bootstrap_ruled_out_by_size"] = sorted(set(self.scaled))
        rest = {"persona_models": persona_models, "preregistration": report["preregistration"]}
        report["meta"]["methods"] = methods_paragraph(report, [found for _, _, found in computed]
                                                      + [interval_figures(rest)])
        return report


def _path(key: tuple) -> tuple:
    """Where a section's figures sit in the report (``build``)."""
    kind, *rest = key
    if kind == "panels":
        return ("dimensions",)
    if kind == "dimension":
        return ("dimensions", *rest)
    if kind == "breakdowns":
        return ("dimensions", rest[0], "breakdowns")
    if kind == "persona_model":
        return ("persona_models", "models")
    return (kind,)


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def build_report(data: StudyData, params: dict, progress: Progress | None = None, processes: int = 1) -> dict:
    """The report of `data` under `params`; its independent sections computed by up to `processes`
    processes (``forked.run_forked``; the figures are the same whatever the number)."""
    # One BLAS thread: the products here are many and small, and on a busy machine a second BLAS thread
    # waiting for its core makes each of them slower, not faster (processes, not threads, use more cores).
    try:
        with threadpool_limits(1, user_api="blas"):
            return ReportBuilder(data, params, progress).build(processes)
    finally:
        metrics.release_kept()  # resamples are shared within one report, not held by the worker afterwards
