"""Text the database cannot store (NUL, lone surrogates) is refused with a 400 in the API's error shape
before it reaches the database: in credentials, the path, the query string, headers and bodies.

SQLite stores NUL; PostgreSQL refuses it with an error that used to surface as a 500. The middleware
refuses it on every database, so these tests hold on both.
"""
import base64
import json

import pytest
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str = "x") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _assert_refused(response):
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) == {"message", "extra"}
    return body


@pytest.mark.parametrize("basic_on", [False, True])
@pytest.mark.parametrize("url", ["/api/schema/", "/api/studies/", "/api/rating/assignments/", "/api/nowhere/"])
def test_a_nul_byte_in_a_basic_username_is_a_400_before_login(settings, basic_on, url):
    settings.API_BASIC_AUTH = basic_on
    response = APIClient().get(url, HTTP_AUTHORIZATION="Basic YQBiOng=")  # base64 of "a\0b:x"
    body = _assert_refused(response)
    assert body["extra"] == {"location": "header", "name": "Authorization"}


def test_a_nul_byte_in_a_basic_password_is_refused_too(settings):
    settings.API_BASIC_AUTH = True
    _assert_refused(APIClient().get("/api/studies/", HTTP_AUTHORIZATION=_basic("admin", "p\0w")))


def test_valid_basic_credentials_still_log_in(settings):
    settings.API_BASIC_AUTH = True
    user = factories.admin()
    response = APIClient().get("/api/studies/", HTTP_AUTHORIZATION=_basic(user.username, factories.PASSWORD))
    assert response.status_code == 200


def test_nul_in_a_path_parameter_is_refused(api_as, admin_user):
    _assert_refused(api_as(admin_user).delete("/api/rating/admin/studies/1/raters/a%00b/"))
    _assert_refused(api_as(factories.clinician()).get("/api/rating/assignments/a%00b/"))


def test_nul_in_the_query_string_is_refused(api_as, admin_user):
    body = _assert_refused(api_as(admin_user).get("/api/reports/?study=1%00"))
    assert body["extra"] == {"location": "query", "name": "study"}


def test_nul_in_a_cookie_is_refused():
    _assert_refused(APIClient().get("/api/studies/", HTTP_COOKIE="sessionid=abc\0def0123456789"))
    escaped = APIClient()
    escaped.cookies["sessionid"] = "abc\0def0123456789"  # sent quoted, with an octal escape
    body = _assert_refused(escaped.get("/api/studies/"))
    assert body["extra"] == {"location": "cookie", "name": "sessionid"}


def test_nul_in_another_header_is_refused(api_as):
    response = api_as(factories.clinician()).post("/api/rating/assignments/x/submit/", {}, format="json",
                                                  HTTP_IDEMPOTENCY_KEY="k\0y")
    _assert_refused(response)


@pytest.mark.parametrize("payload", [
    {"name": "a\u0000b"},
    {"name": "x", "rating_schema": {"dimensions": [{"key": "k\u0000"}]}},
    {"name": "x", "eligibility": {"\u0000": 1}},
])
def test_nul_anywhere_in_a_json_body_is_refused(api_as, admin_user, payload):
    body = _assert_refused(api_as(admin_user).post("/api/studies/", payload, format="json"))
    assert body["extra"] == {"location": "body"}


def test_a_lone_surrogate_in_a_json_body_is_refused(api_as, admin_user):
    raw = '{"name": "x", "eligibility": {"note": "\\ud800"}}'
    _assert_refused(api_as(admin_user).post("/api/studies/", raw, content_type="application/json"))


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api_as, admin_user):
    raw = json.dumps({"name": "x\\u0000"})  # the text backslash-u-0000, no NUL
    response = api_as(admin_user).post("/api/studies/", raw, content_type="application/json")
    assert response.status_code != 400 or "name" in response.json()["extra"].get("fields", {})


def test_nul_in_a_form_body_is_refused(api_as, admin_user):
    response = api_as(admin_user).patch("/api/personas/1/", "name=a%00b",
                                        content_type="application/x-www-form-urlencoded")
    _assert_refused(response)


def test_malformed_json_is_left_to_the_view(api_as):
    # A clinician's malformed body to an admin endpoint: the permission answers first (403), not the guard.
    response = api_as(factories.clinician()).post("/api/personas/", "{not json\0", content_type="application/json")
    assert response.status_code == 403


def test_pages_outside_the_api_are_untouched(client):
    assert client.get("/login/?next=%00").status_code != 500


def test_json_nested_too_deeply_to_parse_is_a_400_not_a_500(api_as, admin_user):
    raw = '{"name": "\\u0041", "eligibility": ' + "[" * 50_000 + "]" * 50_000 + "}"
    body = _assert_refused(api_as(admin_user).post("/api/studies/", raw, content_type="application/json"))
    assert body["extra"] == {"location": "body"} and "nested" in body["message"]
