"""Rank agreement of conditions and Bradley-Terry preference ratings (stub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import BradleyTerry, RankAgreement


def rank_agreement(
    conditions: Sequence,
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> RankAgreement:
    """Kendall's tau-b and Spearman's rho between the per-condition mean scores of side a and side b.

    One row per item: its condition (persona), side a's score (e.g. the clinicians' mean) and side
    b's (e.g. the judge's); NaN = no score. The CI resamples items within each condition and re-ranks.
    """
    raise NotImplementedError


def bradley_terry(
    player_a: Sequence,
    player_b: Sequence,
    score_a: Sequence[float] | np.ndarray,
    *,
    ties: str = "half",
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> BradleyTerry:
    """Bradley-Terry MLE from pairwise comparisons; ``score_a`` is 1 (a won), 0 (b won) or 0.5 (tie).

    ``ties="half"`` counts a tie as half a win for each side (Chatbot Arena), ``"drop"`` ignores ties.
    CIs resample comparisons. Ratings are 400/ln(10)*theta + 1000 with mean theta 0.
    """
    raise NotImplementedError
