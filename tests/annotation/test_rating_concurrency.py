"""Concurrent double submits, two tabs and parallel planning, on PostgreSQL with real threads."""
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from annotation.models import Assignment, Rating, RatingRevision
from annotation.services.assignments import assignment_plan_for_study
from annotation.services.ratings import rating_submit
from config.exceptions import ApplicationError
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        skip_or_fail("concurrency tests need PostgreSQL (set DATABASE_URL)")


def run_together(*calls):
    """Start every call at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(n, call):
        try:
            barrier.wait()
            results[n] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n, c)) for n, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_eight_simultaneous_submissions_of_one_item_make_one_rating():
    rs = build_rating_study(n_cases=1, n_raters=2)
    rater = rs.raters[0]
    a = Assignment.objects.filter(rater=rater).first()
    results = run_together(*[lambda: rating_submit(assignment=a, rater=rater, values=full_rating())] * 8)
    assert all(isinstance(r, Rating) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Rating.objects.filter(assignment=a).count() == 1
    assert RatingRevision.objects.filter(rating__assignment=a).count() == 1


def test_two_tabs_submitting_different_answers_keep_exactly_one_and_tell_the_other():
    rs = build_rating_study(n_cases=1, n_raters=2)
    rater = rs.raters[0]
    a = Assignment.objects.filter(rater=rater).first()
    answers = [full_rating(), full_rating(safety={"value": "not_compliant", "confidence": "low"})]
    results = run_together(*[lambda v=v: rating_submit(assignment=a, rater=rater, values=v) for v in answers])
    kept = [r for r in results if isinstance(r, Rating)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(kept) == 1 and len(refused) == 1 and refused[0].status_code == 409
    assert Rating.objects.filter(assignment=a).count() == 1
    assert RatingRevision.objects.filter(rating__assignment=a).count() == 1


def test_double_clicked_form_posts_through_the_web_layer_make_one_rating():
    rs = build_rating_study(n_cases=1, n_raters=2)
    rater = rs.raters[0]
    a = Assignment.objects.filter(rater=rater).first()
    url = reverse("annotation:rate_task", kwargs={"code": a.code})

    def post():
        client = Client()
        client.force_login(rater)
        return client.post(url, form_data(idempotency_key="same-click")).status_code

    assert run_together(post, post, post, post) == [302] * 4
    assert Rating.objects.filter(assignment=a).count() == 1
    assert RatingRevision.objects.count() == 1


def test_planning_started_twice_at_once_plans_once():
    rs = build_rating_study(n_cases=2, n_raters=3, plan=False)
    results = run_together(lambda: assignment_plan_for_study(study=rs.study),
                           lambda: assignment_plan_for_study(study=rs.study))
    assert sorted(r.created for r in results) == [0, 2 * len(rs.responses)]
    assert Assignment.objects.filter(study=rs.study).count() == 2 * len(rs.responses)
