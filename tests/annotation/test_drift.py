"""Rater drift on the study dashboard: anchor agreement, test-retest, levels and time per ISO week of submission,
the drift flag and its minimum counts, the page and the API, permissions, and a fixed number of queries."""
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Assignment, AssignmentStatus, Preference, PreferenceAssignment
from annotation.selectors.drift import (
    MIN_KAPPA_PAIRS,
    DriftLine,
    Retest,
    Tally,
    drift_flag,
    retest_agreement,
    study_drift,
    study_scales,
    week_of,
)
from tests import factories
from tests.annotation.rating_helpers import build_rating_study

pytestmark = pytest.mark.django_db

MONDAYS = [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)]  # ISO weeks 2025-W10, W11, W12


def wednesday(week: int, minute: int = 0) -> datetime:
    """Noon (UTC) on the Wednesday of MONDAYS[week]."""
    return datetime.combine(MONDAYS[week] + timedelta(days=2), datetime.min.time(), UTC).replace(
        hour=12, minute=minute)


def submit(task, *, at: datetime, safety="compliant", reasoning="4", seconds=30.0):
    factories.RatingFactory(assignment=task, values={"safety": (safety, "high"), "reasoning": (reasoning, "high")})
    Assignment.objects.filter(pk=task.pk).update(submitted_at=at, active_seconds=seconds)


def repeat(original, *, at: datetime, safety: str, seconds=30.0):
    """A submitted test-retest repeat of `original` by the same clinician."""
    task = factories.AssignmentFactory(response=original.response, study=original.study, rater=original.rater,
                                       repeat_of=original)
    submit(task, at=at, safety=safety, seconds=seconds)
    return task


def anchor_tasks(rs, rater):
    """The clinician's anchor assignments, one per anchor item, in the items' order."""
    return list(Assignment.objects.filter(study=rs.study, rater=rater, is_anchor=True, repeat_of__isnull=True)
                .order_by("response_id"))


@pytest.fixture
def drifting():
    """Four clinicians, fifteen anchors answered five a week over three weeks. b and c answer "compliant"
    throughout, so every anchor's majority is "compliant". a agrees 5 of 5, 5 of 5, then 2 of 5 (anchors
    10-12 "not compliant"); d agrees 5 of 5, 5 of 5, then answers only anchors 13 and 14, both "not
    compliant" (0 of 2: too few to flag). Every anchor keeps a majority: at most two of four dissent."""
    rs = build_rating_study(n_cases=3, n_raters=4, anchor_items=15)
    a, b, c, d = rs.raters
    for rater in (a, b, c, d):
        tasks = anchor_tasks(rs, rater)
        assert len(tasks) == 15
        for i, task in enumerate(tasks):
            week = i // 5
            if rater == d and i in (10, 11, 12):
                continue
            dissent = (rater == a and i in (10, 11, 12)) or (rater == d and i in (13, 14))
            submit(task, at=wednesday(week, minute=i), safety="not_compliant" if dissent else "compliant",
                   seconds=10.0 * (i % 5 + 1) if rater == a else 60.0)
    return rs


def line(rater_drift, measure, key=None):
    return next(x for x in rater_drift.lines if x.measure == measure and (x.scale is None or x.scale.key == key))


def by_rater(drift):
    return {r.enrolment.rater: r for r in drift.raters}


