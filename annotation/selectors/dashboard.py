"""Reads for a study's owners and admins: progress per clinician and items short of raters.

Every figure is aggregated in the database, a fixed handful of queries whatever the study's size:
counts and time per clinician in one grouped query, the median time per item with window functions
(the middle one or two submissions of each clinician), the anchor items' answers grouped by item and
answer, then counted per clinician.

Anchor-item agreement, as the dashboard states it: among the anchor items (every clinician rates them)
that the clinician answered, the share where their safety answer equals the anchor's majority answer.
The majority answer is the answer most clinicians gave to that anchor, counting everyone who answered it;
"cannot assess" is no answer, nor is a calibration (practice) rating; an anchor with fewer than two
answers or a tie for the most common answer has no majority and is left out. In side-by-side preference
mode the answer is the preference itself. Drift (selectors.drift) applies the same definition to every
dimension and splits it, and the median time, by week of submission (`by_week`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, DateField, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone

from accounts.roles import CLINICIAN
from studies.models import LeakPolicy, Response, Study
from studies.schema import study_schema

from ..models import AssignmentStatus, Comparison, Preference, RatingValue, StudyRater
from .rating import OPEN, task_model_for

SAFETY_KEY = "safety"
MIN_ANCHOR_ANSWERS = 2
SHORT_ITEMS_SHOWN = 100


@dataclass(frozen=True)
class RaterRow:
    enrolment: StudyRater
    done: int = 0
    remaining: int = 0
    active_seconds: float = 0.0
    median_seconds: float | None = None
    anchors_compared: int = 0
    anchors_agreeing: int = 0

    @property
    def anchor_agreement(self) -> float | None:
        """0..1, None when no anchor with a majority answer was answered."""
        return self.anchors_agreeing / self.anchors_compared if self.anchors_compared else None


@dataclass(frozen=True)
class ShortItems:
    target: int
    total: int
    below: int
    shown: list  # Response or Comparison rows annotated with `assigned` and `submitted`


def safety_dimension(study: Study) -> dict | None:
    """The rating dimension the anchor agreement compares: "safety", else the schema's first dimension."""
    dimensions = study_schema(study).get("dimensions") or []
    return next((d for d in dimensions if d.get("key") == SAFETY_KEY), dimensions[0] if dimensions else None)


def submission_week(task: str = "") -> TruncWeek:
    """The Monday of the ISO week a task (`task`: the path to it, "" for the task itself) was submitted in,
    in the site's time zone (settings.TIME_ZONE), whatever zone a request activated."""
    return TruncWeek(f"{task}__submitted_at" if task else "submitted_at", output_field=DateField(),
                     tzinfo=timezone.get_default_timezone())


# --------------------------------------------------------------------------------------------- per rater


def study_rater_rows(*, study: Study) -> list[RaterRow]:
    """One row per clinician ever enrolled: those still in the study first, then by username."""
    enrolments = list(study_enrolments(study=study))
    if not enrolments:
        return []
    model = task_model_for(study)
    counts = {
        row["rater_id"]: row for row in model.objects.filter(study=study).exclude(status=AssignmentStatus.WITHDRAWN)
        .values("rater_id").order_by("rater_id").annotate(
            done=Count("id", filter=Q(status=AssignmentStatus.SUBMITTED)),
            remaining=Count("id", filter=Q(status__in=OPEN)),
            active=Sum("active_seconds"),
        )
    }
    medians = median_seconds(study=study)
    anchors = anchor_agreement_counts(study=study)
    rows = []
    for enrolment in enrolments:
        count = counts.get(enrolment.rater_id, {})
        compared, agreeing = anchors.get(enrolment.rater_id, (0, 0))
        rows.append(RaterRow(
            enrolment=enrolment, done=count.get("done", 0), remaining=count.get("remaining", 0),
            active_seconds=float(count.get("active") or 0.0), median_seconds=medians.get(enrolment.rater_id),
            anchors_compared=compared, anchors_agreeing=agreeing,
        ))
    return rows


def median_seconds(*, study: Study, by_week: bool = False) -> dict:
    """Median active seconds per submitted item, per clinician (submissions with no recorded time left out),
    keyed by rater id, or by (rater id, week of submission) with `by_week`. Only each group's middle one or
    two submissions leave the database: row number r of n is a middle one when n <= 2r <= n + 2."""
    tasks = task_model_for(study).objects.filter(study=study, status=AssignmentStatus.SUBMITTED, active_seconds__gt=0)
    groups = ["rater_id", "week"] if by_week else ["rater_id"]
    if by_week:
        tasks = tasks.annotate(week=submission_week())
    ranked = (
        tasks.annotate(
            rank=Window(RowNumber(), partition_by=[F(g) for g in groups],
                        order_by=[F("active_seconds").asc(), F("id").asc()]),
            size=Window(Count("id"), partition_by=[F(g) for g in groups]),
        )
        .annotate(twice=F("rank") * 2)
        .filter(twice__gte=F("size"), twice__lte=F("size") + 2)
        .values_list(*groups, "active_seconds")
    )
    middles: dict = defaultdict(list)
    for *key, seconds in ranked:
        middles[tuple(key) if by_week else key[0]].append(seconds)
    return {key: sum(values) / len(values) for key, values in middles.items()}


