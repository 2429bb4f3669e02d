"""API authentication: session always; HTTP Basic only where a deployment turns it on. Permission is
decided before the request body is read, so a user without the role gets 403 whatever they send."""
import base64

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories
from tests.config.test_settings import _settings_probe

pytestmark = pytest.mark.django_db
UPLOAD = "/api/case-sets/upload/"


def _basic(user):
    return "Basic " + base64.b64encode(f"{user.username}:{factories.PASSWORD}".encode()).decode()


def test_http_basic_is_off_unless_the_deployment_turns_it_on(settings):
    researcher = factories.researcher()
    url = reverse("api-schema")
    assert APIClient().get(url, HTTP_AUTHORIZATION=_basic(researcher)).status_code in (401, 403)
    settings.API_BASIC_AUTH = True
    assert APIClient().get(url, HTTP_AUTHORIZATION=_basic(researcher)).status_code == 200


def test_production_settings_leave_http_basic_out_of_the_api_unless_asked():
    expr = "s.API_BASIC_AUTH, [c.rsplit('.', 1)[1] for c in s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']]"
    off = _settings_probe({"SECRET_KEY": "x" * 50}, expr)
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "False ['SessionAuthentication']"
    on = _settings_probe({"SECRET_KEY": "x" * 50, "API_BASIC_AUTH": "1"}, expr)
    assert on.stdout.strip() == "True ['SessionAuthentication', 'BasicAuthentication']"


def _session_api(user) -> APIClient:
    """A browser-like API client: logged in by session cookie, CSRF enforced, token sent in the header."""
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(user)
    api.get(reverse("login"))  # sets the CSRF cookie
    api.credentials(HTTP_X_CSRFTOKEN=api.cookies["csrftoken"].value)
    return api


def test_a_clinician_posting_json_to_an_admin_upload_gets_403_not_415():
    response = _session_api(factories.clinician()).post(UPLOAD, {"name": "x"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"message", "extra"}


def test_a_clinician_posting_malformed_json_to_an_admin_endpoint_gets_403():
    response = _session_api(factories.clinician()).post(
        reverse("studies-api:persona-list"), "{not json", content_type="application/json")
    assert response.status_code == 403


def test_an_admin_still_gets_415_for_a_body_the_upload_does_not_accept():
    response = _session_api(factories.admin()).post(UPLOAD, {"name": "x"}, format="json")
    assert response.status_code == 415
    assert set(response.json()) == {"message", "extra"}


def test_session_writes_still_need_the_csrf_token():
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(factories.admin())
    response = api.post(reverse("studies-api:persona-list"), {"slug": "p"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["message"]
    response = api.post(UPLOAD, {"name": "x"}, format="multipart")
    assert response.status_code == 403 and "CSRF" in response.json()["message"]


def test_a_form_post_may_carry_its_csrf_token_in_the_body():
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(factories.admin())
    api.get(reverse("login"))
    token = api.cookies["csrftoken"].value
    response = api.post(UPLOAD, {"name": "x", "csrfmiddlewaretoken": token}, format="multipart")
    assert response.status_code == 400  # past CSRF and permission: the serializer wants a file

