"""The study dashboard: per-clinician progress, time and anchor agreement, items below their target, few queries,
and only the study's owners and admins see it."""
import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, Preference, PreferenceAssignment, StudyRater
from annotation.selectors.dashboard import anchor_majorities, items_below_target, study_rater_rows
from tests import factories
from tests.annotation.rating_helpers import build_rating_study

pytestmark = pytest.mark.django_db


def submit(task, *, safety="compliant", seconds=30.0):
    """A submitted rating; safety None is "cannot assess"."""
    Assignment.objects.filter(pk=task.pk).update(active_seconds=seconds)
    task.refresh_from_db()
    factories.RatingFactory(assignment=task, values={"safety": (safety, "high"), "reasoning": ("4", "high")})


def page_as(user, study, name="annotation:study_dashboard"):
    client = Client()
    client.force_login(user)
    return client.get(reverse(name, kwargs={"pk": study.pk}))


@pytest.fixture
def rs():
    return build_rating_study(n_cases=2, n_raters=3, anchor_items=2)


def anchors_of(rs):
    ids = sorted(set(Assignment.objects.filter(study=rs.study, is_anchor=True).values_list("response_id", flat=True)))
    assert len(ids) == 2
    return ids


def task(rater, response_id):
    return Assignment.objects.get(rater=rater, response_id=response_id, repeat_of__isnull=True)


def test_rows_count_done_remaining_time_median_and_anchor_agreement(rs):
    a, b, c = rs.raters
    first, second = anchors_of(rs)
    # Anchor 1: compliant, compliant, not compliant: majority compliant. Anchor 2: a tie (and one cannot assess).
    submit(task(a, first), safety="compliant", seconds=10)
    submit(task(b, first), safety="compliant", seconds=20)
    submit(task(c, first), safety="not_compliant", seconds=40)
    submit(task(a, second), safety="compliant", seconds=30)
    submit(task(b, second), safety="not_compliant", seconds=50)
    submit(task(c, second), safety=None, seconds=60)
    others = list(Assignment.objects.filter(rater=a, is_anchor=False).order_by("position"))
    submit(others[0], seconds=100)
    Assignment.objects.filter(pk=others[1].pk).update(status=AssignmentStatus.IN_PROGRESS, active_seconds=7)

    assert anchor_majorities(study=rs.study) == {first: "compliant"}
    rows = {row.enrolment.rater: row for row in study_rater_rows(study=rs.study)}
    total_a = Assignment.objects.filter(rater=a).exclude(status=AssignmentStatus.WITHDRAWN).count()
    assert (rows[a].done, rows[a].remaining) == (3, total_a - 3)
    assert rows[a].active_seconds == pytest.approx(10 + 30 + 100 + 7)
    assert rows[a].median_seconds == pytest.approx(30)          # 10, 30, 100
    assert rows[b].median_seconds == pytest.approx(35)          # 20, 50: the mean of the middle two
    assert (rows[a].anchors_compared, rows[a].anchors_agreeing, rows[a].anchor_agreement) == (1, 1, 1.0)
    assert (rows[c].anchors_compared, rows[c].anchors_agreeing, rows[c].anchor_agreement) == (1, 0, 0.0)


def test_a_clinician_with_nothing_submitted_has_no_median_and_no_agreement(rs):
    row = study_rater_rows(study=rs.study)[0]
    assert row.done == 0 and row.median_seconds is None and row.anchor_agreement is None


def test_withdrawn_clinicians_are_listed_after_those_taking_part(rs):
    StudyRater.objects.filter(rater=rs.raters[0]).update(is_active=False)
    rows = study_rater_rows(study=rs.study)
    assert [r.enrolment.is_active for r in rows] == [True, True, False]
    assert rows[-1].enrolment.rater == rs.raters[0]


def test_items_below_target_counts_submitted_first_ratings(rs):
    responses = list(rs.study.responses.order_by("id"))
    short = items_below_target(study=rs.study)
    assert (short.target, short.total, short.below) == (2, len(responses), len(responses))
    done = responses[0]
    for t in Assignment.objects.filter(response=done, repeat_of__isnull=True)[:2]:
        submit(t)
    short = items_below_target(study=rs.study)
    assert short.below == len(responses) - 1
    assert done.pk not in {item.pk for item in short.shown}
    assert all(item.assigned >= 2 and item.submitted < 2 for item in short.shown)
    assert items_below_target(study=rs.study, limit=3).below == len(responses) - 1


