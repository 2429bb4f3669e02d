"""Rater drift for the study dashboard: how each clinician's ratings change from week to week.

Weeks are ISO weeks (Monday to Sunday) of submission in the site's time zone (settings.TIME_ZONE); a
submission with no recorded time is in no week. Per clinician, week and rating dimension (the preference
itself in side-by-side mode):

* anchor agreement: the dashboard's anchor-item agreement (selectors.dashboard: answered as the anchor's
  majority answer, the majority taken over the whole study), split by the week the anchor was answered;
* test-retest: the clinician's first rating of an item against their repeat of it (`repeat_of`), filed
  under the repeat's week, "cannot assess" or an undeclared level on either side left out: the share
  answered identically and, from MIN_KAPPA_PAIRS pairs, Cohen's kappa (scikit-learn; quadratic weights on
  ordinal scales, as the agreement report's test-retest kappa; none when every answer of both is one level,
  where kappa is undefined);
* levels: how many first ratings (no repeat, no practice item, no "cannot assess") took each declared
  level, and on ordinal scales the mean level (1 = the lowest declared level), to show a shift in severity;
* the dashboard's median active seconds per submitted item, per week.

The flag is a screening rule (DRIFT_RULE), not a test: a drop of DROP_POINTS percentage points between a
clinician's first BASELINE_WEEKS weeks and their latest week, each side with at least MIN_COMPARED
comparisons, so that one or two unlucky items never flag anyone.

A fixed number of queries whatever the number of clinicians or weeks: the enrolments, two per dimension for
the anchors, one for the levels, one for the retest pairs and one for the medians.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import NamedTuple

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.utils import timezone

from studies.models import Study
from studies.schema import study_schema

from ..models import AssignmentStatus, Preference, PreferenceChoice, RatingValue, StudyRater
from .dashboard import anchor_agreement_counts, median_seconds, study_enrolments, submission_week

BASELINE_WEEKS = 2
MIN_COMPARED = 5
DROP_POINTS = 20
MIN_KAPPA_PAIRS = 10
PREFERENCE_KEY = "preference"

DRIFT_RULE = (
    f"A clinician is flagged when, on a dimension, their share of anchor items answered as the majority, or of "
    f"test-retest pairs answered identically, in their latest week with such items is at least {DROP_POINTS} "
    f"percentage points below the same share over their first {BASELINE_WEEKS} weeks with such items; the "
    f"latest week must come after those first weeks, and each side needs at least {MIN_COMPARED} items, so "
    f"thin weeks are never flagged."
)

class Week(NamedTuple):
    start: date  # its Monday
    label: str  # ISO 8601, "2025-W03"


def week_of(monday: date) -> Week:
    year, number, _ = monday.isocalendar()
    return Week(monday, f"{year}-W{number:02d}")


class Scale(NamedTuple):
    """A rating dimension as drift reads it: its declared levels, lowest first on ordinal scales."""

    key: str
    label: str
    levels: tuple[str, ...]
    level_labels: tuple[str, ...]
    ordinal: bool

    @property
    def kappa_weights(self) -> str | None:
        return "quadratic" if self.ordinal else None


@dataclass(frozen=True)
class Tally:
    """Comparisons in one week: anchors answered with a majority, or retest pairs, and how many agree."""

    compared: int = 0
    agreeing: int = 0

    @property
    def share(self) -> float | None:
        return self.agreeing / self.compared if self.compared else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.compared + other.compared, self.agreeing + other.agreeing)


@dataclass(frozen=True)
class Retest(Tally):
    kappa: float | None = None  # from MIN_KAPPA_PAIRS pairs, where defined


@dataclass(frozen=True)
class Levels:
    scale: Scale
    counts: tuple[int, ...]  # per declared level, in the scale's order

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def shares(self) -> tuple[float, ...]:
        return tuple(c / self.n for c in self.counts)

    @property
    def mean(self) -> float | None:
        """The mean level, 1 = the lowest; ordinal scales only."""
        return sum(i * c for i, c in enumerate(self.counts, start=1)) / self.n if self.scale.ordinal else None


@dataclass(frozen=True)
class DriftLine:
    """One row of a clinician's drift table: a measure (of a dimension) with one cell per study week, None
    where the clinician has nothing for it that week."""

    measure: str  # "anchors", "retest", "levels" or "seconds"
    scale: Scale | None
    cells: list


@dataclass(frozen=True)
class DriftFlag:
    measure: str  # "anchors" or "retest"
    scale: Scale
    baseline_weeks: tuple[Week, ...]
    baseline: Tally
    last_week: Week
    last: Tally


@dataclass(frozen=True)
class RaterDrift:
    enrolment: StudyRater
    lines: list[DriftLine]
    flags: list[DriftFlag]


@dataclass(frozen=True)
class StudyDrift:
    weeks: list[Week]  # each ISO week with a submission, oldest first
    scales: list[Scale]
    raters: list[RaterDrift]  # clinicians with something submitted, in the dashboard's order
    time_zone: str  # the zone the weeks start in
    rule: str = DRIFT_RULE
    min_kappa_pairs: int = MIN_KAPPA_PAIRS

    @property
    def flagged(self) -> list[RaterDrift]:
        return [rater for rater in self.raters if rater.flags]


def study_scales(study: Study) -> list[Scale]:
    if study.preference_mode:
        return [Scale(PREFERENCE_KEY, "Preference", tuple(PreferenceChoice.values), tuple(PreferenceChoice.labels),
                      False)]
    return [
        Scale(d["key"], d.get("label") or d["key"], tuple(c["value"] for c in d.get("choices", [])),
              tuple(c.get("label") or c["value"] for c in d.get("choices", [])), d.get("kind") == "ordinal")
        for d in study_schema(study).get("dimensions") or []
    ]


# --------------------------------------------------------------------------------------------- reads


def study_drift(*, study: Study) -> StudyDrift:
    scales = study_scales(study)
    anchors = {s.key: anchor_agreement_counts(study=study, dimension={"key": s.key}, by_week=True) for s in scales}
    levels = _level_counts(study)
    pairs = _retest_pairs(study)
    seconds = median_seconds(study=study, by_week=True)
    weeks = sorted(({week for counts in anchors.values() for _, week in counts} | {week for _, week, _ in levels}
                    | {week for _, week, _ in pairs} | {week for _, week in seconds}) - {None})
    raters = []
    columns = [week_of(week) for week in weeks]
    for enrolment in study_enrolments(study=study):
        rater = enrolment.rater_id
        lines = []
        for scale in scales:
            lines += [
                DriftLine("anchors", scale, [_tally(anchors[scale.key].get((rater, w))) for w in weeks]),
                DriftLine("retest", scale, [retest_agreement(pairs.get((rater, w, scale.key)), scale) for w in weeks]),
                DriftLine("levels", scale, [_levels(levels.get((rater, w, scale.key)), scale) for w in weeks]),
            ]
        lines.append(DriftLine("seconds", None, [seconds.get((rater, w)) for w in weeks]))
        lines = [line for line in lines if any(cell is not None for cell in line.cells)]
        if lines:
            flags = [flag for line in lines if (flag := drift_flag(line, columns)) is not None]
            raters.append(RaterDrift(enrolment, lines, flags))
    return StudyDrift(weeks=columns, scales=scales, raters=raters, time_zone=timezone.get_default_timezone_name())


def _answers(study: Study) -> tuple[QuerySet, str, object, str, dict]:
    """Every submitted non-practice answer: the queryset, the path to its task, its dimension, the path to its
    answer, and how an answer's first rating is found from its repeat (for a Subquery)."""
    done = {"status": AssignmentStatus.SUBMITTED, "is_calibration": False}
    if study.preference_mode:
        answers = Preference.objects.filter(**{f"assignment__{k}": v for k, v in done.items()}, assignment__study=study)
        return answers, "assignment", Value(PREFERENCE_KEY), "choice", {}
    answers = RatingValue.objects.filter(**{f"rating__assignment__{k}": v for k, v in done.items()},
                                         rating__assignment__study=study, cannot_assess=False)
    return answers, "rating__assignment", F("dimension"), "value", {"dimension": OuterRef("dimension")}


