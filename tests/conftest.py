import os

import pytest
from rest_framework.test import APIClient

from tests import factories

# CI sets REQUIRE_SERVICES=1 so that a test needing PostgreSQL, Redis or vLLM fails instead of
# skipping when its service is missing: a green CI run must have exercised the real parts.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def clinician(db):
    return factories.clinician()


@pytest.fixture
def researcher(db):
    return factories.researcher()


@pytest.fixture
def admin_user(db):
    return factories.admin()


def _client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api_as():
    """api_as(user) -> a DRF client authenticated as that user."""
    return _client_for
