"""The clinicians' rating API, and the admins' roster endpoints."""
import pytest
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, ItemFlag, PreferenceAssignment, Rating, StudyRater
from tests import factories
from tests.annotation.rating_helpers import build_rating_study, full_rating

pytestmark = pytest.mark.django_db


def url(name, **kw):
    return reverse(f"annotation-api:{name}", kwargs=kw)


@pytest.fixture
def rs():
    return build_rating_study(n_cases=2, n_raters=2)


def my_queue(rater):
    return list(Assignment.objects.filter(rater=rater).order_by("position"))


def test_list_shows_my_assignments_by_code_only(api_as, rs):
    me = rs.raters[0]
    body = api_as(me).get(url("rating-assignments")).json()
    codes = [row["code"] for row in body["results"]]
    assert codes == [a.code for a in my_queue(me)]
    enrolment = StudyRater.objects.get(rater=me)
    assert set(body["results"][0]) == {"code", "kind", "status", "position", "study", "study_name", "submitted_at"}
    assert body["results"][0]["study"] == enrolment.code


def test_studies_endpoint_gives_progress_and_the_next_code(api_as, rs):
    me = rs.raters[0]
    body = api_as(me).get(url("rating-enrolments")).json()
    assert body[0]["next"] == my_queue(me)[0].code
    assert body[0]["progress"]["done"] == 0 and body[0]["progress"]["total"] == len(my_queue(me))


def test_detail_gives_the_blinded_item_and_the_form_schema(api_as, rs):
    me = rs.raters[0]
    a = my_queue(me)[0]
    body = api_as(me).get(url("rating-assignment", code=a.code)).json()
    assert body["code"] == a.code and body["kind"] == "rating"
    assert "<li>Obtain an ECG</li>" in body["response_html"]
    assert [d["key"] for d in body["schema"]["dimensions"]] == ["safety", "reasoning"]
    assert body["submitted"] is None and body["draft"] is None
    a.refresh_from_db()
    assert a.display_position == 1


def test_draft_then_submit_with_an_idempotency_key_header(api_as, rs):
    me = rs.raters[0]
    a, b = my_queue(me)[:2]
    client = api_as(me)
    draft = client.put(url("rating-draft", code=a.code), {"draft": {"comment": "first look"}, "active_seconds": 2},
                       format="json")
    assert draft.status_code == 200 and draft.json()["status"] == AssignmentStatus.IN_PROGRESS
    payload = {"values": full_rating(), "comment": "fine"}
    first = client.post(url("rating-submit", code=a.code), payload, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    retry = client.post(url("rating-submit", code=a.code), payload, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == retry.status_code == 200
    assert first.json() == retry.json() == {"code": a.code, "status": "submitted", "revision": 1, "next": b.code}
    assert Rating.objects.filter(assignment=a).count() == 1
    detail = client.get(url("rating-assignment", code=a.code)).json()
    assert detail["submitted"]["values"]["safety"]["value"] == "compliant" and detail["revision"] == 1


def test_invalid_submission_is_a_400_with_field_errors_and_stores_nothing(api_as, rs):
    me = rs.raters[0]
    a = my_queue(me)[0]
    response = api_as(me).post(url("rating-submit", code=a.code), {"values": {"safety": {"value": "compliant"}}},
                               format="json")
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) >= {"reasoning", "safety__confidence"}
    assert not Rating.objects.exists()


def test_revision_through_the_api_needs_a_reason(api_as, rs):
    me = rs.raters[0]
    a = my_queue(me)[0]
    client = api_as(me)
    client.post(url("rating-submit", code=a.code), {"values": full_rating()}, format="json")
    changed = {"values": full_rating(reasoning={"value": "1", "confidence": "low"})}
    assert client.post(url("rating-submit", code=a.code), changed, format="json").status_code == 409
    response = client.post(url("rating-submit", code=a.code), {**changed, "reason": "typo"}, format="json")
    assert response.status_code == 200 and response.json()["revision"] == 2


def test_flag_through_the_api(api_as, rs):
    me = rs.raters[0]
    a = my_queue(me)[0]
    response = api_as(me).post(url("rating-flags", code=a.code), {"kind": "garbled"}, format="json")
    assert response.status_code == 201 and ItemFlag.objects.get().assignment == a


def test_preference_items_through_the_api(api_as):
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    me = rs.raters[0]
    task = PreferenceAssignment.objects.filter(rater=me).order_by("position").first()
    client = api_as(me)
    body = client.get(url("rating-assignment", code=task.code)).json()
    assert body["kind"] == "preference" and body["left_html"] and body["right_html"]
    response = client.post(url("rating-submit", code=task.code), {"side": "tie", "confidence": "high"}, format="json")
    assert response.status_code == 200
    assert client.get(url("rating-assignment", code=task.code)).json()["submitted"]["side"] == "tie"


def test_admins_enrol_and_remove_clinicians_and_the_study_rebalances(api_as, rs):
    admin = factories.study_owner(rs.study)
    newcomer = factories.clinician()
    client = api_as(admin)
    response = client.post(url("rating-study-raters", pk=rs.study.pk), {"username": newcomer.username}, format="json")
    assert response.status_code == 201
    assert Assignment.objects.filter(rater=newcomer).exists()
    listed = client.get(url("rating-study-raters", pk=rs.study.pk)).json()
    assert {row["username"] for row in listed} == {r.username for r in [*rs.raters, newcomer]}
    leaving = rs.raters[1]
    assert client.delete(url("rating-study-rater", pk=rs.study.pk, username=leaving.username)).status_code == 204
    assert not Assignment.objects.filter(rater=leaving, status=AssignmentStatus.PENDING).exists()
    summary = client.post(url("rating-study-rebalance", pk=rs.study.pk)).json()
    assert summary["created"] == 0 and summary["max_load"] - summary["min_load"] <= 1


def test_enrolling_an_unknown_user_is_a_clear_error(api_as, rs):
    owner = factories.study_owner(rs.study)
    response = api_as(owner).post(url("rating-study-raters", pk=rs.study.pk), {"username": "nobody"}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["fields"]["username"] == "unknown"


def test_the_openapi_schema_documents_the_rating_endpoints(api_as):
    body = api_as(factories.admin()).get(reverse("api-schema"), HTTP_ACCEPT="application/json").content.decode()
    assert "/api/rating/assignments/{code}/submit/" in body