def _level_counts(study: Study) -> dict[tuple[int, date, str], Counter]:
    """(rater id, week, dimension) -> answers counted by level, first ratings only."""
    answers, task, dimension, answer, _ = _answers(study)
    rows = (answers.filter(**{f"{task}__repeat_of__isnull": True})
            .annotate(week=submission_week(task), dim=dimension)
            .values_list(f"{task}__rater_id", "week", "dim", answer).order_by().annotate(n=Count("pk")))
    counts: dict = defaultdict(Counter)
    for rater, week, dim, value, n in rows:
        counts[(rater, week, dim)][value] += n
    return counts


def _retest_pairs(study: Study) -> dict[tuple[int, date, str], list[tuple[str, str]]]:
    """(rater id, week of the repeat, dimension) -> (first answer, repeated answer) pairs."""
    answers, task, dimension, answer, same = _answers(study)
    first = answers.filter(**{task: OuterRef(f"{task}__repeat_of")}, **same).values(answer)[:1]
    rows = (answers.filter(**{f"{task}__repeat_of__isnull": False})
            .annotate(week=submission_week(task), dim=dimension, first=Subquery(first))
            .filter(first__isnull=False)
            .values_list(f"{task}__rater_id", "week", "dim", "first", answer))
    pairs: dict = defaultdict(list)
    for rater, week, dim, before, after in rows:
        pairs[(rater, week, dim)].append((before, after))
    return pairs


