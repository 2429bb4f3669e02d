"""The per-rating score a mean, a ranking or a persona effect is taken over, named from the schema.

Ordinal dimensions: the scale point 1..K of the declared order (1 = lowest level). Categorical
dimensions have no order, so no mean of them is taken: the score is 1 when the rating is the first
declared level and 0 otherwise, i.e. a mean is the share rated with that level ("share rated
Compliant"), and the level is named by its schema label, never its stored key.
"""
from __future__ import annotations

import numpy as np

from agreement.data import DimensionData


def score_description(dim: DimensionData) -> str:
    d = dim.dimension
    if d.is_ordinal:
        return (f"mean scale point (1 = {d.label_names[0]} ... {len(d.labels)} = {d.label_names[-1]})")
    return f"share rated {d.label_names[0]}"


def score_unit(dim: DimensionData) -> str:
    """Short axis label: what a difference of the score is measured in."""
    return "scale points" if dim.dimension.is_ordinal else f"share rated {dim.dimension.label_names[0]}"


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


def scale_of(dim: DimensionData) -> str:
    """The consensus/measurement level of the declared scale: "ordinal" or "nominal"."""
    return "ordinal" if dim.dimension.is_ordinal else "nominal"


def numeric_levels(labels) -> np.ndarray | None:
    """The levels' own numbers when every stored value is a number (e.g. 1-5), else None."""
    try:
        return np.array([float(v) for v in labels])
    except (TypeError, ValueError):
        return None
