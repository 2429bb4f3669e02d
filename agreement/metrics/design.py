"""Order effects and confidence-level helpers (stub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Distribution, OrderEffect


def order_effect(
    positions: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    bucket_size: int = 10,
    confidence: float = 0.95,
) -> OrderEffect:
    """Mean score per block of ``bucket_size`` display positions and the OLS slope of score on position."""
    raise NotImplementedError


def confidence_distribution(values: Sequence | np.ndarray, *, levels: Sequence) -> Distribution:
    """Counts and shares of each declared confidence level (values are indices into ``levels``)."""
    raise NotImplementedError


def mask_below_confidence(ratings: np.ndarray, confidence: np.ndarray, min_level: int) -> np.ndarray:
    """Copy of ``ratings`` with NaN wherever ``confidence`` (same shape, level indices) < ``min_level``."""
    raise NotImplementedError
