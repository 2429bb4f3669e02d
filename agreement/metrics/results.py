"""Result types shared by every agreement function.

Every function in :mod:`agreement.metrics` returns a frozen dataclass from this module, never a bare
float, so a figure always travels with the data it was computed on and with the reason it could not
be computed. ``to_dict()`` gives plain JSON types (``None`` for an undefined value, never NaN).

Statuses (``Coefficient.status``):

* ``"ok"``: ``value`` is a finite float.
* ``"undefined_no_variation"``: every pairable rating falls in one category, so chance agreement is
  1 and the chance-corrected coefficient is 0/0. ``value`` is None; the observed agreement (1.0) is
  in ``extra["percent_agreement"]``. We neither return 1 (irr, R irrCAC, NLTK) nor 0 (statsmodels
  maintainers) because both are conventions, not estimates.
* ``"insufficient_data"``: nothing to compare; ``extra["reason"]`` is one of ``REASONS``.
* ``"not_identifiable"``: a model fit (Bradley-Terry) has no finite maximum-likelihood estimate.
* ``"invalid_for_scale"``: the requested rule does not fit the declared scale (a median or mean
  consensus of nominal categories, an ordered tie rule on a nominal scale); ``extra["reason"]`` says
  which. Nothing is computed rather than something meaningless.

``n_items``/``n_ratings`` are the items and ratings the value was computed on; ``*_total`` are those
in the input (non-missing ratings), so a report can print "used 812 of 900 items".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

STATUS_OK = "ok"
STATUS_NO_VARIATION = "undefined_no_variation"
STATUS_INSUFFICIENT = "insufficient_data"
STATUS_NOT_IDENTIFIABLE = "not_identifiable"
STATUS_INVALID_FOR_SCALE = "invalid_for_scale"

REASON_EMPTY = "empty"  # no ratings at all
REASON_SINGLE_RATER = "single_rater"  # fewer than two raters gave any rating
REASON_NO_PAIRABLE = "no_pairable_item"  # no item carries two or more ratings
REASON_NO_OVERLAP = "no_overlap"  # two raters share no item
REASON_TOO_FEW_CONDITIONS = "too_few_conditions"  # a rank correlation needs two conditions scored by both sides
REASON_TOO_FEW_ITEMS = "too_few_items"  # an ANOVA-based coefficient needs two complete items
REASONS = (REASON_EMPTY, REASON_SINGLE_RATER, REASON_NO_PAIRABLE, REASON_NO_OVERLAP, REASON_TOO_FEW_CONDITIONS,
           REASON_TOO_FEW_ITEMS)

WARN_SMALL_N = "small_n"  # fewer than SMALL_N items behind the value
WARN_HIGH_PREVALENCE = "high_prevalence"  # the largest category holds more than 90 % of ratings
SMALL_N = 10
HIGH_PREVALENCE = 0.9


_FIELDS: dict[type, tuple[str, ...] | None] = {}  # per type: its dataclass fields, None for other types
_LEAVES = (str, int, bool, type(None))


def _plain(obj: Any) -> Any:
    """Recursively turn result dataclasses, numpy scalars/arrays and non-finite floats into JSON types."""
    kind = type(obj)
    if kind in _LEAVES:  # most nodes: answered without further checks
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind in _FIELDS:
        names = _FIELDS[kind]
    else:  # whether a type is a dataclass is looked up once (a class object itself never is one here)
        names = _FIELDS[kind] = (tuple(f.name for f in fields(obj)) if is_dataclass(obj) and not isinstance(obj, type)
                                 else None)
    if names is not None:  # field by field, as asdict but without its deep copies
        return {name: _plain(getattr(obj, name)) for name in names}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class Coefficient(_Serialisable):
    """One agreement figure with its sample sizes and uncertainty."""

    name: str
    value: float | None
    status: str
    n_items: int
    n_ratings: int
    n_items_total: int
    n_ratings_total: int = 0
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None  # "bootstrap_percentile", "wald", "wilson", "jackknife_normal", "t"
    ci_level: float | None = None
    n_boot: int = 0
    seed: int | None = None
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


@dataclass(frozen=True)
class RaterPair(_Serialisable):
    """Cohen's kappa of two raters on the items both rated."""

    rater_a: Any
    rater_b: Any
    kappa: Coefficient
    percent_agreement: float | None