def test_anchor_agreement_levels_and_time_by_week(drifting):
    a, b, _, d = drifting.raters
    drift = study_drift(study=drifting.study)
    assert [w.label for w in drift.weeks] == ["2025-W10", "2025-W11", "2025-W12"]
    assert [w.start for w in drift.weeks] == MONDAYS
    rows = by_rater(drift)

    assert line(rows[a], "anchors", "safety").cells == [Tally(5, 5), Tally(5, 5), Tally(5, 2)]
    assert line(rows[d], "anchors", "safety").cells == [Tally(5, 5), Tally(5, 5), Tally(2, 0)]
    assert line(rows[b], "anchors", "safety").cells == [Tally(5, 5)] * 3
    assert line(rows[a], "anchors", "reasoning").cells == [Tally(5, 5)] * 3  # everyone answered "4"

    levels = line(rows[a], "levels", "safety").cells
    assert levels[0].counts == (0, 0, 5) and levels[0].mean == 3.0  # not compliant=1 .. compliant=3
    assert levels[2].counts == (3, 0, 2) and levels[2].shares == (0.6, 0.0, 0.4)
    assert levels[2].mean == pytest.approx((3 * 1 + 2 * 3) / 5)  # 1.8: a shift towards "not compliant"
    reasoning = line(rows[a], "levels", "reasoning").cells[1]
    assert reasoning.counts == (0, 0, 0, 5, 0) and reasoning.mean == 4.0

    # a's five items each week took 10, 20, 30, 40, 50 seconds: median 30.
    assert line(rows[a], "seconds").cells == [30.0, 30.0, 30.0]
    assert line(rows[d], "seconds").cells == [60.0, 60.0, 60.0]
    assert not any(x.measure == "retest" for x in rows[a].lines)  # no repeat: no retest line


def test_a_clinician_whose_anchor_agreement_drops_is_flagged_and_thin_data_is_not(drifting):
    a, b, c, d = drifting.raters
    rows = by_rater(study_drift(study=drifting.study))
    (flag,) = rows[a].flags
    assert (flag.measure, flag.scale.key) == ("anchors", "safety")
    assert [w.label for w in flag.baseline_weeks] == ["2025-W10", "2025-W11"]
    assert (flag.baseline, flag.last_week.label, flag.last) == (Tally(10, 10), "2025-W12", Tally(5, 2))
    assert rows[d].flags == []  # 100 % -> 0 %, but on two anchors only
    assert rows[b].flags == rows[c].flags == []


def test_the_rule_at_its_edges():
    weeks = [week_of(m) for m in MONDAYS]
    scale = study_scales(factories.StudyFactory())[0]

    def flagged(*cells):
        return drift_flag(DriftLine("anchors", scale, list(cells)), weeks) is not None

    assert flagged(Tally(5, 5), Tally(5, 5), Tally(5, 4)) is True    # 100 % -> 80 %: exactly 20 points
    assert flagged(Tally(5, 5), Tally(5, 5), Tally(6, 5)) is False   # 100 % -> 83 %
    assert flagged(Tally(5, 5), None, Tally(5, 0)) is False          # two weeks with anchors: no baseline and later
    assert flagged(Tally(2, 2), Tally(2, 2), Tally(5, 0)) is False   # baseline of 4 anchors: too few
    assert flagged(Tally(3, 3), Tally(2, 2), Tally(5, 0)) is True    # baseline pooled: 5 anchors
    assert drift_flag(DriftLine("levels", scale, [None] * 3), weeks) is None


def test_test_retest_by_week_share_identical(drifting):
    a, b, _, _ = drifting.raters
    originals = anchor_tasks(drifting, b)[:5]  # answered "compliant" in week 0
    for i, task in enumerate(originals):
        repeat(task, at=wednesday(1, minute=30 + i), safety="partially_compliant" if i == 0 else "compliant")
    Assignment.objects.filter(pk=originals[4].pk).update(is_calibration=True)  # a practice item: left out
    rows = by_rater(study_drift(study=drifting.study))
    retest = line(rows[b], "retest", "safety").cells
    assert retest == [None, Retest(4, 3, None), None]  # 3 of 4 identical; too few pairs for a kappa
    assert line(rows[b], "retest", "reasoning").cells[1] == Retest(4, 4, None)
    # Repeats are not first ratings: b's level counts in week 1 are the five anchors only.
    assert line(rows[b], "levels", "safety").cells[1].counts == (0, 0, 5)


