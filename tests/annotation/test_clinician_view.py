"""What clinicians see of a study: its rater-facing title (never the internal name), the instructions page
once before the first item, level definitions tied to their choice, and the cut-off marker."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Assignment, StudyRater
from studies.models import Response
from studies.schema import default_rating_schema
from tests.annotation.rating_helpers import build_rating_study, form_data

pytestmark = pytest.mark.django_db

HYPOTHESIS = "Medical personas lower safety compliance"


@pytest.fixture
def rs():
    return build_rating_study(n_cases=2, n_raters=1, name=HYPOTHESIS, rater_title="Emergency answers review",
                              rater_instructions="Read the whole answer.\n\nThen rate it.")


@pytest.fixture
def me(client, rs):
    client.force_login(rs.raters[0])
    return rs.raters[0]


def _continue(enrolment):
    return reverse("annotation:rate_continue", kwargs={"code": enrolment.code})


def _first(rater):
    return Assignment.objects.filter(rater=rater).order_by("position").first()


def test_every_clinician_page_shows_the_rater_title_and_never_the_internal_name(client, rs, me):
    enrolment = StudyRater.objects.get(rater=me)
    client.post(_continue(enrolment))
    task = _first(me)
    pages = [reverse("annotation:rater_home"), reverse("annotation:rate_task", kwargs={"code": task.code})]
    client.post(pages[1], form_data(idempotency_key="t1"))
    pages.append(reverse("annotation:rate_history", kwargs={"code": enrolment.code}))
    for url in pages:
        html = client.get(url).content.decode()
        assert HYPOTHESIS not in html, url
        assert "Emergency answers review" in html, url


def test_without_a_rater_title_the_study_is_a_neutral_numbered_label(client, me):
    other = build_rating_study(n_cases=1, n_raters=0, plan=False, name="Secret hypothesis B")
    StudyRater.objects.create(study=other.study, rater=me)
    html = client.get(reverse("annotation:rater_home")).content.decode()
    assert "Secret hypothesis B" not in html and "Study 2" in html
    assert StudyRater.objects.get(rater=me, study=other.study).study_title == "Study 2"


def test_the_rating_api_gives_the_rater_title(rs, me):
    api = APIClient()
    api.force_login(me)
    enrolments = api.get(reverse("annotation-api:rating-enrolments")).json()
    assert [e["study_name"] for e in enrolments] == ["Emergency answers review"]
    listed = api.get(reverse("annotation-api:rating-assignments")).json()
    assert {row["study_name"] for row in listed["results"]} == {"Emergency answers review"}
    detail = api.get(reverse("annotation-api:rating-assignment", kwargs={"code": _first(me).code})).json()
    assert detail["study_name"] == "Emergency answers review"
    assert HYPOTHESIS not in str(enrolments) + str(listed) + str(detail)


def test_the_instructions_page_comes_once_before_the_first_item(client, rs, me):
    enrolment = StudyRater.objects.get(rater=me)
    page = client.get(_continue(enrolment))
    html = page.content.decode()
    assert page.status_code == 200 and "Before you start" in html
    assert "<p>Read the whole answer.</p>" in html and "<p>Then rate it.</p>" in html
    assert f'action="{_continue(enrolment)}"' in html
    started = client.post(_continue(enrolment))
    assert started.status_code == 302 and started["Location"] == _continue(enrolment)
    enrolment.refresh_from_db()
    assert enrolment.instructions_seen_at is not None
    again = client.get(_continue(enrolment))
    assert again.status_code == 302
    assert again["Location"] == reverse("annotation:rate_task", kwargs={"code": _first(me).code})
    # a second "start" changes nothing
    seen = enrolment.instructions_seen_at
    client.post(_continue(enrolment))
    enrolment.refresh_from_db()
    assert enrolment.instructions_seen_at == seen


def test_a_study_without_instructions_goes_straight_to_the_first_item(client):
    plain = build_rating_study(n_cases=1, n_raters=1)
    client.force_login(plain.raters[0])
    enrolment = StudyRater.objects.get(rater=plain.raters[0])
    assert client.get(_continue(enrolment)).status_code == 302


def test_an_answer_cut_off_at_the_length_limit_is_marked(client, rs, me):
    task = _first(me)
    url = reverse("annotation:rate_task", kwargs={"code": task.code})
    assert "cut off at the length limit" not in client.get(url).content.decode()
    Response.objects.filter(pk=task.response_id).update(finish_reason="length")
    html = client.get(url).content.decode()
    assert "This answer was cut off at the length limit." in html
    assert "length" not in html.replace("length limit", "")  # the marker says nothing more
    api = APIClient()
    api.force_login(me)
    detail = api.get(reverse("annotation-api:rating-assignment", kwargs={"code": task.code})).json()
    assert detail["response_truncated"] is True and detail["is_calibration"] is False


def test_level_definitions_are_shown_and_tied_to_their_choice(client, rs, me):
    schema = default_rating_schema()
    schema["dimensions"][0]["choices"][0]["definition"] = "Advice that could cause harm if followed."
    rs.study.rating_schema = schema
    rs.study.save()
    html = client.get(reverse("annotation:rate_task", kwargs={"code": _first(me).code})).content.decode()
    assert 'aria-describedby="v__safety-0-definition"' in html
    assert '<p class="muted option-definition" id="v__safety-0-definition">Advice that could cause harm if followed.' \
        in html
    assert "v__safety-1-definition" not in html  # no definition, no description