# --------------------------------------------------------------------------------------------- figures


def _tally(counts: tuple[int, int] | None) -> Tally | None:
    return Tally(*counts) if counts else None


def _levels(counts: Counter | None, scale: Scale) -> Levels | None:
    """None when no answer of the week is a declared level (answers outside the scale are left out)."""
    levels = Levels(scale, tuple((counts or {}).get(level, 0) for level in scale.levels))
    return levels if levels.n else None


def retest_agreement(pairs: list[tuple[str, str]] | None, scale: Scale) -> Retest | None:
    index = {level: i for i, level in enumerate(scale.levels)}
    usable = [(index[a], index[b]) for a, b in pairs or () if a in index and b in index]
    if not usable:
        return None
    first, second = zip(*usable, strict=True)
    kappa = None
    if len(usable) >= MIN_KAPPA_PAIRS and len(set(first) | set(second)) > 1:
        from sklearn.metrics import cohen_kappa_score  # only here: keeps scikit-learn off every start-up

        kappa = float(cohen_kappa_score(first, second, labels=list(range(len(index))), weights=scale.kappa_weights))
    return Retest(len(usable), sum(a == b for a, b in usable), kappa)


def drift_flag(line: DriftLine, weeks: list[Week]) -> DriftFlag | None:
    """The flag for an anchors or retest line under DRIFT_RULE, None when the rule does not fire or the data
    are too thin to apply it."""
    if line.measure not in ("anchors", "retest"):
        return None
    filled = [(week, cell) for week, cell in zip(weeks, line.cells, strict=True) if cell is not None]
    if len(filled) <= BASELINE_WEEKS:
        return None
    baseline = sum((Tally(cell.compared, cell.agreeing) for _, cell in filled[:BASELINE_WEEKS]), Tally())
    last_week, last = filled[-1]
    if min(baseline.compared, last.compared) < MIN_COMPARED:
        return None
    drop = Fraction(baseline.agreeing, baseline.compared) - Fraction(last.agreeing, last.compared)
    if drop < Fraction(DROP_POINTS, 100):  # exact: 3/5 against 4/5 is a drop of exactly 20 points
        return None
    return DriftFlag(line.measure, line.scale, tuple(week for week, _ in filled[:BASELINE_WEEKS]), baseline,
                     last_week, last)
