"""Cohen's kappa: two raters, every pair of raters, the judge against clinicians, test-retest.

Stub: the signatures below are the public API; bodies follow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Coefficient, IntraRaterAgreement, JudgeAgreement, PairwiseKappa


def cohen_kappa(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Coefficient:
    """Cohen's kappa of two raters on the items both rated (NaN = missing).

    ``a``/``b`` hold category indices 0..K-1 into ``labels`` (K = len(labels)); ``weights`` is None,
    ``"linear"`` or ``"quadratic"`` (index distance, as scikit-learn). ``se`` is the Fleiss, Cohen &
    Everitt (1969) large-sample standard error (as statsmodels/SAS); the CI is the item-bootstrap
    percentile interval when ``n_boot`` > 0, else the Wald interval.
    """
    raise NotImplementedError


def pairwise_cohen_kappa(
    ratings: np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> PairwiseKappa:
    """Cohen's kappa for every pair of columns of ``ratings`` (items x raters, NaN = missing).

    Pairs without a co-rated item are listed with status ``insufficient_data``/``no_overlap``.
    ``average`` is the mean over pairs with status ok (the "average Cohen's kappa" of the published
    study); its SE is the delete-one-item jackknife over all items (pairs share items, so their
    kappas are correlated) and its CI the normal interval around it.
    """
    raise NotImplementedError


def judge_agreement(
    ratings: np.ndarray,
    judge: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    consensus: str = "majority",
    rater_ids: Sequence | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> JudgeAgreement:
    """Kappa of ``judge`` (one value per item, NaN = not judged) against each column of ``ratings``
    and against the clinicians' consensus per item.

    ``consensus``: ``"majority"`` (modal category; items with a tied mode are left out and counted in
    ``vs_consensus.extra["n_tied"]``), ``"median"`` or ``"mean"`` (ordinal scales; rounded half up to a
    category index).
    """
    raise NotImplementedError


def intra_rater_agreement(
    rater_ids: Sequence,
    first: Sequence[float] | np.ndarray,
    repeat: Sequence[float] | np.ndarray,
    *,
    labels: Sequence,
    weights: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> IntraRaterAgreement:
    """Test-retest kappa: one row per repeated item, ``first`` and ``repeat`` rating of ``rater_ids``.

    ``per_rater`` holds each rater's kappa over their own pairs; ``pooled`` is one kappa over all
    pairs of all raters.
    """
    raise NotImplementedError