# --------------------------------------------------------------------------------------------- anchors


class AnchorAnswers(NamedTuple):
    answers: QuerySet
    task: str  # the paths of the task, item, rater and answer
    item: str
    rater: str
    answer: str


def _anchor_answers(study: Study, dimension: dict | None = None) -> AnchorAnswers | None:
    """The submitted answers to anchor items (first ratings: no test-retest repeat, no calibration item) on
    `dimension` (default: the safety dimension; preferences in preference mode)."""
    if study.preference_mode:
        answers = Preference.objects.filter(
            assignment__study=study, assignment__is_anchor=True, assignment__repeat_of__isnull=True,
            assignment__is_calibration=False, assignment__status=AssignmentStatus.SUBMITTED)
        return AnchorAnswers(answers, "assignment", "assignment__comparison_id", "assignment__rater_id", "choice")
    dimension = dimension or safety_dimension(study)
    if dimension is None:
        return None
    answers = RatingValue.objects.filter(
        rating__assignment__study=study, rating__assignment__is_anchor=True,
        rating__assignment__repeat_of__isnull=True, rating__assignment__is_calibration=False,
        rating__assignment__status=AssignmentStatus.SUBMITTED, dimension=dimension["key"], cannot_assess=False)
    return AnchorAnswers(answers, "rating__assignment", "rating__assignment__response_id",
                         "rating__assignment__rater_id", "value")


def anchor_majorities(*, study: Study, dimension: dict | None = None) -> dict[int, str]:
    """Anchor item id -> its majority answer, for anchors that have one (see the module's docstring)."""
    source = _anchor_answers(study, dimension)
    if source is None:
        return {}
    tallies: dict[int, Counter] = defaultdict(Counter)
    for row in source.answers.values(source.item, source.answer).order_by().annotate(n=Count("pk")):
        tallies[row[source.item]][row[source.answer]] = row["n"]
    majorities = {}
    for item_id, tally in tallies.items():
        top = tally.most_common(2)
        if sum(tally.values()) >= MIN_ANCHOR_ANSWERS and (len(top) == 1 or top[0][1] > top[1][1]):
            majorities[item_id] = top[0][0]
    return majorities


def anchor_agreement_counts(*, study: Study, dimension: dict | None = None, by_week: bool = False) -> dict:
    """Rater id (or (rater id, week of submission) with `by_week`) -> (anchors with a majority that they
    answered, how many of those they answered as the majority), on `dimension` as `_anchor_answers`."""
    majorities = anchor_majorities(study=study, dimension=dimension)
    if not majorities:
        return {}
    source = _anchor_answers(study, dimension)
    agreeing = Q()
    for item_id, value in majorities.items():
        agreeing |= Q(**{source.item: item_id, source.answer: value})
    answers = source.answers.filter(**{f"{source.item}__in": list(majorities)})
    groups = [source.rater, "week"] if by_week else [source.rater]
    if by_week:
        answers = answers.annotate(week=submission_week(source.task))
    rows = (answers.values(*groups).order_by(*groups)
            .annotate(compared=Count("pk"), agreeing=Count("pk", filter=agreeing)))
    return {(row[source.rater], row["week"]) if by_week else row[source.rater]: (row["compared"], row["agreeing"])
            for row in rows}


# --------------------------------------------------------------------------------------------- coverage


def items_below_target(*, study: Study, limit: int = SHORT_ITEMS_SHOWN) -> ShortItems:
    """Items (responses, or comparisons in preference mode) with fewer submitted first ratings than the
    study's raters per response, fewest first, with how many clinicians each is assigned to. Calibration
    (practice) ratings do not count: every agreement figure leaves them out."""
    target = study.raters_per_response
    if study.preference_mode:
        base, related = Comparison.objects.filter(study=study), ("case",)
    else:
        base, related = Response.objects.filter(study=study), ("case", "persona", "model")
        if study.leak_policy == LeakPolicy.HIDE:
            base = base.exclude(leaks_persona=True)
    first = (Q(assignments__repeat_of__isnull=True, assignments__is_calibration=False)
             & ~Q(assignments__status=AssignmentStatus.WITHDRAWN))
    annotated = base.annotate(
        assigned=Count("assignments", filter=first),
        submitted=Count("assignments", filter=first & Q(assignments__status=AssignmentStatus.SUBMITTED)),
    ).filter(submitted__lt=target)
    shown = list(annotated.select_related(*related).order_by("submitted", "assigned", "id")[:limit])
    below = len(shown) if len(shown) < limit else annotated.count()
    return ShortItems(target=target, total=base.count(), below=below, shown=shown)


# --------------------------------------------------------------------------------------------- enrolment


def study_enrolments(*, study: Study) -> QuerySet[StudyRater]:
    return (StudyRater.objects.filter(study=study).select_related("rater", "rater__rater_profile")
            .order_by("-is_active", "rater__username"))


def clinicians_not_enrolled(*, study: Study):
    """Active clinicians who are not (or no longer) taking part in the study, by username."""
    taking_part = StudyRater.objects.filter(study=study, is_active=True).values("rater_id")
    return (get_user_model().objects.filter(is_active=True, groups__name=CLINICIAN).exclude(pk__in=taking_part)
            .select_related("rater_profile").distinct().order_by("username"))
