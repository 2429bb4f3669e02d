"""The OpenAPI schema states every status each operation can answer, with the one error shape as its
body, and request bodies as strict as the server: files as binary, required names non-empty, declared
limits, "a file or data" per media type, the YAML export as YAML."""
import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db
METHODS = {"get", "post", "put", "patch", "delete"}
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _error_body(response) -> dict:
    return response["content"]["application/json"]["schema"]


def test_the_error_shape_is_one_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["message", "extra"]
    assert set(error["properties"]) == {"message", "extra"}


def test_every_operation_states_its_error_statuses_in_the_error_shape(schema):
    missing = {}
    for name, operation in _operations(schema):
        expected = {"400", "401", "403", "404"} | ({"413", "415"} if "requestBody" in operation else set())
        absent = expected - set(operation["responses"])
        wrong = {status for status in expected & set(operation["responses"])
                 if _error_body(operation["responses"][status]) != ERROR}
        if absent or wrong:
            missing[name] = (sorted(absent), sorted(wrong))
    assert not missing


@pytest.mark.parametrize("name", [
    "POST /api/case-sets/upload/", "POST /api/studies/{id}/transition/",
    "POST /api/rating/assignments/{code}/submit/", "PUT /api/rating/assignments/{code}/draft/",
    "POST /api/rating/assignments/{code}/flags/", "POST /api/rating/admin/studies/{id}/raters/",
    "DELETE /api/rating/admin/studies/{id}/raters/{username}/", "POST /api/rating/admin/studies/{id}/rebalance/",
    "POST /api/studies/{study_id}/responses/import/",
])
def test_conflicts_are_declared_where_the_service_answers_409(schema, name):
    method, path = name.split(" ")
    response = schema["paths"][path][method.lower()]["responses"]["409"]
    assert _error_body(response) == ERROR


def test_the_lockout_status_is_declared_only_when_http_basic_is_on(settings):
    def statuses():
        return {status for _, op in _operations(SchemaGenerator().get_schema(request=None, public=True))
                for status in op["responses"]}
    assert "429" not in statuses()
    settings.API_BASIC_AUTH = True
    assert "429" in statuses()


def _request_schema(schema, path, method, media_type):
    ref = schema["paths"][path][method]["requestBody"]["content"][media_type]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("path", ["/api/case-sets/upload/", "/api/studies/{study_id}/responses/import/"])
def test_uploaded_files_are_binary_and_required(schema, path):
    body = _request_schema(schema, path, "post", "multipart/form-data")
    assert body["properties"]["file"] == {**body["properties"]["file"], "type": "string", "format": "binary"}
    assert "file" in body["required"]


def test_a_study_import_takes_a_file_as_multipart_or_the_object_as_json(schema):
    by_file = _request_schema(schema, "/api/studies/import/", "post", "multipart/form-data")
    assert by_file["required"] == ["file"] and by_file["properties"]["file"]["format"] == "binary"
    assert "data" not in by_file["properties"]
    as_data = _request_schema(schema, "/api/studies/import/", "post", "application/json")
    assert as_data["required"] == ["data"] and as_data["properties"]["data"]["type"] == "object"
    assert "file" not in as_data["properties"]


def test_the_study_export_is_declared_as_json_and_as_yaml(schema):
    content = schema["paths"]["/api/studies/{id}/export/"]["get"]["responses"]["200"]["content"]
    assert content["application/json"]["schema"]["type"] == "object"
    assert content["application/yaml"]["schema"]["type"] == "string"


@pytest.mark.parametrize(("component", "field"), [
    ("PersonaRequest", "slug"), ("PersonaRequest", "name"), ("ModelSpecRequest", "name"),
    ("ModelSpecRequest", "model_path"), ("StudyWriteRequest", "name"), ("CaseSetUploadRequest", "name"),
])
def test_required_names_are_not_empty(schema, component, field):
    body = schema["components"]["schemas"][component]
    assert field in body["required"] and body["properties"][field]["minLength"] >= 1


def test_declared_limits_are_openapi_3_0(schema):
    spec = schema["components"]["schemas"]["ModelSpecRequest"]["properties"]
    assert spec["top_p"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1}
    assert spec["temperature"]["minimum"] == 0 and spec["temperature"]["maximum"] == 2
    assert spec["samples_per_prompt"]["maximum"] == 100
    study = schema["components"]["schemas"]["StudyWriteRequest"]["properties"]
    eligibility = study["eligibility"]
    assert "propertyNames" not in eligibility and eligibility["additionalProperties"] is False
    assert eligibility["properties"]["triage"]["properties"]["min_years"]["minimum"] == 0


def test_the_served_schema_is_the_generated_one(api_as, admin_user, schema):
    served = api_as(admin_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == schema["paths"].keys()
