"""Every /api/ path answers errors as JSON in the one shape, 404 and 405 included; an anonymous or
wrongly-authenticated API call is a 401 with a WWW-Authenticate challenge, not a 403."""
import base64

import pytest
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def _error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "extra"}
    return body


@pytest.mark.parametrize("url", [
    "/api/jobs/not-a-number/",  # <int:> route: no match, so Django's 404 (it was an HTML page)
    "/api/rating/admin/studies/x/raters/",
    "/api/reports/abc/download/",
    "/api/studies/abc/jobs/",
    "/api/no-such-thing/",
    "/api/",
])
def test_unmatched_api_paths_are_json_404s(api_as, admin_user, url):
    _error(api_as(admin_user).get(url), 404)
    _error(APIClient().get(url), 404)


def test_a_missing_object_is_a_json_404(api_as, admin_user):
    _error(api_as(admin_user).get("/api/jobs/999999/"), 404)


def test_a_method_the_operation_does_not_take_is_a_json_405(api_as, admin_user):
    _error(api_as(admin_user).delete("/api/reports/"), 405)
    _error(api_as(admin_user).put("/api/jobs/1/cancel/"), 405)


def test_pages_outside_the_api_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url", ["/api/studies/", "/api/rating/assignments/", "/api/reports/", "/api/schema/"])
def test_anonymous_api_calls_are_401_with_a_challenge(url):
    response = APIClient().get(url)
    _error(response, 401)
    assert response["WWW-Authenticate"] == 'Session realm="api"'


def test_wrong_basic_credentials_are_401(settings):
    settings.API_BASIC_AUTH = True
    user = factories.admin()
    header = "Basic " + base64.b64encode(f"{user.username}:wrong".encode()).decode()
    response = APIClient().get("/api/studies/", HTTP_AUTHORIZATION=header)
    _error(response, 401)
    assert "WWW-Authenticate" in response


def test_a_logged_in_user_without_the_role_is_still_403(api_as):
    _error(api_as(factories.clinician()).get("/api/studies/"), 403)


def test_a_session_write_without_csrf_is_still_403():
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(factories.admin())
    body = _error(api.post("/api/personas/", {"slug": "p"}, format="json"), 403)
    assert "CSRF" in body["message"]


@pytest.mark.parametrize("url", ["/api/reports/?study=40389311220618518528", "/api/reports/?study=%C2%B2",
                                 "/api/cases/?case_set=40389311220618518528", "/api/cases/?case_set=%C2%B2"])
def test_an_id_filter_out_of_range_or_not_ascii_lists_nothing(api_as, admin_user, url):
    response = api_as(admin_user).get(url)
    assert response.status_code == 200 and response.json()["results"] == []
