"""Rating services: submission, idempotency, revisions, drafts, time on task, flags, mail, progress."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import (
    Assignment,
    AssignmentStatus,
    ItemFlag,
    Preference,
    PreferenceAssignment,
    PreferenceRevision,
    Rating,
    RatingRevision,
    RatingValue,
)
from annotation.selectors.rating import assignment_next_for_rater, duration_label, rater_progress
from annotation.services.ratings import (
    item_flag_create,
    preference_submit,
    rating_submit,
    task_draft_save,
    task_mark_shown,
)
from config.exceptions import ApplicationError
from studies.models import StudyStatus
from tests.annotation.rating_helpers import PERSONAS, build_rating_study, full_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    rs = build_rating_study(n_cases=2, n_raters=2)
    rater = rs.raters[0]
    first = Assignment.objects.filter(rater=rater).order_by("position").first()
    return rs, rater, first


def nothing_stored():
    return not Rating.objects.exists() and not RatingValue.objects.exists() and not RatingRevision.objects.exists()


def test_submitting_stores_the_rating_its_values_and_revision_one(setup):
    rs, rater, a = setup
    rating = rating_submit(assignment=a, rater=rater, values=full_rating(), comment="Clear.")
    a.refresh_from_db()
    assert a.status == AssignmentStatus.SUBMITTED and a.submitted_at is not None and a.draft == {}
    assert {(v.dimension, v.value, v.confidence, v.cannot_assess) for v in rating.values.all()} == {
        ("safety", "compliant", "high", False), ("reasoning", "4", "medium", False)}
    revision = rating.revisions.get()
    assert revision.revision == 1 and revision.changed_by == rater and revision.values["comment"] == "Clear."


def test_cannot_assess_is_stored_as_its_own_state_never_as_a_score_or_a_gap(setup):
    _, rater, a = setup
    rating = rating_submit(assignment=a, rater=rater,
                           values=full_rating(reasoning={"cannot_assess": True, "confidence": "high"}))
    reasoning = rating.values.get(dimension="reasoning")
    assert reasoning.cannot_assess and reasoning.value == "" and reasoning.confidence == ""
    assert rating.values.count() == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"safety": {"value": "compliant", "confidence": "high"}}, "reasoning"),
        (full_rating(safety={"value": "compliant"}), "safety__confidence"),
        (full_rating(safety={"value": "very safe", "confidence": "high"}), "safety"),
        (full_rating(safety={"value": "compliant", "confidence": "certain"}), "safety__confidence"),
        (full_rating(safety={"value": "compliant", "cannot_assess": True}), "safety"),
        ({**full_rating(), "empathy": {"value": "5"}}, "empathy"),
    ],
)
def test_incomplete_or_invalid_ratings_are_refused_naming_the_field_and_nothing_is_stored(setup, values, field):
    _, rater, a = setup
    with pytest.raises(ApplicationError) as exc:
        rating_submit(assignment=a, rater=rater, values=values)
    assert field in exc.value.extra["fields"]
    assert nothing_stored()
    a.refresh_from_db()
    assert a.status == AssignmentStatus.PENDING


def test_a_dangerous_flag_needs_a_rationale(setup):
    _, rater, a = setup
    with pytest.raises(ApplicationError) as exc:
        rating_submit(assignment=a, rater=rater, values=full_rating(), is_dangerous=True, dangerous_rationale=" ")
    assert "dangerous_rationale" in exc.value.extra["fields"]
    assert nothing_stored()


def test_a_dangerous_output_emails_the_safety_lead_once_without_revealing_persona_or_model(
        setup, mailoutbox, django_capture_on_commit_callbacks):
    rs, rater, a = setup
    with django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=a, rater=rater, values=full_rating(), is_dangerous=True,
                      dangerous_rationale="Advises doubling an anticoagulant.")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["safety@example.org"]
    assert "Advises doubling an anticoagulant." in mail.body and a.response.code in mail.body
    for secret in [p["name"] for p in PERSONAS] + [m.name for m in rs.models] + [m.model_path for m in rs.models]:
        assert secret not in mail.body and secret not in mail.subject
    with django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=a, rater=rater, values=full_rating(), is_dangerous=True,
                      dangerous_rationale="Also wrong dose.", reason="More detail")
    assert len(mailoutbox) == 1


def test_without_a_safety_lead_the_owner_is_told(setup, mailoutbox, django_capture_on_commit_callbacks):
    rs, rater, a = setup
    from tests import factories

    rs.study.safety_lead_email = ""
    rs.study.owner = factories.admin(email="owner@example.org")
    rs.study.save()
    with django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=a, rater=rater, values=full_rating(), is_dangerous=True, dangerous_rationale="x")
    assert mailoutbox[0].to == ["owner@example.org"]


def test_submitting_the_same_answer_twice_keeps_one_rating_and_one_revision(setup):
    _, rater, a = setup
    first = rating_submit(assignment=a, rater=rater, values=full_rating(), comment="ok")
    second = rating_submit(assignment=a, rater=rater, values=full_rating(), comment="ok")
    assert first.pk == second.pk
    assert Rating.objects.count() == 1 and RatingRevision.objects.count() == 1


def test_a_retry_with_the_same_idempotency_key_returns_the_stored_rating_unchanged(setup):
    _, rater, a = setup
    rating_submit(assignment=a, rater=rater, values=full_rating(), idempotency_key="k-1")
    again = rating_submit(assignment=a, rater=rater, values=full_rating(), idempotency_key="k-1")
    assert again.values.get(dimension="safety").value == "compliant"
    with pytest.raises(ApplicationError) as reused:  # the same key with another answer is not a retry
        rating_submit(assignment=a, rater=rater, values=full_rating(safety={"value": "not_compliant",
                                                                           "confidence": "low"}),
                      idempotency_key="k-1")
    assert reused.value.status_code == 409
    assert RatingRevision.objects.count() == 1


def test_changing_a_submitted_rating_needs_a_reason_and_nothing_changes_without_one(setup):
    _, rater, a = setup
    rating_submit(assignment=a, rater=rater, values=full_rating())
    changed = full_rating(safety={"value": "not_compliant", "confidence": "high"})
    with pytest.raises(ApplicationError) as exc:
        rating_submit(assignment=a, rater=rater, values=changed)
    assert exc.value.status_code == 409 and "reason" in exc.value.extra["fields"]
    assert Rating.objects.get().revision == 1
    assert RatingValue.objects.get(dimension="safety").value == "compliant"


def test_revisions_are_appended_with_who_when_old_and_new_values_and_the_reason(setup):
    _, rater, a = setup
    rating_submit(assignment=a, rater=rater, values=full_rating())
    changed = full_rating(safety={"value": "not_compliant", "confidence": "high"})
    rating = rating_submit(assignment=a, rater=rater, values=changed, reason="Missed the drug interaction")
    assert rating.revision == 2
    assert rating.values.get(dimension="safety").value == "not_compliant"
    old, new = rating.revisions.order_by("revision")
    assert old.values["values"]["safety"]["value"] == "compliant"
    assert new.values["values"]["safety"]["value"] == "not_compliant"
    assert new.reason == "Missed the drug interaction" and new.changed_by == rater and new.created_at
    with pytest.raises(ValueError, match="append-only"):
        old.save()
    with pytest.raises(ValueError, match="append-only"):
        old.delete()


def test_a_closed_study_refuses_submissions_revisions_and_drafts_and_nothing_changes(setup):
    rs, rater, a = setup
    second = Assignment.objects.filter(rater=rater).order_by("position")[1]
    rating_submit(assignment=second, rater=rater, values=full_rating())
    rs.study.status = StudyStatus.CLOSED
    rs.study.save()
    with pytest.raises(ApplicationError, match="closed") as exc:
        rating_submit(assignment=a, rater=rater, values=full_rating())
    assert exc.value.status_code == 409
    with pytest.raises(ApplicationError, match="closed"):
        rating_submit(assignment=second, rater=rater, values=full_rating(safety={"value": "not_compliant",
                                                                                 "confidence": "low"}), reason="x")
    with pytest.raises(ApplicationError, match="closed"):
        task_draft_save(task=a, rater=rater, draft={"comment": "late"})
    assert Rating.objects.count() == 1 and RatingRevision.objects.count() == 1
    a.refresh_from_db()
    assert a.draft == {} and a.status == AssignmentStatus.PENDING


def test_another_clinicians_assignment_cannot_be_submitted(setup):
    rs, _, a = setup
    with pytest.raises(ApplicationError) as exc:
        rating_submit(assignment=a, rater=rs.raters[1], values=full_rating())
    assert exc.value.status_code == 404
    assert nothing_stored()


def test_a_draft_is_saved_marks_the_item_started_and_is_what_the_next_device_resumes(setup):
    rs, rater, a = setup
    task_draft_save(task=a, rater=rater, draft={"values": {"safety": {"value": "compliant"}, "bogus": {}},
                                                "comment": "so far", "unknown": "dropped"})
    a.refresh_from_db()
    assert a.status == AssignmentStatus.IN_PROGRESS and a.draft_saved_at is not None
    assert a.draft["values"] == {"safety": {"value": "compliant", "confidence": "", "cannot_assess": False}}
    assert a.draft["comment"] == "so far" and "unknown" not in a.draft
    assert assignment_next_for_rater(rater=rater, study=rs.study) == a


def test_active_time_keeps_the_largest_report_and_never_exceeds_the_elapsed_time(setup):
    _, rater, a = setup
    Assignment.objects.filter(pk=a.pk).update(updated_at=timezone.now() - timedelta(seconds=60))
    a.refresh_from_db()
    task_draft_save(task=a, rater=rater, draft={}, active_seconds=40)
    a.refresh_from_db()
    assert a.active_seconds == pytest.approx(40)
    task_draft_save(task=a, rater=rater, draft={}, active_seconds=30)  # an older tab reports less
    a.refresh_from_db()
    assert a.active_seconds == pytest.approx(40)
    task_draft_save(task=a, rater=rater, draft={}, active_seconds=100_000)  # impossible: clamped
    a.refresh_from_db()
    assert 40 < a.active_seconds < 50
    with pytest.raises(ApplicationError):
        task_draft_save(task=a, rater=rater, draft={}, active_seconds="nan")


def test_the_display_position_is_recorded_once_in_the_clinicians_viewing_order(setup):
    _, rater, a = setup
    queue = list(Assignment.objects.filter(rater=rater).order_by("position"))
    task_mark_shown(task=queue[2])
    task_mark_shown(task=queue[0])
    task_mark_shown(task=queue[2])
    queue[0].refresh_from_db()
    queue[2].refresh_from_db()
    assert (queue[2].display_position, queue[0].display_position) == (1, 2)


def test_progress_counts_submitted_items_and_estimates_time_from_the_clinicians_own_pace(setup):
    rs, rater, _ = setup
    queue = list(Assignment.objects.filter(rater=rater).order_by("position"))
    assert rater_progress(rater=rater, study=rs.study).seconds_left is None
    for a, seconds in zip(queue[:3], (20, 40, 60), strict=False):
        rating_submit(assignment=a, rater=rater, values=full_rating())
        Assignment.objects.filter(pk=a.pk).update(active_seconds=seconds)
    progress = rater_progress(rater=rater, study=rs.study)
    assert (progress.done, progress.total) == (3, len(queue))
    assert progress.seconds_left == pytest.approx(40 * (len(queue) - 3))
    assert progress.label == f"3 of {len(queue)}, {duration_label(progress.seconds_left)} left"
    assert duration_label(1500) == "about 25 min" and duration_label(7800) == "about 2 h 10 min"


def test_a_problem_flag_is_recorded_and_the_item_stays_rateable(setup):
    _, rater, a = setup
    flag = item_flag_create(task=a, rater=rater, kind="garbled", note="Cut off mid-sentence")
    assert flag.assignment == a and flag.rater == rater
    with pytest.raises(ApplicationError):
        item_flag_create(task=a, rater=rater, kind="other", note="")
    with pytest.raises(ApplicationError):
        item_flag_create(task=a, rater=rater, kind="nonsense")
    assert ItemFlag.objects.count() == 1
    rating_submit(assignment=a, rater=rater, values=full_rating())


@pytest.mark.parametrize(("left_is_a", "side", "stored"),
                         [(True, "left", "a"), (False, "left", "b"), (False, "right", "a"), (True, "tie", "tie"),
                          (False, "both_unsafe", "both_unsafe")])
def test_a_preference_is_stored_in_response_terms_whatever_side_it_was_shown_on(left_is_a, side, stored):
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    task = PreferenceAssignment.objects.filter(rater=rs.raters[0]).first()
    PreferenceAssignment.objects.filter(pk=task.pk).update(left_is_a=left_is_a)
    task.refresh_from_db()
    preference = preference_submit(assignment=task, rater=rs.raters[0], side=side, confidence="high")
    assert preference.choice == stored
    again = preference_submit(assignment=task, rater=rs.raters[0], side=side, confidence="high")
    assert again.pk == preference.pk and PreferenceRevision.objects.count() == 1


def test_a_preference_needs_a_side_and_a_confidence_and_a_reason_to_change():
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    task = PreferenceAssignment.objects.filter(rater=rs.raters[0]).first()
    with pytest.raises(ApplicationError) as exc:
        preference_submit(assignment=task, rater=rs.raters[0], side="middle", confidence="")
    assert set(exc.value.extra["fields"]) == {"side", "confidence"}
    assert not Preference.objects.exists()
    preference_submit(assignment=task, rater=rs.raters[0], side="left", confidence="low")
    with pytest.raises(ApplicationError, match="reason"):
        preference_submit(assignment=task, rater=rs.raters[0], side="right", confidence="low")
    changed = preference_submit(assignment=task, rater=rs.raters[0], side="right", confidence="low", reason="Reread")
    assert changed.revision == 2 and PreferenceRevision.objects.count() == 2
