"""Calibration: the first N anchor items are practice, come first, get feedback against the case's reference
answer, are stored flagged, and count in no agreement figure."""
import pytest
from django.urls import reverse

from agreement.data import study_data_load
from annotation.calibration import calibration_mark
from annotation.models import Assignment, AssignmentStatus, StudyRater
from config.exceptions import ApplicationError
from studies.models import Case
from studies.schema import default_rating_schema
from studies.services.studies import study_update
from tests.annotation.rating_helpers import build_rating_study, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def rs():
    return build_rating_study(n_cases=2, n_raters=2, anchor_items=2, calibration_items=1)


@pytest.fixture
def me(client, rs):
    client.force_login(rs.raters[0])
    return rs.raters[0]


def _start(client, rater):
    enrolment = StudyRater.objects.get(rater=rater)
    url = reverse("annotation:rate_continue", kwargs={"code": enrolment.code})
    page = client.get(url).content.decode()
    client.post(url)
    return page, url


def test_starting_sets_aside_the_first_anchor_item_and_serves_it_first(client, rs, me):
    page, url = _start(client, me)
    assert "Practice items first" in page and "The first 1 item is for practice" in page
    calibration = Assignment.objects.get(rater=me, is_calibration=True)
    anchors = Assignment.objects.filter(rater=me, is_anchor=True, repeat_of__isnull=True).order_by("position")
    assert calibration == anchors.first()
    assert client.get(url)["Location"] == reverse("annotation:rate_task", kwargs={"code": calibration.code})
    html = client.get(reverse("annotation:rate_task", kwargs={"code": calibration.code})).content.decode()
    assert "Practice item 0 of 1" in html and "does not count in the study" in html


def test_feedback_against_the_reference_level_after_a_practice_answer(client, rs, me):
    _start(client, me)
    calibration = Assignment.objects.get(rater=me, is_calibration=True)
    url = reverse("annotation:rate_task", kwargs={"code": calibration.code})
    done = client.post(url, form_data(idempotency_key="cal-1"))
    assert done.status_code == 302 and done["Location"] == url  # back to the item, for its feedback
    html = client.get(url).content.decode()
    assert "Reference triage level for this case: <strong>ESI 2 - Emergent</strong>" in html
    assert "Continue to the next item" in html
    calibration.refresh_from_db()
    assert calibration.status == AssignmentStatus.SUBMITTED and calibration.is_calibration


def test_a_triage_dimension_is_compared_with_the_reference(client, rs, me):
    schema = default_rating_schema()
    schema["dimensions"].append({"key": "triage", "label": "Triage level", "kind": "ordinal", "confidence": False,
                                 "cannot_assess": False,
                                 "choices": [{"value": str(n), "label": f"ESI {n}"} for n in range(1, 6)]})
    rs.study.rating_schema = schema
    rs.study.save()
    _start(client, me)
    calibration = Assignment.objects.get(rater=me, is_calibration=True)
    url = reverse("annotation:rate_task", kwargs={"code": calibration.code})
    client.post(url, form_data(v__triage="3", idempotency_key="cal-2"))
    html = client.get(url).content.decode()
    assert "Your answer: <strong>ESI 3</strong>: different from the reference." in html


def test_no_reference_no_feedback_with_a_note(client, rs, me):
    Case.objects.filter(pk__in=[c.pk for c in rs.cases]).update(reference_answer="")
    _start(client, me)
    calibration = Assignment.objects.get(rater=me, is_calibration=True)
    url = reverse("annotation:rate_task", kwargs={"code": calibration.code})
    client.post(url, form_data(idempotency_key="cal-3"))
    html = client.get(url).content.decode()
    assert "has no reference rating, so no feedback is given" in html
    assert "Reference triage level" not in html


def test_practice_ratings_count_in_no_agreement_figure(client, rs, me):
    _start(client, me)
    calibration = Assignment.objects.get(rater=me, is_calibration=True)
    client.post(reverse("annotation:rate_task", kwargs={"code": calibration.code}), form_data(idempotency_key="c"))
    real = Assignment.objects.filter(rater=me, is_calibration=False).order_by("position").first()
    client.post(reverse("annotation:rate_task", kwargs={"code": real.code}), form_data(idempotency_key="r"))
    data = study_data_load(rs.study)
    assert set(data.records.assignment_id.tolist()) == {real.pk}


def test_calibration_is_marked_once_and_never_after_real_ratings(rs, me, client):
    enrolment = StudyRater.objects.get(rater=me)
    assert calibration_mark(enrolment) == 1
    assert calibration_mark(enrolment) == 0
    other = StudyRater.objects.get(rater=rs.raters[1])
    first = Assignment.objects.filter(rater=rs.raters[1], is_anchor=False).order_by("position").first()
    client.force_login(rs.raters[1])
    client.post(reverse("annotation:rate_task", kwargs={"code": first.code}), form_data(idempotency_key="x"))
    assert calibration_mark(other) == 0


def test_there_cannot_be_more_calibration_items_than_anchor_items(rs):
    rs.study.status = "draft"
    rs.study.save()
    with pytest.raises(ApplicationError) as exc:
        study_update(study=rs.study, calibration_items=3)
    assert "calibration_items" in exc.value.extra["fields"]
    study_update(study=rs.study, calibration_items=2)
