from unittest import mock

from django.db import OperationalError
from django.urls import reverse


def test_healthz_answers_ok_with_one_cheap_query_and_no_login(db, client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok"
    assert "sessionid" not in response.cookies


def test_healthz_answers_503_in_the_api_error_shape_when_the_database_is_down(db, client):
    with mock.patch("accounts.views.connection") as connection:
        connection.cursor.return_value.__enter__.return_value.execute.side_effect = OperationalError(
            'connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused')
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert body["message"] == "Database unavailable."
    assert "10.0.0.5" not in response.content.decode()  # no connection details to anonymous callers


def test_healthz_answers_503_when_the_database_port_is_closed(db, client):
    """A real connection attempt to a port nobody listens on, not a mocked cursor."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    closed = {**connections["default"].settings_dict, "ENGINE": "django.db.backends.postgresql",
              "HOST": "127.0.0.1", "PORT": "9", "NAME": "x", "USER": "x", "PASSWORD": "x",
              "OPTIONS": {"connect_timeout": 2}}
    wrapper = DatabaseWrapper(closed, alias="healthz-closed-port")
    with mock.patch("accounts.views.connection", wrapper):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["message"] == "Database unavailable."