@dataclass(frozen=True)
class PairwiseKappa(_Serialisable):
    """Cohen's kappa for every pair of raters, and their unweighted mean over defined pairs."""

    raters: tuple
    weights: str | None
    pairs: tuple[RaterPair, ...]
    average: Coefficient

    def matrix(self) -> list[list[float | None]]:
        """Raters x raters kappa (symmetric, diagonal 1.0, None where undefined), for a heatmap."""
        index = {r: i for i, r in enumerate(self.raters)}
        out: list[list[float | None]] = [[None] * len(self.raters) for _ in self.raters]
        for i in range(len(self.raters)):
            out[i][i] = 1.0
        for pair in self.pairs:
            i, j = index[pair.rater_a], index[pair.rater_b]
            out[i][j] = out[j][i] = pair.kappa.value
        return out


@dataclass(frozen=True)
class AgreementSummary(_Serialisable):
    """The panel a report shows for one rating dimension (see the research notes, section 5).

    ``prevalence`` maps each declared label to its share of all non-missing ratings;
    ``high_prevalence`` is True when the largest share exceeds 90 %, the situation in which kappa and
    alpha collapse although raters agree (the kappa paradox): read AC1 and PABAK beside them.
    """

    labels: tuple
    percent_agreement: Coefficient
    fleiss_kappa: Coefficient
    gwet_ac1: Coefficient
    brennan_prediger: Coefficient
    alpha: dict[str, Coefficient]
    prevalence: dict[str, float]
    max_prevalence: float | None
    high_prevalence: bool
    gwet_ac2: Coefficient | None = None
    pairwise: PairwiseKappa | None = None


@dataclass(frozen=True)
class JudgeAgreement(_Serialisable):
    """An extra rater (the LLM judge) against each clinician and against the clinicians' consensus."""

    weights: str | None
    consensus_method: str
    per_rater: tuple[RaterPair, ...]
    per_rater_average: Coefficient
    vs_consensus: Coefficient
    consensus_tie_rule: str | None = None
    n_consensus_ties: int = 0  # items whose consensus was tied (kept or left out per the tie rule)
    scale: str | None = None


@dataclass(frozen=True)
class RankAgreement(_Serialisable):
    """Agreement of two rankings of conditions (personas) built from per-item scores."""

    conditions: tuple
    mean_a: tuple[float | None, ...]
    mean_b: tuple[float | None, ...]
    n_a: tuple[int, ...]
    n_b: tuple[int, ...]
    kendall_tau_b: Coefficient
    spearman: Coefficient


@dataclass(frozen=True)
class IntraRaterAgreement(_Serialisable):
    """Test-retest agreement: kappa of each rater with themself, and over all pairs pooled."""

    weights: str | None
    per_rater: tuple[tuple[Any, Coefficient], ...]
    pooled: Coefficient


@dataclass(frozen=True)
class PositionBucket(_Serialisable):
    first: int
    last: int
    n: int
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class OrderEffect(_Serialisable):
    """Mean score by display position, and the least-squares slope (score units per position)."""

    buckets: tuple[PositionBucket, ...]
    slope: Coefficient
    intercept: float | None


@dataclass(frozen=True)
class Distribution(_Serialisable):
    """Counts and shares of each declared level; missing values are counted, not shared."""

    levels: tuple
    counts: dict[str, int]
    proportions: dict[str, float | None]
    n: int
    n_missing: int


@dataclass(frozen=True)
class CalibrationBin(_Serialisable):
    lower: float
    upper: float
    n: int
    mean_confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class Calibration(_Serialisable):
    """Expected calibration error, Brier score and the reliability-diagram bins."""

    ece: Coefficient
    brier: Coefficient
    bins: tuple[CalibrationBin, ...]


