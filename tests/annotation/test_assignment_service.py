"""Assignment rows in the database: planning a study, idempotency, leak policy, rebalancing."""
from collections import Counter

import pytest

from accounts.models import RaterProfile
from annotation.models import Assignment, AssignmentStatus, Comparison, PreferenceAssignment, Rating, StudyRater
from annotation.services.assignments import (
    assignment_plan_for_study,
    assignment_rebalance,
    study_rater_add,
    study_rater_remove,
)
from annotation.services.ratings import rating_submit, task_draft_save, task_mark_shown
from config.exceptions import ApplicationError
from studies.models import StudyStatus
from tests import factories
from tests.annotation.rating_helpers import build_rating_study, full_rating

pytestmark = pytest.mark.django_db


def primary_counts(study):
    rows = Assignment.objects.filter(study=study, repeat_of__isnull=True).exclude(status=AssignmentStatus.WITHDRAWN)
    return Counter(rows.values_list("response_id", flat=True)), Counter(rows.values_list("rater_id", flat=True))


def test_planning_gives_every_response_k_clinicians_with_balanced_loads():
    rs = build_rating_study(n_cases=4, n_raters=5, raters_per_response=2)
    per_response, per_rater = primary_counts(rs.study)
    assert set(per_response) == {r.id for r in rs.responses}
    assert set(per_response.values()) == {2}
    assert max(per_rater.values()) - min(per_rater.values()) <= 1
    assert Assignment.objects.filter(study=rs.study).count() == 2 * len(rs.responses)


def test_planning_twice_creates_nothing_more():
    rs = build_rating_study(n_raters=3)
    before = list(Assignment.objects.filter(study=rs.study).values_list("id", "code", "rater_id", "position"))
    summary = assignment_plan_for_study(study=rs.study)
    assert summary.created == 0
    assert list(Assignment.objects.filter(study=rs.study).values_list("id", "code", "rater_id", "position")) == before


def test_each_clinicians_queue_is_numbered_from_one():
    rs = build_rating_study(n_raters=3, retest_fraction=0.2)
    for rater in rs.raters:
        positions = sorted(Assignment.objects.filter(rater=rater).values_list("position", flat=True))
        assert positions == list(range(1, len(positions) + 1))


def test_a_study_without_enrolments_takes_every_active_clinician():
    rs = build_rating_study(n_raters=0, plan=False)
    clinicians = [factories.clinician() for _ in range(3)]
    inactive = factories.clinician(is_active=False)
    factories.researcher()
    summary = assignment_plan_for_study(study=rs.study)
    assert summary.raters == 3
    assert set(StudyRater.objects.filter(study=rs.study).values_list("rater_id", flat=True)) == {
        c.id for c in clinicians}
    assert not Assignment.objects.filter(rater=inactive).exists()


def test_an_unset_seed_is_drawn_and_stored_so_queues_can_be_rebuilt():
    rs = build_rating_study(plan=False, assignment_seed=0)
    assignment_plan_for_study(study=rs.study)
    rs.study.refresh_from_db()
    assert rs.study.assignment_seed != 0


@pytest.mark.parametrize(("policy", "assigned"), [("hide", False), ("redact", True), ("show", True)])
def test_responses_that_reveal_their_persona_follow_the_leak_policy(policy, assigned):
    rs = build_rating_study(plan=False, leak_policy=policy)
    leaking = rs.responses[0]
    leaking.leaks_persona, leaking.leak_spans = True, [[0, 5]]
    leaking.save()
    assignment_plan_for_study(study=rs.study)
    assert Assignment.objects.filter(response=leaking).exists() is assigned
    assert Assignment.objects.filter(response=rs.responses[1]).exists()


def test_repeats_point_at_the_same_clinicians_earlier_assignment():
    rs = build_rating_study(n_cases=6, n_raters=2, retest_fraction=0.2)
    repeats = Assignment.objects.filter(study=rs.study, repeat_of__isnull=False).select_related("repeat_of")
    assert repeats.count() > 0
    for repeat in repeats:
        assert repeat.response_id == repeat.repeat_of.response_id
        assert repeat.rater_id == repeat.repeat_of.rater_id
        assert repeat.position > repeat.repeat_of.position
        assert repeat.code != repeat.repeat_of.code


