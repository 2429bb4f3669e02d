"""Persona effects: persona minus the no-persona baseline, paired on the same case, model and sample.

Each response of a persona is paired with the baseline response to the same case by the same model
with the same sample index (the baseline's mean where a study holds two baselines); a pair's
difference is persona score minus baseline score. Differences are averaged per case and then over
cases (each case weighs the same); intervals are case-clustered bootstrap percentile intervals and
p-values sign-flip permutation tests over cases (``agreement.metrics.clustered``). Per measure,
the p-values of one stratum kind (all cases, per model, per task type, ...) form one family, adjusted
by Holm (family-wise error) or Benjamini-Hochberg (false discovery rate); the family is named on
every row.

Beside the per-persona rows: medical and non-medical personas as two aggregates (the mean over
the personas of that kind in the same cell, minus the baseline), and the model x style table: the
effect of each persona style on each model, and the style-by-model interaction, i.e. how far that
model's effect lies from the style's mean effect over all models, on cases every model answered.
"""
from __future__ import annotations

import numpy as np

from agreement import metrics
from agreement.data import PERSONA_KINDS
from agreement.metrics.clustered import paired_differences

from .scores import item_means, rating_scores, score_description

STRATA = ("model", "task_type", "care_setting")


def _cells(items) -> np.ndarray:
    """One integer per (case, model, sample) cell."""
    keys = np.stack([items.case_id, items.model_id, items.sample_index], axis=1)
    _, cell = np.unique(keys, axis=0, return_inverse=True)
    return cell.reshape(-1)


