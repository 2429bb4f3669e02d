"""Multi-rater coefficients over items x raters with missing ratings (stub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import AgreementSummary, Coefficient


def percent_agreement(
    ratings: np.ndarray, *, labels: Sequence, n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95
) -> Coefficient:
    """Share of agreeing rater pairs within an item, averaged over items with two or more ratings."""
    raise NotImplementedError


def fleiss_kappa(
    ratings: np.ndarray, *, labels: Sequence, n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95
) -> Coefficient:
    """Fleiss' kappa, generalised to a varying number of raters per item (Gwet 2014, as irrCAC)."""
    raise NotImplementedError


def gwet_ac(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Gwet's AC1 (``weights=None``) or AC2 (``"linear"``/``"quadratic"``) on the declared scale."""
    raise NotImplementedError


def brennan_prediger(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Brennan-Prediger coefficient (= PABAK for two raters), chance agreement fixed at 1/K."""
    raise NotImplementedError


def prevalence(ratings: np.ndarray, *, labels: Sequence) -> dict[str, float]:
    """Share of all non-missing ratings in each declared category (keys: ``str(label)``)."""
    raise NotImplementedError


def agreement_summary(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    ordinal: bool = False,
    pairwise: bool = True,
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementSummary:
    """The whole panel for one dimension with one shared set of item resamples.

    Nominal scales: percent agreement, Fleiss, AC1, Brennan-Prediger/PABAK, alpha (nominal),
    unweighted pairwise kappa. Ordinal scales (``ordinal=True``) add AC2 (quadratic), alpha at
    ordinal and interval level, and pairwise kappa with quadratic weights.
    """
    raise NotImplementedError