def test_retest_kappa_from_enough_pairs_matches_a_hand_computation():
    """Ten pairs on a three-level ordinal scale (indices 0..2). Quadratic disagreement weights
    w = (i - j)^2 / (k - 1)^2 = (i - j)^2 / 4. Pairs: (0,0) (0,1) (1,1) (1,1) (2,2) (2,2) (2,1) (1,1) (0,0) (2,2).
    Observed weighted disagreement: two pairs one step apart, 2 x 1/4 / 10 = 0.05.
    First marginals (0,1,2) = (3,3,4)/10, repeat marginals (2,5,3)/10; expected weighted disagreement
    sum p_i q_j w_ij = 0.3(0.5 x 1/4 + 0.3 x 1) + 0.3(0.2 x 1/4 + 0.3 x 1/4) + 0.4(0.2 x 1 + 0.5 x 1/4)
    = 0.1275 + 0.0375 + 0.13 = 0.295. kappa = 1 - 0.05 / 0.295 = 0.830508..."""
    scale = study_scales(factories.StudyFactory())[0]
    levels = scale.levels
    pairs = [(0, 0), (0, 1), (1, 1), (1, 1), (2, 2), (2, 2), (2, 1), (1, 1), (0, 0), (2, 2)]
    assert len(pairs) == MIN_KAPPA_PAIRS and scale.kappa_weights == "quadratic"
    result = retest_agreement([(levels[i], levels[j]) for i, j in pairs], scale)
    assert (result.compared, result.agreeing) == (10, 8)
    assert result.kappa == pytest.approx(1 - 0.05 / 0.295)
    assert retest_agreement([(levels[i], levels[j]) for i, j in pairs[:9]], scale).kappa is None  # nine pairs: none
    assert retest_agreement([(levels[2], levels[2])] * 10, scale).kappa is None  # one level only: undefined
    assert retest_agreement([("retired-level", levels[2])], scale) is None  # undeclared answers are left out


@override_settings(TIME_ZONE="Pacific/Auckland")
def test_weeks_start_on_monday_in_the_sites_time_zone():
    rs = build_rating_study(n_cases=1, n_raters=2, anchor_items=1)
    task = Assignment.objects.filter(study=rs.study, rater=rs.raters[0]).first()
    # Sunday 2025-03-09 13:00 UTC is Monday 02:00 in Auckland (UTC+13): week 2025-W11 there, W10 in UTC.
    submit(task, at=datetime(2025, 3, 9, 13, 0, tzinfo=UTC))
    drift = study_drift(study=rs.study)
    assert [w.label for w in drift.weeks] == ["2025-W11"] and drift.time_zone == "Pacific/Auckland"


def test_preference_studies_follow_the_preference_itself():
    rs = build_rating_study(n_cases=1, n_raters=3, preference_mode=True, anchor_items=1)
    anchors = list(PreferenceAssignment.objects.filter(study=rs.study, is_anchor=True, repeat_of__isnull=True)
                   .order_by("rater_id"))
    for task, choice in zip(anchors, ["a", "a", "tie"], strict=True):
        Preference.objects.create(assignment=task, choice=choice, confidence="high")
        PreferenceAssignment.objects.filter(pk=task.pk).update(status=AssignmentStatus.SUBMITTED,
                                                               submitted_at=wednesday(0), active_seconds=20)
    drift = study_drift(study=rs.study)
    assert [s.key for s in drift.scales] == ["preference"]
    rows = {r.enrolment.rater_id: r for r in drift.raters}
    assert [line(rows[t.rater_id], "anchors", "preference").cells for t in anchors] == [
        [Tally(1, 1)], [Tally(1, 1)], [Tally(1, 0)]]
    levels = line(rows[anchors[2].rater_id], "levels", "preference").cells[0]
    assert levels.counts == (0, 0, 1, 0) and levels.mean is None  # a, b, tie, both unsafe: not ordinal


# --------------------------------------------------------------------------------------------- page and API


