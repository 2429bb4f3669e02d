"""Queries on the clinician's rating path: the form page, the submit and the page after it each take a
small fixed number of queries (the session is read from the cache; the roles, the enrolment and on the form
page the progress come with the item)."""
import pytest
from django.db import connection
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, PreferenceAssignment, Rating, StudyRater
from tests.annotation.rating_helpers import build_rating_study, form_data

pytestmark = pytest.mark.django_db

# User, item (with study, case, response, enrolment, roles, progress), first-shown mark.
FORM_PAGE = 3


def submit_queries() -> int:
    """PostgreSQL: user, item, then one statement that locks the item, checks it is still open and writes
    the rating, its values, revision 1 and the item's status. Elsewhere: BEGIN, the item locked with its
    stored rating, a guard savepoint and its release, the four writes one by one, COMMIT."""
    return 3 if connection.vendor == "postgresql" else 11


# A retry of a submitted item: user, item, BEGIN, the item locked with its rating, the rating's values, COMMIT.
RETRY = 6


def task_url(task):
    return reverse("annotation:rate_task", kwargs={"code": task.code})


@pytest.fixture
def rating_client(client):
    rs = build_rating_study(n_cases=2, n_raters=2)
    me = rs.raters[0]
    client.force_login(me)
    client.get(reverse("annotation:rater_home"))  # the session is in the cache from here on
    return client, rs, list(Assignment.objects.filter(rater=me).order_by("position"))


def test_the_rating_page_takes_at_most_three_queries(rating_client, django_assert_max_num_queries):
    client, _, queue = rating_client
    with django_assert_max_num_queries(FORM_PAGE):
        response = client.get(task_url(queue[0]))
    assert response.status_code == 200 and "Study 1" in response.content.decode()
    queue[0].refresh_from_db()
    assert queue[0].first_shown_at is not None and queue[0].display_position == 1
    with django_assert_max_num_queries(FORM_PAGE - 1):  # shown before: nothing to record
        assert client.get(task_url(queue[0])).status_code == 200


def test_the_preference_page_takes_at_most_three_queries(client, django_assert_max_num_queries):
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    me = rs.raters[0]
    client.force_login(me)
    enrolment = StudyRater.objects.get(rater=me)
    hop = client.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    task = PreferenceAssignment.objects.get(rater=me, code=hop.url.rstrip("/").rsplit("/", 1)[-1])
    with django_assert_max_num_queries(FORM_PAGE):
        response = client.get(hop.url)
    assert response.status_code == 200 and 'name="side"' in response.content.decode()
    task.refresh_from_db()
    assert task.first_shown_at is not None


@pytest.mark.django_db(transaction=True)  # as in production: the submit's transaction is not a savepoint
def test_a_submit_and_the_pages_after_it_take_a_fixed_number_of_queries(rating_client,
                                                                       django_assert_max_num_queries):
    client, _, queue = rating_client
    client.get(task_url(queue[0]))
    with django_assert_max_num_queries(submit_queries()):
        response = client.post(task_url(queue[0]), form_data(idempotency_key="k-1", active_seconds="3"))
    assert response.status_code == 302
    assert Rating.objects.get(assignment=queue[0]).revisions.count() == 1
    queue[0].refresh_from_db()
    assert queue[0].status == AssignmentStatus.SUBMITTED
    with django_assert_max_num_queries(2):  # user, enrolment with the next item's code
        hop = client.get(response.url)
    assert hop.status_code == 302 and hop.url == task_url(queue[1])
    with django_assert_max_num_queries(FORM_PAGE):
        page = client.get(hop.url)
    assert page.status_code == 200 and f'max="{len(queue)}" value="1"' in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_submit_count_holds_for_a_retry_with_the_same_key(rating_client, django_assert_max_num_queries):
    client, _, queue = rating_client
    data = form_data(idempotency_key="k-2")
    client.post(task_url(queue[0]), data)
    with django_assert_max_num_queries(RETRY):
        assert client.post(task_url(queue[0]), data).status_code == 302
    assert Rating.objects.get(assignment=queue[0]).revisions.count() == 1
