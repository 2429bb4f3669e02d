import pytest
from django.urls import reverse

from accounts.roles import ADMIN, CLINICIAN, RESEARCHER, primary_role, user_roles
from accounts.services import user_create
from tests import factories


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "landing"),
    [
        (CLINICIAN, "annotation:rater_home"),
        (RESEARCHER, "agreement:report_list"),
        (ADMIN, "studies:study_list"),
    ],
)
def test_landing_page_sends_each_role_to_its_work(client, role, landing):
    user = factories.UserFactory(role=role)
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse(landing)


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_user_without_role_is_refused(client):
    client.force_login(factories.UserFactory())
    assert client.get(reverse("home")).status_code == 403


@pytest.mark.django_db
def test_login_page_logs_a_clinician_in_with_password(client):
    user_create(username="dr-a", password="s3cret-pass", role=CLINICIAN)
    response = client.post(reverse("login"), {"username": "dr-a", "password": "s3cret-pass"})
    assert response.status_code == 302
    assert client.get(reverse("home")).url == reverse("annotation:rater_home")


@pytest.mark.django_db
def test_user_create_gives_exactly_one_role_and_staff_only_to_admins():
    user = user_create(username="r1", password="x-123456789", role=RESEARCHER)
    assert user_roles(user) == {RESEARCHER} and not user.is_staff
    user = user_create(username="r1", password="x-123456789", role=ADMIN)
    user._role_cache = None
    assert primary_role(user) == ADMIN and user.is_staff


@pytest.mark.django_db
def test_researcher_cannot_open_the_rating_page(client):
    client.force_login(factories.researcher())
    assert client.get(reverse("annotation:rater_home")).status_code == 403


@pytest.mark.django_db
def test_clinicians_and_the_login_page_never_see_that_personas_are_studied(client):
    assert b"ersona" not in client.get(reverse("login")).content
    client.force_login(factories.clinician())
    assert b"ersona" not in client.get(reverse("annotation:rater_home"), follow=True).content
    client.force_login(factories.researcher())
    assert b"Persona Paradox Lab" in client.get(reverse("agreement:report_list")).content
