"""Inter-rater agreement and evaluation metrics: pure numpy/scipy, no Django.

Data convention for every function: ratings are floats holding category INDICES 0..K-1 into the
declared ``labels`` (ordered low to high for ordinal scales), ``np.nan`` = missing; a matrix is
items x raters. Coefficients are always computed on the declared scale (K = len(labels)), never on
the categories that happen to be observed. Every function returns a frozen dataclass from
:mod:`agreement.metrics.results` with ``to_dict()``; edge cases come back as a status, never as a
silent NaN or an exception. See README.md in this package for the formulas and references.
"""

from .alpha import LEVELS, krippendorff_alpha
from .design import confidence_distribution, mask_below_confidence, order_effect
from .evaluation import accuracy, calibration, consistency_rate, triage_rates
from .kappa import cohen_kappa, intra_rater_agreement, judge_agreement, pairwise_cohen_kappa
from .multirater import agreement_summary, brennan_prediger, fleiss_kappa, gwet_ac, percent_agreement, prevalence
from .ranking import bradley_terry, rank_agreement
from .results import (
    HIGH_PREVALENCE,
    REASON_EMPTY,
    REASON_NO_OVERLAP,
    REASON_NO_PAIRABLE,
    REASON_SINGLE_RATER,
    REASON_TOO_FEW_CONDITIONS,
    SMALL_N,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_NOT_IDENTIFIABLE,
    STATUS_OK,
    WARN_HIGH_PREVALENCE,
    WARN_SMALL_N,
    AgreementSummary,
    BradleyTerry,
    Calibration,
    CalibrationBin,
    Coefficient,
    Distribution,
    IntraRaterAgreement,
    JudgeAgreement,
    OrderEffect,
    PairwiseKappa,
    PlayerRating,
    PositionBucket,
    RankAgreement,
    RaterPair,
    TriageRates,
)

__all__ = [
    "HIGH_PREVALENCE",
    "LEVELS",
    "REASON_EMPTY",
    "REASON_NO_OVERLAP",
    "REASON_NO_PAIRABLE",
    "REASON_SINGLE_RATER",
    "REASON_TOO_FEW_CONDITIONS",
    "SMALL_N",
    "STATUS_INSUFFICIENT",
    "STATUS_NOT_IDENTIFIABLE",
    "STATUS_NO_VARIATION",
    "STATUS_OK",
    "WARN_HIGH_PREVALENCE",
    "WARN_SMALL_N",
    "AgreementSummary",
    "BradleyTerry",
    "Calibration",
    "CalibrationBin",
    "Coefficient",
    "Distribution",
    "IntraRaterAgreement",
    "JudgeAgreement",
    "OrderEffect",
    "PairwiseKappa",
    "PlayerRating",
    "PositionBucket",
    "RankAgreement",
    "RaterPair",
    "TriageRates",
    "accuracy",
    "agreement_summary",
    "bradley_terry",
    "brennan_prediger",
    "calibration",
    "cohen_kappa",
    "confidence_distribution",
    "consistency_rate",
    "fleiss_kappa",
    "gwet_ac",
    "intra_rater_agreement",
    "judge_agreement",
    "krippendorff_alpha",
    "mask_below_confidence",
    "order_effect",
    "pairwise_cohen_kappa",
    "percent_agreement",
    "prevalence",
    "rank_agreement",
    "triage_rates",
]
