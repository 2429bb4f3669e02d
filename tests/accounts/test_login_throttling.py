"""Every way in with a password is throttled: a username + IP address pair that fails too often is
locked out for a cool-off period, on the login page, the Django admin login and the API's HTTP Basic."""
import base64
from datetime import timedelta

import pytest
from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from accounts.roles import ADMIN, CLINICIAN
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = factories.PASSWORD
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture(autouse=True)
def _fresh_attempts():
    axes_reset()
    yield
    axes_reset()


@pytest.fixture
def basic_auth_on(settings):
    settings.API_BASIC_AUTH = True


def _fail_login(client, username, times, url=None, **extra):
    url = url or reverse("login")
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong-password"}, **extra)
        assert response.status_code == 200  # the form again, with its error
    return response


def _basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_settings_limit_attempts_per_username_and_ip_with_a_cool_off():
    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME >= timedelta(minutes=5)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    first = import_string(settings.AUTHENTICATION_BACKENDS[0])  # checks the lockout before any password
    assert issubclass(first, AxesStandaloneBackend)


def test_login_page_locks_out_after_the_limit_even_with_the_right_password(client):
    user = factories.UserFactory(role=CLINICIAN)
    _fail_login(client, user.username, LIMIT - 1)
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong-password"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-in attempts" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_lockout_is_for_the_username_and_address_pair(client):
    user = factories.UserFactory(role=CLINICIAN)
    other = factories.UserFactory(role=CLINICIAN)
    _fail_login(client, user.username, LIMIT - 1)
    client.post(reverse("login"), {"username": user.username, "password": "wrong-password"})
    # The same person from another address, and another user from the same address, still get in.
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD},
                           REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    client.logout()
    response = client.post(reverse("login"), {"username": other.username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_successful_login_clears_earlier_failures(client):
    user = factories.UserFactory(role=CLINICIAN)
    _fail_login(client, user.username, LIMIT - 1)
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    client.logout()
    _fail_login(client, user.username, LIMIT - 1)
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client):
    user = factories.UserFactory(role=CLINICIAN)
    _fail_login(client, user.username, LIMIT - 1)
    client.post(reverse("login"), {"username": user.username, "password": "wrong-password"})
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302


def test_django_admin_login_is_throttled_too(client):
    admin = factories.UserFactory(role=ADMIN)
    url = reverse("admin:login")
    _fail_login(client, admin.username, LIMIT - 1, url=url)
    client.post(url, {"username": admin.username, "password": "wrong-password"})
    response = client.post(url, {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()


def test_api_basic_auth_is_throttled_with_the_json_error_shape(basic_auth_on):
    user = factories.researcher()
    api = APIClient()
    url = reverse("api-schema")
    assert api.get(url, HTTP_AUTHORIZATION=_basic(user.username, PASSWORD)).status_code == 200
    for _ in range(LIMIT - 1):
        assert api.get(url, HTTP_AUTHORIZATION=_basic(user.username, "wrong")).status_code in (401, 403)
    response = api.get(url, HTTP_AUTHORIZATION=_basic(user.username, "wrong"))
    assert response.status_code == 429
    response = api.get(url, HTTP_AUTHORIZATION=_basic(user.username, PASSWORD))
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert "Too many failed log-in attempts" in body["message"]
    assert body["extra"]["retry_after_seconds"] == int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert int(response["Retry-After"]) == body["extra"]["retry_after_seconds"]


def test_api_basic_auth_failures_do_not_trip_on_an_upload_body(basic_auth_on, tmp_path):
    """Recording a failed attempt must not parse a body the endpoint does not accept."""
    admin = factories.admin()
    response = APIClient().post(reverse("studies-api:case-set-upload"), {"name": "x"}, format="json",
                                HTTP_AUTHORIZATION=_basic(admin.username, "wrong"))
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"message", "extra"}
