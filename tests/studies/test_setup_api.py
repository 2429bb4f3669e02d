"""Setup API: role x endpoint (clinicians: nothing; researchers: read-only; admins: everything), the
endpoints' behaviour, and their presence in the OpenAPI schema."""
import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studies.models import Persona, Study, StudyStatus
from studies.services.case_sets import case_set_import
from studies.services.model_specs import model_spec_create
from studies.services.personas import persona_library_load
from studies.services.studies import study_create
from tests import factories
from tests.studies.test_case_import_malformed import EXAMPLE


@pytest.fixture
def world(admin_user):
    persona_library_load()
    case_set = case_set_import(file=EXAMPLE, name="Examples", owner=admin_user).case_set
    model = model_spec_create(name="m", model_path="org/m")
    study = study_create(name="S", owner=admin_user, case_sets=[case_set], model_specs=[model],
                         personas=Persona.objects.filter(slug="ed-nurse"))
    return {"case_set": case_set, "case": case_set.cases.first(), "model": model, "study": study,
            "persona": Persona.objects.get(slug="ed-nurse")}


def endpoints(w):
    """(method, url, body) for every setup endpoint."""
    return [
        ("get", reverse("studies-api:case-set-list"), None),
        ("get", reverse("studies-api:case-set-detail", args=[w["case_set"].pk]), None),
        ("post", reverse("studies-api:case-set-upload"), {}),
        ("get", reverse("studies-api:case-list"), None),
        ("get", reverse("studies-api:case-detail", args=[w["case"].pk]), None),
        ("get", reverse("studies-api:persona-list"), None),
        ("post", reverse("studies-api:persona-list"), {}),
        ("get", reverse("studies-api:persona-detail", args=[w["persona"].pk]), None),
        ("patch", reverse("studies-api:persona-detail", args=[w["persona"].pk]), {}),
        ("get", reverse("studies-api:persona-preview", args=[w["persona"].pk]) + f"?case={w['case'].pk}", None),
        ("get", reverse("studies-api:model-spec-list"), None),
        ("post", reverse("studies-api:model-spec-list"), {}),
        ("get", reverse("studies-api:model-spec-detail", args=[w["model"].pk]), None),
        ("patch", reverse("studies-api:model-spec-detail", args=[w["model"].pk]), {}),
        ("get", reverse("studies-api:study-list"), None),
        ("post", reverse("studies-api:study-list"), {}),
        ("get", reverse("studies-api:study-detail", args=[w["study"].pk]), None),
        ("patch", reverse("studies-api:study-detail", args=[w["study"].pk]), {}),
        ("post", reverse("studies-api:study-transition", args=[w["study"].pk]), {}),
        ("get", reverse("studies-api:study-export", args=[w["study"].pk]), None),
        ("post", reverse("studies-api:study-import"), {}),
    ]


@pytest.mark.django_db
def test_clinicians_get_403_on_every_setup_endpoint(world, api_as, clinician):
    api = api_as(clinician)
    for method, url, body in endpoints(world):
        response = getattr(api, method)(url, body, format="json") if body is not None else api.get(url)
        assert response.status_code == 403, (method, url)
        assert set(response.json()) == {"message", "extra"}
        assert "ed-nurse" not in response.content.decode()


@pytest.mark.django_db
def test_researchers_can_read_but_not_write(world, api_as, researcher):
    factories.study_member(world["study"], researcher, role="researcher")
    api = api_as(researcher)
    before = (Study.objects.count(), Persona.objects.count())
    for method, url, body in endpoints(world):
        response = getattr(api, method)(url, body, format="json") if body is not None else api.get(url)
        assert response.status_code == (200 if method == "get" else 403), (method, url)
    assert (Study.objects.count(), Persona.objects.count()) == before


@pytest.mark.django_db
def test_anonymous_users_are_refused(world, client):
    for _, url, _ in endpoints(world):
        assert client.get(url).status_code in (401, 403), url


@pytest.mark.django_db
def test_admins_reach_every_endpoint(world, api_as, admin_user):
    api = api_as(admin_user)
    for method, url, body in endpoints(world):
        response = getattr(api, method)(url, body, format="json") if body is not None else api.get(url)
        assert response.status_code in (200, 400, 415), (method, url, response.content)


@pytest.mark.django_db
def test_case_sets_and_cases_read_with_counts_and_filters(world, api_as, researcher):
    api = api_as(researcher)
    listed = api.get(reverse("studies-api:case-set-list")).json()["results"]
    assert [(c["name"], c["version"], c["case_count"]) for c in listed] == [("Examples", 1, 8)]
    cases = api.get(reverse("studies-api:case-list"), {"case_set": world["case_set"].pk}).json()
    assert cases["count"] == 8 and cases["results"][0]["external_id"] == "T-CC-01"
    assert api.get(reverse("studies-api:case-list"), {"case_set": "x"}).json()["count"] == 0