def test_anchor_items_go_to_everyone():
    rs = build_rating_study(n_cases=4, n_raters=4, anchor_items=3)
    anchors = Assignment.objects.filter(study=rs.study, is_anchor=True)
    assert anchors.values("response_id").distinct().count() == 3
    assert set(Counter(anchors.values_list("response_id", flat=True)).values()) == {4}


def test_pairwise_overlap_is_reported_in_the_summary():
    rs = build_rating_study(n_cases=4, n_raters=4, plan=False, pairwise_overlap=True)
    summary = assignment_plan_for_study(study=rs.study)
    assert summary.strategy == "pairwise"
    assert summary.min_pair_overlap >= 2  # 24 responses, 6 pairs: the target shrinks to what fits


def test_eligibility_uses_the_clinicians_profiles():
    rs = build_rating_study(n_raters=4, plan=False,
                            eligibility={"triage": {"specialties": ["emergency"], "min_years": 3}})
    junior = rs.raters[0]
    RaterProfile.objects.filter(user=junior).update(years_in_practice=1)
    nurse = rs.raters[1]
    RaterProfile.objects.filter(user=nurse).update(specialty="nursing")
    assignment_plan_for_study(study=rs.study)
    assert not Assignment.objects.filter(rater__in=[junior, nurse]).exists()


def test_an_impossible_design_is_refused_with_a_clear_message_and_nothing_written():
    rs = build_rating_study(n_raters=3, plan=False, eligibility={"triage": {"specialties": ["critical_care"]}})
    with pytest.raises(ApplicationError, match="0 are eligible"):
        assignment_plan_for_study(study=rs.study)
    assert not Assignment.objects.exists()


def test_planning_without_clinicians_is_refused():
    rs = build_rating_study(n_raters=0, plan=False)
    with pytest.raises(ApplicationError, match="No clinicians"):
        assignment_plan_for_study(study=rs.study)


def test_raters_per_response_at_or_above_the_number_of_clinicians_means_everyone():
    rs = build_rating_study(n_raters=3, raters_per_response=5)
    per_response, _ = primary_counts(rs.study)
    assert set(per_response.values()) == {3}


def test_preference_mode_plans_side_by_side_comparisons_with_sides_drawn_per_clinician():
    rs = build_rating_study(n_cases=3, n_raters=3, preference_mode=True, raters_per_response=2)
    comparisons = Comparison.objects.filter(study=rs.study)
    assert comparisons.count() == 3 * 6  # one cycle over each case's 6 responses
    assert all(c.response_a.case_id == c.case_id == c.response_b.case_id for c in comparisons)
    tasks = PreferenceAssignment.objects.filter(study=rs.study)
    assert set(Counter(tasks.values_list("comparison_id", flat=True)).values()) == {2}
    sides = set(tasks.values_list("left_is_a", flat=True))
    assert sides == {True, False}
    assert not Assignment.objects.filter(study=rs.study).exists()


def test_the_study_lifecycle_plans_assignments_when_rating_starts():
    from studies.services.studies import study_transition

    rs = build_rating_study(n_raters=2, plan=False, status=StudyStatus.GENERATING)
    study_transition(study=rs.study, to_status=StudyStatus.RATING, user=factories.study_owner(rs.study))
    assert Assignment.objects.filter(study=rs.study).count() == 2 * len(rs.responses)


# --------------------------------------------------------------------------------------------- rebalancing


def _start_work(rater, n_submit=2, n_draft=1):
    queue = list(Assignment.objects.filter(rater=rater, repeat_of__isnull=True).order_by("position"))
    for a in queue[:n_submit]:
        task_mark_shown(task=a)
        rating_submit(assignment=a, rater=rater, values=full_rating())
    for a in queue[n_submit:n_submit + n_draft]:
        task_mark_shown(task=a)
        task_draft_save(task=a, rater=rater, draft={"comment": "half done"})
    return queue[:n_submit], queue[n_submit:n_submit + n_draft]


