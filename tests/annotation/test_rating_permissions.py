"""Who may do what: every rating page and endpoint refuses the wrong people and changes nothing."""
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Assignment, ItemFlag, Rating, RatingRevision, StudyRater
from tests import factories
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


@pytest.fixture
def target(rs):
    """The owner's first assignment: what the others try to reach."""
    return Assignment.objects.filter(rater=rs.raters[0]).order_by("position").first()


def state():
    """Everything a refused request must leave as it was."""
    return (
        list(Assignment.objects.order_by("id").values_list("id", "rater_id", "status", "draft", "first_shown_at",
                                                           "display_position", "active_seconds", "position")),
        Rating.objects.count(), RatingRevision.objects.count(), ItemFlag.objects.count(),
        list(StudyRater.objects.order_by("id").values_list("rater_id", "is_active")),
    )


def page_requests(a, enrolment_code):
    code = a.code
    return [
        ("get", reverse("annotation:rate_task", kwargs={"code": code}), None),
        ("post", reverse("annotation:rate_task", kwargs={"code": code}), form_data()),
        ("post", reverse("annotation:rate_draft", kwargs={"code": code}), form_data()),
        ("post", reverse("annotation:rate_flag", kwargs={"code": code}), {"kind": "garbled"}),
        ("get", reverse("annotation:rate_continue", kwargs={"code": enrolment_code}), None),
        ("get", reverse("annotation:rate_history", kwargs={"code": enrolment_code}), None),
    ]


def api_requests(a):
    code = a.code
    return [
        ("get", reverse("annotation-api:rating-assignment", kwargs={"code": code}), None),
        ("put", reverse("annotation-api:rating-draft", kwargs={"code": code}), {"draft": {"comment": "x"}}),
        ("post", reverse("annotation-api:rating-submit", kwargs={"code": code}), {"values": full_rating()}),
        ("post", reverse("annotation-api:rating-flags", kwargs={"code": code}), {"kind": "garbled"}),
    ]


def test_a_clinician_asking_for_another_clinicians_item_gets_not_found_and_nothing_changes(rs, target):
    other = rs.raters[1]
    before = state()
    page = Client()
    page.force_login(other)
    owner_enrolment = StudyRater.objects.get(rater=rs.raters[0]).code
    for method, url, data in page_requests(target, owner_enrolment):
        assert getattr(page, method)(url, data or {}).status_code == 404, url
    api = APIClient()
    api.force_authenticate(other)
    for method, url, data in api_requests(target):
        response = getattr(api, method)(url, data, format="json")
        assert response.status_code == 404, url
        assert response.json() == {"message": "Not found.", "extra": {}}
    assert state() == before
    listed = api.get(reverse("annotation-api:rating-assignments")).json()["results"]
    assert target.code not in {row["code"] for row in listed}


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_researchers_and_admins_cannot_rate_and_nothing_changes(rs, target, role):
    user = factories.UserFactory(role=role)
    before = state()
    page = Client()
    page.force_login(user)
    enrolment = StudyRater.objects.get(rater=rs.raters[0]).code
    for method, url, data in page_requests(target, enrolment):
        assert getattr(page, method)(url, data or {}).status_code == 403, url
    assert page.get(reverse("annotation:rater_home")).status_code == 403
    api = APIClient()
    api.force_authenticate(user)
    for method, url, data in [*api_requests(target), ("get", reverse("annotation-api:rating-assignments"), None)]:
        assert getattr(api, method)(url, data, format="json").status_code == 403, url
    assert state() == before


def test_anonymous_users_are_sent_to_log_in_or_refused_and_nothing_changes(rs, target):
    before = state()
    page = Client()
    enrolment = StudyRater.objects.get(rater=rs.raters[0]).code
    for method, url, data in page_requests(target, enrolment):
        response = getattr(page, method)(url, data or {})
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url
    api = APIClient()
    for method, url, data in [*api_requests(target), ("get", reverse("annotation-api:rating-assignments"), None)]:
        assert getattr(api, method)(url, data, format="json").status_code in (401, 403), url
    assert state() == before


def test_a_clinician_not_enrolled_in_a_study_cannot_open_its_enrolment_code(rs):
    stranger = factories.clinician()
    client = Client()
    client.force_login(stranger)
    code = StudyRater.objects.get(rater=rs.raters[0]).code
    assert client.get(reverse("annotation:rate_continue", kwargs={"code": code})).status_code == 404


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_only_admins_manage_study_raters(rs, role):
    user = factories.UserFactory(role=role)
    before = state()
    api = APIClient()
    api.force_authenticate(user)
    newcomer = factories.clinician()
    pk = rs.study.pk
    assert api.get(reverse("annotation-api:rating-study-raters", kwargs={"pk": pk})).status_code == 403
    assert api.post(reverse("annotation-api:rating-study-raters", kwargs={"pk": pk}),
                    {"username": newcomer.username}, format="json").status_code == 403
    assert api.delete(reverse("annotation-api:rating-study-rater",
                              kwargs={"pk": pk, "username": rs.raters[0].username})).status_code == 403
    assert api.post(reverse("annotation-api:rating-study-rebalance", kwargs={"pk": pk})).status_code == 403
    assert state() == before


@pytest.mark.parametrize(("role", "allowed"), [("clinician", False), ("researcher", False), ("admin", True)])
def test_django_admin_is_for_admins_only(role, allowed):
    client = Client()
    client.force_login(factories.UserFactory(role=role))
    response = client.get(reverse("admin:index"))
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "login" in response.url


def test_in_django_admin_revisions_are_read_only_and_enrolling_rebalances(rs, target):
    from annotation.services.ratings import rating_submit

    rating = rating_submit(assignment=target, rater=rs.raters[0], values=full_rating())
    revision = rating.revisions.get()
    client = Client()
    client.force_login(factories.admin())
    assert client.get(reverse("admin:annotation_ratingrevision_changelist")).status_code == 200
    assert client.get(reverse("admin:annotation_ratingrevision_change", args=[revision.pk])).status_code == 200
    assert client.post(reverse("admin:annotation_ratingrevision_delete", args=[revision.pk]),
                       {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:annotation_itemflag_changelist")).status_code == 200
    newcomer = factories.clinician()
    response = client.post(reverse("admin:annotation_studyrater_add"), {"study": rs.study.pk, "rater": newcomer.pk})
    assert response.status_code == 302
    assert Assignment.objects.filter(rater=newcomer).exists()
    assert RatingRevision.objects.count() == 1