@pytest.mark.django_db
def test_persona_create_edit_versioning_and_preview(world, api_as, admin_user):
    api = api_as(admin_user)
    created = api.post(reverse("studies-api:persona-list"), {
        "slug": "gp", "name": "GP", "role": "general practitioner", "style": "plain", "is_medical": True,
        "system_prompt_template": "You are a {role}."}, format="json")
    assert created.status_code == 201, created.content
    bad = api.post(reverse("studies-api:persona-list"), {
        "slug": "x", "name": "X", "role": "x", "system_prompt_template": "You are {who}."}, format="json")
    assert bad.status_code == 400 and "unknown placeholder(s) ['who']" in bad.json()["message"]
    nurse = world["persona"]
    factories.ResponseFactory(persona=nurse)
    edited = api.patch(reverse("studies-api:persona-detail", args=[nurse.pk]),
                       {"system_prompt_template": "You are an experienced {role}."}, format="json").json()
    assert (edited["version"], edited["previous"], edited["is_current"]) == (2, nurse.pk, True)
    everything = api.get(reverse("studies-api:persona-list"), {"all": "1"}).json()["count"]
    assert everything == api.get(reverse("studies-api:persona-list")).json()["count"] + 1
    preview = api.get(reverse("studies-api:persona-preview", args=[edited["id"]]),
                      {"case": world["case"].pk, "study": world["study"].pk}).json()
    assert preview["messages"][0] == {"role": "system", "content": "You are an experienced ED nurse."}
    baseline = Persona.objects.get(is_baseline=True)
    assert api.get(reverse("studies-api:persona-preview", args=[baseline.pk]), {"case": world["case"].pk}
                   ).json()["messages"][0] == {"role": "system", "content": ""}


@pytest.mark.django_db
def test_model_spec_validation_errors_come_back_per_field(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post(reverse("studies-api:model-spec-list"),
                        {"name": "m", "model_path": "org/m", "temperature": 5, "top_p": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {"temperature": "must be between 0.0 and 2.0 (got 5.0)",
                                                  "top_p": "must be greater than 0 and at most 1 (got 0.0)"}


@pytest.mark.django_db
def test_study_create_transition_export_and_import(world, api_as, admin_user, monkeypatch):
    monkeypatch.setattr("annotation.services.assignments.assignment_plan_for_study", lambda *, study: None)
    api = api_as(admin_user)
    created = api.post(reverse("studies-api:study-list"), {
        "name": "API study", "case_sets": [world["case_set"].pk], "model_specs": [world["model"].pk],
        "raters_per_response": 3}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["allowed_transitions"] == ["generating"]
    assert body["grid"] == {"cases": 8, "personas": 1, "models": 1, "responses": 8, "ratings": 24, "generated": 0}
    url = reverse("studies-api:study-transition", args=[body["id"]])
    wrong = api.post(url, {"to_status": "closed"}, format="json")
    assert wrong.status_code == 409
    assert wrong.json()["message"] == "'API study' cannot go from draft to closed; allowed: generating."
    assert api.post(url, {"to_status": "generating"}, format="json").json()["status"] == "generating"
    exported = api.get(reverse("studies-api:study-export", args=[body["id"]])).json()
    as_yaml = api.get(reverse("studies-api:study-export", args=[body["id"]]), {"as": "yaml"})
    assert as_yaml["Content-Type"] == "application/yaml" and yaml.safe_load(as_yaml.content) == exported
    imported = api.post(reverse("studies-api:study-import"), {"data": exported, "name": "Again"}, format="json")
    assert imported.status_code == 201 and imported.json()["status"] == "draft"
    upload = SimpleUploadedFile("s.yaml", as_yaml.content)
    by_file = api.post(reverse("studies-api:study-import"), {"file": upload, "name": "Thrice"}, format="multipart")
    assert by_file.status_code == 201
    assert Study.objects.get(name="Thrice").status == StudyStatus.DRAFT


@pytest.mark.django_db
def test_every_setup_endpoint_is_in_the_openapi_schema(api_as, admin_user):
    schema = yaml.safe_load(api_as(admin_user).get("/api/schema/").content)
    paths = set(schema["paths"])
    assert paths >= {
        "/api/case-sets/", "/api/case-sets/{id}/", "/api/case-sets/upload/", "/api/cases/", "/api/cases/{id}/",
        "/api/personas/", "/api/personas/{id}/", "/api/personas/{id}/preview/", "/api/model-specs/",
        "/api/model-specs/{id}/", "/api/studies/", "/api/studies/{id}/", "/api/studies/{id}/transition/",
        "/api/studies/{id}/export/", "/api/studies/import/",
    }
    upload = schema["paths"]["/api/case-sets/upload/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert set(upload["responses"]) >= {"200", "201", "400", "409"}