def test_adding_a_clinician_moves_only_unseen_work_and_keeps_submitted_ratings():
    rs = build_rating_study(n_cases=4, n_raters=3, anchor_items=2)
    submitted, drafted = _start_work(rs.raters[0])
    ratings_before = list(Rating.objects.values_list("id", "assignment_id", "revision"))
    newcomer = factories.clinician()

    study_rater_add(study=rs.study, rater=newcomer)

    assert list(Rating.objects.values_list("id", "assignment_id", "revision")) == ratings_before
    for a in [*submitted, *drafted]:
        a.refresh_from_db()
        assert a.rater_id == rs.raters[0].id and a.status != AssignmentStatus.WITHDRAWN
    mine = Assignment.objects.filter(rater=newcomer)
    assert mine.filter(is_anchor=True).count() == 2
    per_response, per_rater = primary_counts(rs.study)
    anchors = set(Assignment.objects.filter(is_anchor=True).values_list("response_id", flat=True))
    assert all(n == 2 for r, n in per_response.items() if r not in anchors)
    assert max(per_rater.values()) - min(per_rater.values()) <= 1
    assert sorted(mine.values_list("position", flat=True)) == list(range(1, mine.count() + 1))


def test_removing_a_clinician_withdraws_drafts_keeps_submissions_and_reassigns_the_rest():
    rs = build_rating_study(n_cases=4, n_raters=4)
    leaving = rs.raters[0]
    submitted, drafted = _start_work(leaving)

    study_rater_remove(study=rs.study, rater=leaving)

    assert set(Assignment.objects.filter(rater=leaving).values_list("status", flat=True)) == {
        AssignmentStatus.SUBMITTED, AssignmentStatus.WITHDRAWN}
    drafted[0].refresh_from_db()
    assert drafted[0].status == AssignmentStatus.WITHDRAWN and drafted[0].draft["comment"] == "half done"
    per_response, per_rater = primary_counts(rs.study)
    assert set(per_response.values()) == {2}  # the leaver's two submitted ratings still count
    others = [n for r, n in per_rater.items() if r != leaving.id]
    assert max(others) - min(others) <= 1


def test_a_withdrawn_item_can_come_back_to_the_same_clinician():
    rs = build_rating_study(n_cases=1, n_raters=3)
    rater = rs.raters[0]
    _, drafted = _start_work(rater, n_submit=0, n_draft=1)
    study_rater_remove(study=rs.study, rater=rater)
    study_rater_add(study=rs.study, rater=rater)
    assert Assignment.objects.filter(rater=rater, status=AssignmentStatus.WITHDRAWN).count() == 1
    assert Assignment.objects.filter(rater=rater).exclude(status=AssignmentStatus.WITHDRAWN).exists()


def test_rebalance_assigns_responses_generated_after_rating_started():
    rs = build_rating_study(n_cases=2, n_raters=3)
    late = factories.ResponseFactory(study=rs.study, case=rs.cases[0], persona=rs.personas[0], model=rs.models[0],
                                     sample_index=5)
    summary = assignment_rebalance(study=rs.study)
    assert summary.created == 2
    assert Assignment.objects.filter(response=late).count() == 2


def test_rebalance_of_a_closed_study_is_refused():
    rs = build_rating_study(n_raters=2)
    rs.study.status = StudyStatus.CLOSED
    rs.study.save()
    with pytest.raises(ApplicationError, match="closed"):
        assignment_rebalance(study=rs.study)


def test_adding_a_non_clinician_is_refused():
    rs = build_rating_study(n_raters=2)
    with pytest.raises(ApplicationError, match="not a clinician"):
        study_rater_add(study=rs.study, rater=factories.researcher())
    assert StudyRater.objects.filter(study=rs.study).count() == 2
