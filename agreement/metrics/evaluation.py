"""Metric-based evaluation of discrete answers against a reference (stub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Calibration, Coefficient, TriageRates


def accuracy(
    predicted: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    tolerance: int = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Share of answers within ``tolerance`` levels of the reference (0 = exact, 1 = within one level)."""
    raise NotImplementedError


def calibration(
    confidence_scores: Sequence[float] | np.ndarray,
    correct: Sequence[float] | np.ndarray,
    *,
    n_bins: int = 10,
) -> Calibration:
    """Expected calibration error (equal-width bins on [0, 1]), Brier score, reliability-diagram bins."""
    raise NotImplementedError


def consistency_rate(prompt_ids: Sequence, answers: Sequence) -> Coefficient:
    """Mean over prompts of the share of samples that give the prompt's modal answer."""
    raise NotImplementedError


def triage_rates(
    predicted: Sequence[float] | np.ndarray,
    reference: Sequence[float] | np.ndarray,
    *,
    higher_is_more_urgent: bool,
    confidence: float = 0.95,
) -> TriageRates:
    """Under-triage (less urgent than the reference), over-triage and exact shares."""
    raise NotImplementedError