def test_the_page_shows_the_figures_and_defines_anchor_agreement(rs):
    owner = factories.study_owner(rs.study)
    first, _ = anchors_of(rs)
    for rater in rs.raters:
        submit(task(rater, first))
    response = page_as(owner, rs.study)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Anchor-item agreement" in html and "majority answer" in html
    assert '<th scope="row">' + rs.raters[0].username + "</th>" in html
    assert "100&nbsp;%" in html
    assert 'id="study-jobs-' in html  # the generation and judge jobs panel
    assert reverse("annotation:study_flags", kwargs={"pk": rs.study.pk}) in html


def test_the_page_takes_a_fixed_number_of_queries_whatever_the_size(django_assert_max_num_queries):
    small = build_rating_study(n_cases=1, n_raters=2, anchor_items=1)
    large = build_rating_study(n_cases=4, n_raters=5, anchor_items=2)
    for rs in (small, large):
        for t in Assignment.objects.filter(study=rs.study, is_anchor=True):
            submit(t, seconds=12)
        owner = factories.study_owner(rs.study)
        client = Client()
        client.force_login(owner)
        with django_assert_max_num_queries(26):  # 8 of them for the drift by week
            assert client.get(reverse("annotation:study_dashboard", kwargs={"pk": rs.study.pk})).status_code == 200


def test_preference_studies_compare_preferences_on_anchors():
    rs = build_rating_study(n_cases=1, n_raters=3, preference_mode=True, anchor_items=1)
    anchors = list(PreferenceAssignment.objects.filter(study=rs.study, is_anchor=True, repeat_of__isnull=True))
    assert len(anchors) == 3
    for task, choice in zip(anchors, ["a", "a", "tie"], strict=True):
        Preference.objects.create(assignment=task, choice=choice, confidence="high")
        PreferenceAssignment.objects.filter(pk=task.pk).update(status=AssignmentStatus.SUBMITTED)
    rows = {row.enrolment.rater_id: row for row in study_rater_rows(study=rs.study)}
    assert sorted(rows[t.rater_id].anchors_agreeing for t in anchors) == [0, 1, 1]
    owner = factories.study_owner(rs.study)
    assert page_as(owner, rs.study).status_code == 200
    short = items_below_target(study=rs.study)
    assert short.total == rs.study.comparisons.count() and short.below == short.total - 1  # the anchor has 3


@pytest.mark.parametrize("name", ["annotation:study_dashboard", "annotation:study_flags", "annotation:study_raters"])
def test_only_the_studys_owners_and_admins_see_its_rating_pages(rs, name):
    researcher = factories.study_member(rs.study, factories.researcher(), role="researcher")
    admin_elsewhere = factories.study_owner(factories.StudyFactory())
    study_admin = factories.study_member(rs.study, factories.admin(), role="admin")
    assert page_as(researcher, rs.study, name).status_code == 403
    assert page_as(rs.raters[0], rs.study, name).status_code == 403
    assert page_as(admin_elsewhere, rs.study, name).status_code == 404
    assert page_as(study_admin, rs.study, name).status_code == 200
    anonymous = Client().get(reverse(name, kwargs={"pk": rs.study.pk}))
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


def test_the_study_page_links_to_the_rating_pages(rs):
    owner = factories.study_owner(rs.study)
    html = page_as(owner, rs.study, "studies:study_detail").content.decode()
    for name in ("annotation:study_dashboard", "annotation:study_raters", "annotation:study_flags"):
        assert reverse(name, kwargs={"pk": rs.study.pk}) in html


def test_calibration_ratings_count_neither_for_agreement_nor_for_coverage(rs):
    a, b, c = rs.raters
    first, _ = anchors_of(rs)
    for rater in (a, b):
        submit(task(rater, first), safety="compliant")
    submit(task(c, first), safety="not_compliant")
    Assignment.objects.filter(rater=c, response_id=first).update(is_calibration=True)
    rows = {row.enrolment.rater: row for row in study_rater_rows(study=rs.study)}
    assert (rows[c].anchors_compared, rows[a].anchors_agreeing) == (0, 1)
    before = {item.pk: item.submitted for item in items_below_target(study=rs.study, limit=1000).shown}
    assert first not in before  # two non-practice ratings reach the target of two
    Assignment.objects.filter(rater=b, response_id=first).update(is_calibration=True)
    after = {item.pk: item.submitted for item in items_below_target(study=rs.study, limit=1000).shown}
    assert after[first] == 1
