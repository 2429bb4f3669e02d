"""The sample-size planning page and API: who may see and apply a plan, what they show, and bad input."""
import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from agreement.metrics.sample_size import sample_size_for_width
from studies.models import AuditEvent, StudyStatus
from tests import factories

pytestmark = pytest.mark.django_db

INPUTS = {"statistic": "fleiss_kappa", "expected": "0.6", "prevalence": "0.3, 0.7", "width": "0.3",
          "confidence": "0.95", "raters_per_item": "3", "n_raters": ""}
API_INPUTS = {"statistic": "fleiss_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "width": 0.3,
              "raters_per_item": 3}


@pytest.fixture
def study():
    study = factories.StudyFactory(raters_per_response=2)
    model, persona = factories.ModelSpecFactory(), factories.PersonaFactory()
    for _ in range(12):
        factories.ResponseFactory(study=study, model=model, persona=persona)
    return study


def _page(study):
    return reverse("agreement:sample_size", args=[study.pk])


def _apply(study):
    return reverse("agreement:sample_size_apply", args=[study.pk])


def _api(study):
    return reverse("agreement-api:sample-size", args=[study.pk])


def _member(study, role):
    user = factories.admin() if role in ("owner", "admin") else factories.researcher()
    return factories.study_member(study, user, role=role)


# ------------------------------------------------------------------------------------------ page


def test_the_study_page_links_to_the_planning_page(client, study):
    client.force_login(_member(study, "owner"))
    assert _page(study) in client.get(reverse("studies:study_detail", args=[study.pk])).content.decode()


def test_anonymous_users_go_to_login_and_others_are_refused(client, study):
    response = client.get(_page(study))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(factories.clinician())
    assert client.get(_page(study)).status_code == 403
    client.force_login(factories.researcher())  # not a member: the study does not exist for them
    assert client.get(_page(study)).status_code == 404
    assert client.get(_page(study), INPUTS).status_code == 404


def test_the_page_shows_the_plan_the_method_and_the_current_design(client, study):
    client.force_login(_member(study, "researcher"))
    empty = client.get(_page(study))
    assert empty.status_code == 200 and "Plan" in empty.content.decode()
    page = client.get(_page(study), INPUTS)
    assert page.status_code == 200
    html = page.content.decode()
    plan = sample_size_for_width(statistic="fleiss_kappa", expected=0.6, prevalence=[0.3, 0.7], width=0.3,
                                 raters_per_item=3)
    assert f"{plan.n_items} items" in html and "3 raters per item" in html
    assert "simulation of" in html and "Bloch &amp; Kraemer" in html
    assert "12 items (generated)" in html and "2 clinicians per response" in html
    assert "Expected width of the interval" in html and "Even 10 raters per item give" in html
    wide = client.get(_page(study), {**INPUTS, "width": "1.2"}).content.decode()
    assert "2 raters per response</strong> reach" in wide


def test_the_closed_form_names_its_method_and_reference(client, study):
    client.force_login(_member(study, "researcher"))
    html = client.get(_page(study), {**INPUTS, "statistic": "cohen_kappa", "raters_per_item": "2"}).content.decode()
    assert "closed form" in html and "Fleiss, Cohen &amp; Everitt (1969)" in html
    assert "Cohen&#x27;s kappa compares two raters" in html


@pytest.mark.parametrize(("change", "text"), [
    ({"prevalence": "0, 1"}, "strictly between 0 and 1"),
    ({"prevalence": "a, b"}, "one share per category"),
    ({"prevalence": "0.4, 0.4"}, "sum to 1"),
    ({"expected": "1"}, "[0, 1)"),
    ({"width": "5"}, "(0, 2]"),
    ({"statistic": "cohen_kappa"}, "Cohen&#x27;s kappa compares two raters"),
    ({"raters_per_item": "1"}, "greater than or equal to 2"),
])
def test_bad_input_is_shown_on_the_form_with_400(client, study, change, text):
    client.force_login(_member(study, "researcher"))
    response = client.get(_page(study), {**INPUTS, **change})
    assert response.status_code == 400 and text in response.content.decode()


def test_a_width_too_small_is_capped_with_a_message(client, study):
    client.force_login(_member(study, "researcher"))
    html = client.get(_page(study), {**INPUTS, "statistic": "cohen_kappa", "raters_per_item": "2",
                                     "width": "0.001"}).content.decode()
    assert "needs more than 100,000 items" in html


# ------------------------------------------------------------------------------------------ apply


