"""The session's user is read by a prepared statement: the same user as Django's own backend gives, one
query, and no user for an inactive or a removed account."""
import pytest
from django.contrib.auth import backends, get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.backends import ModelBackend
from tests import factories

pytestmark = pytest.mark.django_db


def _fields(user) -> dict:
    return {f.attname: getattr(user, f.attname) for f in get_user_model()._meta.concrete_fields}


def test_the_user_read_is_the_one_django_reads_in_one_query():
    user = factories.clinician()
    user.last_login = user.date_joined
    user.save()
    with CaptureQueriesContext(connection) as queries:
        found = ModelBackend().get_user(user.pk)
    assert len(queries.captured_queries) == 1
    assert _fields(found) == _fields(backends.ModelBackend().get_user(user.pk))
    assert found._state.db == "default" and not found._state.adding


def test_an_inactive_or_removed_account_has_no_user():
    user = factories.clinician()
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert ModelBackend().get_user(user.pk) is None
    assert ModelBackend().get_user(user.pk + 1000) is None


def test_a_signed_in_clinician_is_read_through_it_and_a_deactivated_one_is_signed_out(client):
    user = factories.clinician()
    client.force_login(user)
    assert client.session["_auth_user_backend"] == "accounts.backends.ModelBackend"
    assert client.get(reverse("annotation:rater_home")).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(reverse("annotation:rater_home")).status_code == 302  # to the login page
