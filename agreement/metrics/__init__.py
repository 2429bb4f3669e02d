"""Inter-rater agreement and evaluation metrics: pure numpy/scipy, no Django.

Data convention for every function: ratings are floats holding category INDICES 0..K-1 into the
declared ``labels`` (ordered low to high for ordinal scales), ``np.nan`` = missing; a matrix is
items x raters. Coefficients are always computed on the declared scale (K = len(labels)), never on
the categories that happen to be observed. Every function returns a frozen dataclass from
:mod:`agreement.metrics.results` with ``to_dict()``; edge cases come back as a status, never as a
silent NaN or an exception. See README.md in this package for the formulas and references.
"""

from ._bootstrap import release_kept
from .alpha import ALL_LEVELS, LEVELS, krippendorff_alpha
from .conger import conger_kappa
from .consensus import CONSENSUS, SCALES, TIE_RULES, consensus_ratings, consensus_validity
from .design import confidence_distribution, mask_below_confidence, order_effect
from .evaluation import accuracy, calibration, consistency_rate, proportion, triage_rates
from .icc import intraclass_correlation
from .judge import judge_vs_leave_one_out
from .kappa import cohen_kappa, intra_rater_agreement, judge_agreement, pairwise_cohen_kappa
from .kappa_average import n_weighted_kappa_average
from .mixed import MixedModelFit, mixed_model
from .multiplicity import adjust_pvalues
from .multirater import agreement_summary, brennan_prediger, fleiss_kappa, gwet_ac, percent_agreement, prevalence
from .ranking import bradley_terry, rank_agreement
from .rankings_overlap import rank_biased_overlap, rbo_top_weight
from .results import (
    HIGH_PREVALENCE,
    REASON_EMPTY,
    REASON_NO_OVERLAP,
    REASON_NO_PAIRABLE,
    REASON_SINGLE_RATER,
    REASON_TOO_FEW_CONDITIONS,
    REASON_TOO_FEW_ITEMS,
    SMALL_N,
    STATUS_INSUFFICIENT,
    STATUS_INVALID_FOR_SCALE,
    STATUS_NO_VARIATION,
    STATUS_NOT_IDENTIFIABLE,
    STATUS_OK,
    WARN_HIGH_PREVALENCE,
    WARN_SMALL_N,
    AdjustedPValues,
    AgreementSummary,
    BradleyTerry,
    Calibration,
    CalibrationBin,
    Coefficient,
    Distribution,
    IntraclassCorrelation,
    IntraRaterAgreement,
    JudgeAgreement,
    LeaveOneOutConsensus,
    LeaveOneOutRater,
    OrderEffect,
    PairwiseKappa,
    PlayerRating,
    PositionBucket,
    RankAgreement,
    RankBiasedOverlap,
    RaterPair,
    TriageRates,
)
from .sample_size import (
    PlanInputError,
    design_width,
    kappa_test_sample_size,
    raters_for_width,
    sample_size_for_width,
)
from .weights import weight_matrix, weighted_cohen_kappa

__all__ = [
    "ALL_LEVELS",
    "CONSENSUS",
    "HIGH_PREVALENCE",
    "LEVELS",
    "REASON_EMPTY",
    "REASON_NO_OVERLAP",
    "REASON_NO_PAIRABLE",
    "REASON_SINGLE_RATER",
    "REASON_TOO_FEW_CONDITIONS",
    "REASON_TOO_FEW_ITEMS",
    "SCALES",
    "SMALL_N",
    "STATUS_INSUFFICIENT",
    "STATUS_INVALID_FOR_SCALE",
    "STATUS_NOT_IDENTIFIABLE",
    "STATUS_NO_VARIATION",
    "STATUS_OK",
    "TIE_RULES",
    "WARN_HIGH_PREVALENCE",
    "WARN_SMALL_N",
    "AdjustedPValues",
    "AgreementSummary",
    "BradleyTerry",
    "Calibration",
    "CalibrationBin",
    "Coefficient",
    "Distribution",
    "IntraRaterAgreement",
    "IntraclassCorrelation",
    "JudgeAgreement",
    "LeaveOneOutConsensus",
    "LeaveOneOutRater",
    "MixedModelFit",
    "OrderEffect",
    "PairwiseKappa",
    "PlanInputError",
    "PlayerRating",
    "PositionBucket",
    "RankAgreement",
    "RankBiasedOverlap",
    "RaterPair",
    "TriageRates",
    "accuracy",
    "adjust_pvalues",
    "agreement_summary",
    "bradley_terry",
    "brennan_prediger",
    "calibration",
    "cohen_kappa",
    "confidence_distribution",
    "conger_kappa",
    "consensus_ratings",
    "consensus_validity",
    "consistency_rate",
    "design_width",
    "fleiss_kappa",
    "gwet_ac",
    "intra_rater_agreement",
    "intraclass_correlation",
    "judge_agreement",
    "judge_vs_leave_one_out",
    "kappa_test_sample_size",
    "krippendorff_alpha",
    "mask_below_confidence",
    "mixed_model",
    "n_weighted_kappa_average",
    "order_effect",
    "pairwise_cohen_kappa",
    "percent_agreement",
    "prevalence",
    "proportion",
    "rank_agreement",
    "rank_biased_overlap",
    "raters_for_width",
    "rbo_top_weight",
    "release_kept",
    "sample_size_for_width",
    "triage_rates",
    "weight_matrix",
    "weighted_cohen_kappa",
]