def _cell_means(cell: np.ndarray, scores: np.ndarray, mask: np.ndarray, n_cells: int) -> np.ndarray:
    m = mask & ~np.isnan(scores)
    sums = np.bincount(cell[m], weights=scores[m], minlength=n_cells)
    counts = np.bincount(cell[m], minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


class Effects:
    def __init__(self, builder):
        self.b = builder
        self.items = builder.data.items
        self.cell = _cells(self.items)
        self.n_cells = int(self.cell.max()) + 1 if self.cell.size else 0
        self.case_of_cell = np.zeros(self.n_cells, dtype=np.int64)
        self.case_of_cell[self.cell] = self.items.case_id
        self.model_of_cell = np.zeros(self.n_cells, dtype=object)
        self.model_of_cell[self.cell] = self.items.model

    def measures(self) -> list[tuple[str, str, np.ndarray]]:
        data = self.b.data
        out = []
        for dim in data.dimensions.values():
            label = dim.dimension.label
            out.append((f"Clinicians: {label}", score_description(dim), item_means(rating_scores(dim, dim.ratings))))
            if data.primary_judge is not None:
                out.append((f"Judge: {label}", score_description(dim),
                            rating_scores(dim, dim.judge[:, data.primary_judge])))
        tri = data.triage
        if tri.scale is not None and np.any(~np.isnan(tri.reference)):
            answered = tri.is_discrete & ~np.isnan(tri.reference)
            correct = np.where(answered, (tri.predicted == tri.reference).astype(float), np.nan)
            out.append(("Accuracy (exact)", "share of answers equal to the reference; unparsed = wrong", correct))
            if tri.scale.ordered:  # signed error in levels, positive = more urgent than the reference
                direction = 1.0 if tri.scale.higher_is_more_urgent else -1.0
                out.append(("Risk propensity", "signed error in levels, positive = more urgent than the reference; "
                            "parsed answers", np.where(answered, direction * (tri.predicted - tri.reference), np.nan)))
        return out

    def baseline(self, scores: np.ndarray, within: np.ndarray) -> np.ndarray:
        """Per cell: the baseline's mean score (the same for every persona compared within `within`)."""
        return _cell_means(self.cell, scores, within & self.items.is_baseline, self.n_cells)

    def differences(self, scores: np.ndarray, group: np.ndarray, within: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Per cell: mean score of `group` minus the baseline's (``baseline``), nan where either is missing."""
        return _cell_means(self.cell, scores, within & group, self.n_cells) - base

    def panel(self, diffs: np.ndarray, cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The cells' differences and their cases, for ``effects`` (the cells with a difference, of `cells`)."""
        keep = ~np.isnan(diffs) if cells is None else cells & ~np.isnan(diffs)
        return diffs[keep], self.case_of_cell[keep]

    def effects(self, panels: list[tuple[np.ndarray, np.ndarray]], name: str) -> list[dict]:
        """The effect of every panel, computed together (``paired_differences``: panels of as many cases share
        their resamples and sign patterns)."""
        p = self.b.p
        return [c.to_dict() for c in paired_differences(panels, n_boot=p["n_boot"], seed=p["seed"],
                                                         confidence=p["ci_level"], name=name)]

    def rows_for(self, measure, score_def, scores, groups, strata) -> list[tuple[dict, tuple]]:
        """Each row with its panel of differences; the effects are computed for all rows at once (``fill``)."""
        rows = []
        bases = [self.baseline(scores, within) for _, _, within in strata]
        for persona, group in groups:
            for (stratum, value, within), base in zip(strata, bases, strict=True):
                diffs = self.differences(scores, group, within, base)
                if not np.any(~np.isnan(diffs)):
                    continue
                rows.append(({"measure": measure, "score": score_def, "persona": persona, "stratum": stratum,
                              "value": value}, self.panel(diffs)))
        return rows

    def fill(self, rows: list[tuple[dict, tuple]]) -> list[dict]:
        for (row, _), effect in zip(rows, self.effects([panel for _, panel in rows], "persona_minus_baseline"),
                                    strict=True):
            row.update(_flat(effect))
        return [row for row, _ in rows]

    def strata(self) -> list[tuple[str, str, np.ndarray]]:
        items = self.items
        out = [("all", "all cases", np.ones(len(items), bool))]
        for key in STRATA:
            out += [(key, v, m) for v, m in items.groups(key).items()]
        meta_key = self.b.p["metadata_key"]
        if meta_key:
            out += [(f"metadata:{meta_key}", v, m) for v, m in items.metadata_groups(meta_key).items()]
        return out

    def case_means_by_model(self, diffs: np.ndarray, n_models: int, model_of_cell: np.ndarray):
        """Cases with a difference under every model (sorted), and per such case and model the mean difference.

        Means are taken over each (case, model)'s cells in cell order, exactly as np.mean of that list.
        """
        ok = ~np.isnan(diffs)
        order = np.lexsort((model_of_cell[ok], self.case_of_cell[ok]))  # stable: cells keep their order
        case, model, d = self.case_of_cell[ok][order], model_of_cell[ok][order], diffs[ok][order]
        key = case * n_models + model
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, int)
        sizes = np.diff(np.r_[starts, key.size])
        means = np.add.reduceat(d, starts) / sizes if key.size else np.zeros(0)
        for g in np.flatnonzero(sizes > 2).tolist():  # beyond two values numpy's mean adds in another order
            means[g] = np.mean(d[starts[g]:starts[g] + sizes[g]])
        cases, at = np.unique(case[starts], return_inverse=True)
        table = np.full((cases.size, n_models), np.nan)
        table[at, model[starts]] = means
        complete = ~np.isnan(table).any(axis=1)
        return cases[complete], np.ascontiguousarray(table[complete])

    def interaction(self, measure, scores) -> list[tuple[dict, tuple, tuple | None]]:
        """Model x style: each style's effect per model and its deviation from the mean over models; each row with
        the panels of both (``fill_interaction``)."""
        items = self.items
        models = sorted(set(items.model.tolist()))
        model_of_cell = np.searchsorted(np.array(models, dtype=object), self.model_of_cell) if models else None
        rows = []
        everywhere = np.ones(len(items), bool)
        base = self.baseline(scores, everywhere)
        for style in sorted(set(items.style[~items.is_baseline].tolist())):
            group = ~items.is_baseline & (items.style == style)
            diffs = self.differences(scores, group, everywhere, base)
            common, table = self.case_means_by_model(diffs, len(models), model_of_cell) if models else ([], None)
            for m_index, m in enumerate(models):
                deviation = None
                if len(models) >= 2 and len(common):
                    deviation = (table[:, m_index] - table.mean(axis=1), common)
                rows.append(({"measure": measure, "style": style, "model": m},
                             self.panel(diffs, self.model_of_cell == m), deviation))
        return rows

    def fill_interaction(self, rows: list[tuple[dict, tuple, tuple | None]]) -> list[dict]:
        effects = self.effects([panel for _, panel, _ in rows], "persona_minus_baseline")
        deviations = iter(self.effects([d for _, _, d in rows if d is not None], "style_by_model_interaction"))
        for (row, _, deviation), effect in zip(rows, effects, strict=True):
            row.update(effect=effect, interaction=next(deviations) if deviation is not None else None)
        return [row for row, _, _ in rows]


def _flat(effect: dict) -> dict:
    """The effect's coefficient, and its figures at the top of the row for tables and plots."""
    return {"effect": effect, "n_cases": effect["n_items"], "difference": effect["value"],
            "ci_low": effect.get("ci_low"), "ci_high": effect.get("ci_high"), "ci_method": effect.get("ci_method")}


def _adjust(rows: list[dict], method: str) -> None:
    """Holm/BH within each family (one measure x one stratum kind); the family is named on the row."""
    families: dict[tuple, list[dict]] = {}
    for row in rows:
        families.setdefault((row["measure"], row["stratum"]), []).append(row)
    for (measure, stratum), members in families.items():
        p_values = [r["effect"]["extra"].get("p_value") if r["effect"]["status"] == "ok" else None for r in members]
        adjusted = metrics.adjust_pvalues(p_values, method=method).to_dict()
        kind = "all cases" if stratum == "all" else stratum.replace("_", " ")
        name = f"{measure}; {kind}; {adjusted['n_tests']} test{'s' if adjusted['n_tests'] != 1 else ''}"
        for row, p_adj in zip(members, adjusted["adjusted"], strict=True):
            row.update(p_value=row["effect"]["extra"].get("p_value"), p_adjusted=p_adj, family=name)


def effects_section(builder) -> dict:
    items = builder.data.items
    baselines = items.baseline_personas()
    if not baselines:
        return {"available": False, "reason": "the study has no no-persona baseline", "rows": []}
    eff = Effects(builder)
    personas = sorted(set(items.persona[~items.is_baseline].tolist()))
    groups = [(persona, items.persona == persona) for persona in personas]
    kinds = [(kind, ~items.is_baseline & (items.is_medical == medical)) for medical, kind in PERSONA_KINDS.items()]
    strata = eff.strata()
    rows, aggregates, interaction = [], [], []
    for measure, score_def, scores in eff.measures():
        rows += eff.rows_for(measure, score_def, scores, groups, strata)
        aggregates += eff.rows_for(measure, score_def, scores, [k for k in kinds if k[1].any()],
                                   [s for s in strata if s[0] in ("all", "model")])
        interaction += eff.interaction(measure, scores)
    filled = eff.fill(rows + aggregates)  # one batch: the aggregates' panels share the personas' sizes
    rows, aggregates, interaction = filled[:len(rows)], filled[len(rows):], eff.fill_interaction(interaction)
    method = builder.p["multiplicity"]
    _adjust(rows, method)
    _adjust(aggregates, method)
    return {"available": True, "baseline": ", ".join(baselines), "pairing": "case x model x sample",
            "unit": "case", "multiplicity": method, "rows": rows, "persona_kinds": aggregates,
            "model_by_style": interaction}