def test_a_researcher_can_view_but_not_apply(client, study):
    client.force_login(_member(study, "researcher"))
    html = client.get(_page(study), INPUTS).content.decode()
    assert "Only the study's admins" in html and _apply(study) not in html
    assert client.post(_apply(study), {"raters_per_response": 3}).status_code == 403
    study.refresh_from_db()
    assert study.raters_per_response == 2


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_study_admin_applies_the_planned_raters(client, study, role):
    user = _member(study, role)
    client.force_login(user)
    html = client.get(_page(study), INPUTS).content.decode()
    assert _apply(study) in html and 'name="raters_per_response" value="3"' in html
    response = client.post(_apply(study), {"raters_per_response": 3})
    assert response.status_code == 302 and response.url == reverse("studies:study_detail", args=[study.pk])
    study.refresh_from_db()
    assert study.raters_per_response == 3
    event = AuditEvent.objects.filter(study=study, action="study_updated").latest("id")
    assert event.actor == user and event.detail == {"changed": ["raters_per_response"]}


def test_applying_to_a_study_in_rating_is_refused_with_a_message(client, study):
    client.force_login(_member(study, "owner"))
    study.status = StudyStatus.RATING
    study.save(update_fields=["status"])
    html = client.get(_page(study), INPUTS).content.decode()
    assert "can no longer change" in html
    response = client.post(_apply(study), {"raters_per_response": 3}, follow=True)
    assert "raters_per_response can no longer change" in response.content.decode()
    study.refresh_from_db()
    assert study.raters_per_response == 2


def test_apply_refuses_a_bad_number_and_get(client, study):
    client.force_login(_member(study, "owner"))
    response = client.post(_apply(study), {"raters_per_response": "1"}, follow=True)
    assert "greater than or equal to 2" in response.content.decode()
    assert client.get(_apply(study)).status_code == 405
    client.force_login(factories.admin())  # a site admin outside the study
    assert client.post(_apply(study), {"raters_per_response": 3}).status_code == 404
    study.refresh_from_db()
    assert study.raters_per_response == 2


# ------------------------------------------------------------------------------------------ API


def test_the_api_returns_the_plan_and_the_current_design(api_as, study):
    response = api_as(_member(study, "researcher")).post(_api(study), API_INPUTS, format="json")
    assert response.status_code == 200
    body = response.json()
    plan = sample_size_for_width(statistic="fleiss_kappa", expected=0.6, prevalence=[0.3, 0.7], width=0.3,
                                 raters_per_item=3)
    assert body["plan"]["n_items"] == plan.n_items and body["plan"]["design"] == plan.design.to_dict()
    assert body["plan"]["design"]["method"] == "simulation"
    assert body["study_design"]["items"] == 12 and body["study_design"]["raters_per_response"] == 2
    assert body["current"]["n_items"] == 12 and body["current"]["raters_per_item"] == 2
    assert body["raters_for_current_items"]["target_width"] == 0.3


def test_the_api_closed_form(api_as, study):
    client = api_as(_member(study, "researcher"))
    body = client.post(_api(study), {**API_INPUTS, "statistic": "cohen_kappa", "raters_per_item": 2},
                       format="json").json()
    assert body["plan"]["design"]["interval_method"] == "wald_fce_1969"
    assert body["raters_for_current_items"] is None and "two raters" in body["raters_note"]


@pytest.mark.parametrize(("change", "field"), [
    ({"prevalence": [0.4, 0.4]}, "prevalence"),
    ({"prevalence": [0.0, 1.0]}, "prevalence"),
    ({"prevalence": [1.0]}, "prevalence"),
    ({"expected": 1.0}, "expected"),
    ({"expected": "x"}, "expected"),
    ({"width": 0}, "width"),
    ({"statistic": "icc"}, "statistic"),
    ({"statistic": "gwet_ac1", "expected": 0.1, "prevalence": [0.9, 0.1]}, "expected"),
    ({"raters_per_item": 1}, "raters_per_item"),
    ({"n_raters": 2}, "n_raters"),
])
def test_the_api_refuses_bad_input_in_the_error_shape(api_as, study, change, field):
    response = api_as(_member(study, "researcher")).post(_api(study), {**API_INPUTS, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "extra"} and field in body["extra"]["fields"]


def test_the_api_answers_non_members_404_and_clinicians_403(api_as, study):
    assert api_as(factories.researcher()).post(_api(study), API_INPUTS, format="json").status_code == 404
    assert api_as(factories.clinician()).post(_api(study), API_INPUTS, format="json").status_code == 403
    missing = reverse("agreement-api:sample-size", args=[study.pk + 1000])
    assert api_as(factories.admin()).post(missing, API_INPUTS, format="json").status_code == 404


def test_the_operation_is_documented():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/studies/{id}/sample-size/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("SampleSizeRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "StudySampleSize")
    assert "planner refuses" in operation["responses"]["400"]["description"]
    request = schema["components"]["schemas"]["SampleSizeRequest"]
    assert set(request["required"]) == {"statistic", "expected", "prevalence", "width"}