@dataclass(frozen=True)
class TriageRates(_Serialisable):
    """Shares of answers less urgent (under-triage), more urgent (over-triage) or equal to the reference."""

    under_triage: Coefficient
    over_triage: Coefficient
    exact: Coefficient


@dataclass(frozen=True)
class PlayerRating(_Serialisable):
    name: Any
    theta: float
    elo: float
    elo_ci_low: float | None
    elo_ci_high: float | None
    n_comparisons: int


@dataclass(frozen=True)
class BradleyTerry(_Serialisable):
    """Bradley-Terry maximum-likelihood strengths on the Elo-like scale 400/ln(10)*theta + 1000."""

    status: str
    ratings: tuple[PlayerRating, ...]
    n_comparisons: int
    n_ties: int
    ties: str
    ci_level: float | None
    n_boot: int
    seed: int | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IntraclassCorrelation(_Serialisable):
    """The six Shrout & Fleiss (1979) intraclass correlations of one complete items x raters matrix.

    ``icc1``/``icc2``/``icc3`` are single-rater reliabilities ICC(1,1), ICC(2,1), ICC(3,1) (McGraw &
    Wong 1996: ICC(1), ICC(A,1), ICC(C,1)); ``icc1k``/``icc2k``/``icc3k`` the reliabilities of the mean
    of the k raters (ICC(k), ICC(A,k), ICC(C,k)). ``mean_squares`` holds the ANOVA mean squares
    (``between_items``, ``within_items``, ``between_raters``, ``residual``).
    """

    n_items: int
    n_raters: int
    n_items_total: int
    n_items_dropped: int
    n_raters_dropped: int
    mean_squares: dict[str, float | None]
    icc1: Coefficient
    icc2: Coefficient
    icc3: Coefficient
    icc1k: Coefficient
    icc2k: Coefficient
    icc3k: Coefficient

    def forms(self) -> dict[str, Coefficient]:
        """Shrout & Fleiss name -> coefficient, e.g. ``"ICC(2,1)"``."""
        return {c.extra["form"]: c for c in (self.icc1, self.icc2, self.icc3, self.icc1k, self.icc2k, self.icc3k)}


@dataclass(frozen=True)
class LeaveOneOutRater(_Serialisable):
    """The judge and one clinician, each against the consensus of the other clinicians, on the same items."""

    rater: Any
    n_items: int
    n_ties: int
    judge_kappa: Coefficient
    clinician_kappa: Coefficient
    difference: Coefficient  # judge_kappa - clinician_kappa


@dataclass(frozen=True)
class LeaveOneOutConsensus(_Serialisable):
    """Judge vs the leave-one-clinician-out consensus, beside each clinician vs the same consensus."""

    weights: Any
    consensus_method: str
    tie_rule: str
    scale: str | None
    n_ties: int  # tied consensus items summed over the leave-one-out consensuses
    per_rater: tuple[LeaveOneOutRater, ...]
    judge_average: Coefficient
    clinician_average: Coefficient
    difference: Coefficient


@dataclass(frozen=True)
class RankBiasedOverlap(_Serialisable):
    """Rank-biased overlap of two (possibly truncated) rankings at persistence ``p``.

    ``value`` is the extrapolated RBO_ext; ``rbo_min`` and ``rbo_max`` = ``rbo_min`` + ``rbo_res``
    bound the RBO of any infinite continuation of the two prefixes.
    """

    status: str
    value: float | None
    rbo_min: float | None
    rbo_max: float | None
    rbo_res: float | None
    p: float
    len_a: int
    len_b: int
    overlap: int  # items in both rankings
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdjustedPValues(_Serialisable):
    """A family of p-values adjusted for multiple testing; missing p-values stay missing."""

    method: str
    alpha: float
    n_tests: int
    n_missing: int
    p_values: tuple[float | None, ...]
    adjusted: tuple[float | None, ...]
    reject: tuple[bool | None, ...]
