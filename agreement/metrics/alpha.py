"""Krippendorff's alpha (stub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Coefficient

LEVELS = ("nominal", "ordinal", "interval")


def krippendorff_alpha(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    level: str = "nominal",
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Krippendorff's alpha via the ``krippendorff`` package on the declared scale, item bootstrap CI.

    ``level`` is ``"nominal"``, ``"ordinal"`` or ``"interval"`` (interval distances between category
    indices, i.e. equally spaced labels).
    """
    raise NotImplementedError