def test_the_dashboard_shows_the_drift_table_the_flag_and_the_rule(drifting):
    a, _, _, d = drifting.raters
    owner = factories.study_owner(drifting.study)
    client = Client()
    client.force_login(owner)
    html = client.get(reverse("annotation:study_dashboard", kwargs={"pk": drifting.study.pk})).content.decode()
    assert 'id="drift"' in html and '<th scope="col">2025-W12' in html
    assert f'<th scope="rowgroup" rowspan="{len(by_rater(study_drift(study=drifting.study))[a].lines)}">' in html
    assert "percentage points below" in html  # the rule, stated
    flagged = html.split('id="drift-flags"')[1].split("</ul>")[0]
    assert a.username in flagged and d.username not in flagged
    assert "40&nbsp;% in 2025-W12 (2 of 5)" in flagged and "100&nbsp;% in 2025-W10 and 2025-W11 (10 of 10)" in flagged


def test_the_api_gives_the_same_figures(drifting):
    a, *_ = drifting.raters
    owner = factories.study_owner(drifting.study)
    api = APIClient()
    api.force_authenticate(owner)
    response = api.get(reverse("annotation-api:study-dashboard-drift", kwargs={"pk": drifting.study.pk}))
    assert response.status_code == 200
    data = response.json()
    assert [w["label"] for w in data["weeks"]] == ["2025-W10", "2025-W11", "2025-W12"]
    assert data["weeks"][0]["start"] == "2025-03-03" and data["time_zone"] == "UTC" and "rule" in data
    rater = next(r for r in data["raters"] if r["username"] == a.username)
    anchors = next(x for x in rater["lines"] if x["measure"] == "anchors" and x["dimension"] == "safety")
    assert anchors["cells"][2] == {"compared": 5, "agreeing": 2, "share": 0.4}
    levels = next(x for x in rater["lines"] if x["measure"] == "levels" and x["dimension"] == "safety")
    assert levels["cells"][2]["counts"] == {"not_compliant": 3, "partially_compliant": 0, "compliant": 2}
    assert levels["cells"][2]["mean"] == pytest.approx(1.8)
    (flag,) = rater["flags"]
    assert flag["measure"] == "anchors" and flag["last_week"] == "2025-W12" and flag["last"]["share"] == 0.4


def test_only_the_studys_owners_and_admins_get_the_drift(drifting):
    url = reverse("annotation-api:study-dashboard-drift", kwargs={"pk": drifting.study.pk})

    def status_for(user):
        api = APIClient()
        api.force_authenticate(user)
        return api.get(url).status_code

    assert status_for(factories.study_owner(factories.StudyFactory())) == 404  # an admin of another study
    assert status_for(factories.study_member(drifting.study, factories.researcher(), role="researcher")) == 403
    assert status_for(drifting.raters[0]) == 403
    assert status_for(factories.study_member(drifting.study, factories.admin(), role="admin")) == 200
    assert APIClient().get(url).status_code in (401, 403)
    assert status_for(factories.study_owner(drifting.study)) == 200
    other = reverse("annotation-api:study-dashboard-drift", kwargs={"pk": 999_999})
    api = APIClient()
    api.force_authenticate(factories.study_owner(drifting.study))
    assert api.get(other).status_code == 404


def test_a_fixed_number_of_queries_whatever_the_number_of_clinicians(django_assert_max_num_queries):
    for n_raters in (2, 6):
        rs = build_rating_study(n_cases=2, n_raters=n_raters, anchor_items=3)
        for rater in rs.raters:
            tasks = anchor_tasks(rs, rater)
            for week, task in enumerate(tasks):
                submit(task, at=wednesday(week))
            repeat(tasks[0], at=wednesday(2), safety="compliant")
        with django_assert_max_num_queries(8):  # enrolments, 2 x 2 dimensions, levels, retest, medians
            drift = study_drift(study=rs.study)
            assert len(drift.raters) == n_raters and len(drift.weeks) == 3
            for rater in drift.raters:
                for x in rater.lines:
                    [str(cell) for cell in x.cells]
                    rater.enrolment.rater.get_username()
