"""Passwords: the configured validators apply to every account created, and users can change theirs."""
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.roles import CLINICIAN
from accounts.services import user_create
from config.exceptions import ApplicationError
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_user_create_refuses_a_weak_password_and_lists_every_problem():
    with pytest.raises(ApplicationError) as caught:
        user_create(username="dr-weak", password="1234", role=CLINICIAN)
    problems = caught.value.extra["password"]
    assert len(problems) >= 3  # too short, too common, entirely numeric
    assert any("too short" in p for p in problems) and any("too common" in p for p in problems)
    assert any("numeric" in p for p in problems)
    assert not User.objects.filter(username="dr-weak").exists()


def test_user_create_refuses_a_password_like_the_username():
    with pytest.raises(ApplicationError) as caught:
        user_create(username="harriet.okafor", password="harriet.okafor1", role=CLINICIAN)
    assert any("too similar" in p for p in caught.value.extra["password"])


def test_create_user_command_refuses_a_one_letter_password_with_a_clear_message():
    with pytest.raises(CommandError) as caught:
        call_command("create_user", "dr-a", "--role", "clinician", "--password", "a")
    message = str(caught.value)
    assert "Password rejected" in message and "too short" in message
    assert not User.objects.filter(username="dr-a").exists()


def test_create_user_command_accepts_a_good_password(capsys):
    call_command("create_user", "dr-b", "--role", "clinician", "--password", "correct-horse-battery")
    assert User.objects.get(username="dr-b").check_password("correct-horse-battery")


def test_password_change_page_needs_a_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_page_header_links_to_the_password_change_page(client):
    client.force_login(factories.researcher())
    page = client.get(reverse("agreement:report_list")).content.decode()
    assert f'href="{reverse("password_change")}"' in page


def test_password_change_applies_the_validators(client):
    user = factories.clinician()
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": factories.PASSWORD, "new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "too short" in page and "too common" in page
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


def test_password_change_needs_the_old_password(client):
    user = factories.clinician()
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": "not-it", "new_password1": "a-much-better-secret", "new_password2": "a-much-better-secret"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


def test_password_change_works_and_keeps_the_user_logged_in(client):
    user = factories.clinician()
    client.force_login(user)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "Change your password" in page.content.decode()
    response = client.post(reverse("password_change"), {
        "old_password": factories.PASSWORD, "new_password1": "a-much-better-secret",
        "new_password2": "a-much-better-secret"})
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    done = client.get(response.url)
    assert done.status_code == 200 and "Your password was changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-much-better-secret")
