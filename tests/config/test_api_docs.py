"""The API docs work offline: Swagger UI and Redoc from the project's own static files, login first."""
import pytest
from django.urls import reverse

from tests import factories


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_api_docs_send_anonymous_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_api_docs_load_their_assets_from_our_own_static_files(client, name):
    client.force_login(factories.admin())
    page = client.get(reverse(name)).content.decode()
    assert "drf_spectacular_sidecar" in page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
