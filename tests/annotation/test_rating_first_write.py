"""The one-statement first submission (PostgreSQL) stores exactly what the ORM path stores, keeps every
check of the locked path, and steps aside (to that path and its precise errors) whenever the item is not
a plain first submission."""
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Assignment, AssignmentStatus, Rating, RatingRevision, StudyRater
from annotation.services import ratings
from config.exceptions import ApplicationError
from studies.models import StudyStatus
from tests.annotation.rating_helpers import build_rating_study, full_rating

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement write is PostgreSQL's path"),
]
SUBMISSION = {"values": full_rating(reasoning={"cannot_assess": True}), "comment": "Tabs\tand \"quotes\" \\ ünï"}


def stored(assignment: Assignment) -> dict:
    assignment.refresh_from_db()
    rating = Rating.objects.get(assignment=assignment)
    revision = RatingRevision.objects.get(rating=rating)
    return {
        "task": (assignment.status, assignment.draft, assignment.draft_saved_at, assignment.submitted_at is not None),
        "rating": (rating.comment, rating.is_dangerous, rating.dangerous_rationale, rating.revision),
        "values": sorted(rating.values.values_list("dimension", "value", "confidence", "cannot_assess")),
        "revision": (revision.revision, revision.values, revision.changed_by_id, revision.reason,
                     revision.idempotency_key, revision.body_hash),
    }


@pytest.fixture
def queue():
    rs = build_rating_study(n_cases=2, n_raters=2)
    rater = rs.raters[0]
    return rs, rater, list(Assignment.objects.filter(rater=rater, repeat_of=None).order_by("position"))


def test_the_statement_stores_what_the_orm_path_stores(queue, django_assert_max_num_queries):
    _, rater, (fast, slow, *_) = queue
    Assignment.objects.filter(pk__in=[fast.pk, slow.pk]).update(draft={"comment": "so far"},
                                                                 status=AssignmentStatus.IN_PROGRESS)
    fast.refresh_from_db()
    slow.refresh_from_db()
    with django_assert_max_num_queries(3):  # the study and the roles (read along on a page), the statement
        rating = ratings.rating_submit(assignment=fast, rater=rater, idempotency_key="k", **SUBMISSION)
    ratings._rating_submit_locked(slow, rater, {**SUBMISSION, "is_dangerous": False, "dangerous_rationale": "",
                                                "reason": ""}, "k", None)
    assert rating.pk == Rating.objects.get(assignment=fast).pk and rating.revision == 1
    assert fast.status == AssignmentStatus.SUBMITTED and fast.draft == {}
    assert stored(fast) == stored(slow)


def test_active_time_is_capped_by_the_elapsed_time_as_on_the_orm_path(queue):
    _, rater, (a, *_) = queue
    Assignment.objects.filter(pk=a.pk).update(updated_at=timezone.now() - timedelta(seconds=60), active_seconds=20)
    a.refresh_from_db()
    ratings.rating_submit(assignment=a, rater=rater, values=full_rating(), active_seconds=100_000)
    a.refresh_from_db()
    assert 80 <= a.active_seconds < 90  # 20 + 60 s elapsed + the slack
    assert a.status == AssignmentStatus.SUBMITTED


@pytest.mark.parametrize("change", ["withdrawn", "closed", "submitted_elsewhere"])
def test_anything_but_a_plain_first_submission_goes_to_the_locked_path(queue, change):
    rs, rater, (a, *_) = queue
    if change == "withdrawn":
        StudyRater.objects.filter(study=rs.study, rater=rater).update(is_active=False)
    elif change == "closed":
        type(rs.study).objects.filter(pk=rs.study.pk).update(status=StudyStatus.CLOSED)
    else:  # another tab stored this answer after the page was read
        other = Assignment.objects.get(pk=a.pk)
        ratings.rating_submit(assignment=other, rater=rater, values=full_rating())
    assert ratings._rating_first_write(a, rater, {**SUBMISSION, "is_dangerous": False, "dangerous_rationale": "",
                                                  "reason": ""}, "k", None) is None
    if change == "submitted_elsewhere":
        assert ratings.rating_submit(assignment=a, rater=rater, values=full_rating()).revision == 1
        assert Rating.objects.filter(assignment=a).count() == 1 and RatingRevision.objects.count() == 1
    else:
        with pytest.raises(ApplicationError) as refused:
            ratings.rating_submit(assignment=a, rater=rater, values=full_rating())
        assert refused.value.status_code in (404, 409) and not Rating.objects.exists()


def test_invalid_input_and_dangerous_ratings_are_left_to_the_locked_path(queue):
    _, rater, (a, *_) = queue
    with pytest.raises(ApplicationError) as refused:
        ratings.rating_submit(assignment=a, rater=rater, values={"safety": {"value": "compliant"}})
    assert "fields" in refused.value.extra and not Rating.objects.exists()
    rating = ratings.rating_submit(assignment=a, rater=rater, values=full_rating(), is_dangerous=True,
                                   dangerous_rationale="Advises discharge with chest pain.")
    assert rating.is_dangerous and rating.safety_alert.subject
