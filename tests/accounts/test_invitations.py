"""Clinician accounts from a study's clinicians page: site admins create and invite (a one-time set-password link
by email, or a one-time password shown once when mail is off); study admins enrol and withdraw."""
import re

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Specialty
from accounts.services import invitation_issue, invitation_tokens, invitations_by_email
from annotation.models import Assignment, AssignmentStatus, StudyRater
from config.exceptions import ApplicationError
from tests import factories
from tests.annotation.rating_helpers import build_rating_study

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "Quiet-harbour-lantern-42"


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


@pytest.fixture
def site_admin(rs):
    user = factories.study_owner(rs.study)
    user.is_superuser = True
    user.save()
    return user


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def raters_url(study):
    return reverse("annotation:study_raters", kwargs={"pk": study.pk})


def create_data(**overrides):
    data = {"action": "create", "new-username": "dr_new", "new-email": "dr_new@example.org",
            "new-specialty": Specialty.CRITICAL_CARE, "new-years_in_practice": "7", "new-enrol": "on"}
    data.update(overrides)
    return data


def test_mail_off_is_read_from_the_backend_unless_a_setting_says_so(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert invitations_by_email() is False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert invitations_by_email() is True
    settings.INVITATIONS_BY_EMAIL = False
    assert invitations_by_email() is False


def test_mail_off_the_one_time_password_is_shown_once_and_sets_a_password(rs, site_admin):
    response = client_for(site_admin).post(raters_url(rs.study), create_data())
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    user = StudyRater.objects.get(study=rs.study, rater__username="dr_new").rater
    assert not user.has_usable_password() and user.email == "dr_new@example.org"
    assert (user.rater_profile.specialty, user.rater_profile.years_in_practice) == (Specialty.CRITICAL_CARE, 7)
    html = response.content.decode()
    one_time = re.search(r'<code id="one-time-password">([^<]+)</code>', html).group(1)
    assert invitation_tokens.check_token(user, one_time)
    assert len(mail.outbox) == 0
    assert one_time not in client_for(site_admin).get(raters_url(rs.study)).content.decode()  # shown once

    page = Client()
    weak = page.post(reverse("password_set"), {"username": "dr_new", "one_time_password": one_time,
                                               "new_password1": "dr_new123", "new_password2": "dr_new123"})
    assert weak.status_code == 200 and weak.context["form"].errors  # the password validators apply
    done = page.post(reverse("password_set"), {"username": "dr_new", "one_time_password": one_time,
                                               "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("password_set_done")
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)
    again = page.post(reverse("password_set"), {"username": "dr_new", "one_time_password": one_time,
                                                "new_password1": "Another-long-phrase-77",
                                                "new_password2": "Another-long-phrase-77"})
    assert again.status_code == 200 and "was used or has expired" in again.content.decode()  # it works once
    assert Client().login(username="dr_new", password=GOOD_PASSWORD)


@override_settings(INVITATIONS_BY_EMAIL=True)
def test_mail_on_a_one_time_link_is_emailed(rs, site_admin):
    response = client_for(site_admin).post(raters_url(rs.study), create_data())
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dr_new@example.org"]
    link = re.search(r"http://testserver(/password/set/\S+/)", mail.outbox[0].body).group(1)
    page = Client()
    form_page = page.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = page.post(form_page.redirect_chain[-1][0], {"new_password1": GOOD_PASSWORD,
                                                       "new_password2": GOOD_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("password_set_done")
    assert Client().login(username="dr_new", password=GOOD_PASSWORD)
    reused = Client().get(link, follow=True)
    assert not reused.context["validlink"]  # the link works once


@override_settings(INVITATIONS_BY_EMAIL=True)
def test_mail_on_an_email_address_is_required_and_nothing_is_created(rs, site_admin):
    response = client_for(site_admin).post(raters_url(rs.study), create_data(**{"new-email": ""}))
    assert response.status_code == 400
    assert not StudyRater.objects.filter(rater__username="dr_new").exists()


def test_a_taken_username_is_refused_and_the_existing_account_is_unchanged(rs, site_admin):
    existing = rs.raters[0]
    password = existing.password
    response = client_for(site_admin).post(raters_url(rs.study), create_data(**{"new-username": existing.username}))
    assert response.status_code == 400 and "taken" in response.content.decode()
    existing.refresh_from_db()
    assert existing.password == password


def test_invitation_refused_for_someone_with_a_password(rs):
    with pytest.raises(ApplicationError):
        invitation_issue(user=rs.raters[0], set_password_url=lambda uid, token: "x")


def test_invite_again_gives_a_new_one_time_password(rs, site_admin):
    client = client_for(site_admin)
    client.post(raters_url(rs.study), create_data())
    response = client.post(raters_url(rs.study), {"action": "invite", "username": "dr_new"})
    assert response.status_code == 200 and 'id="one-time-password"' in response.content.decode()


def test_a_study_admin_without_the_add_user_permission_enrols_and_withdraws_but_cannot_create(rs):
    from django.contrib.auth.models import Group

    Group.objects.get(name="admin").permissions.clear()  # a deployment that keeps account creation elsewhere
    study_admin = factories.study_owner(rs.study)
    client = client_for(study_admin)
    page = client.get(raters_url(rs.study))
    assert page.status_code == 200 and "Create a clinician account" not in page.content.decode()
    assert client.post(raters_url(rs.study), create_data()).status_code == 403
    assert client.post(raters_url(rs.study), {"action": "invite", "username": rs.raters[0].username}).status_code == 403
    assert not StudyRater.objects.filter(rater__username="dr_new").exists()

    newcomer = factories.clinician()
    assert newcomer.username in client.get(raters_url(rs.study)).content.decode()
    client.post(raters_url(rs.study), {"action": "enrol", "username": newcomer.username})
    assert StudyRater.objects.get(study=rs.study, rater=newcomer).is_active
    assert Assignment.objects.filter(study=rs.study, rater=newcomer).exists()  # a running study rebalances

    leaving = rs.raters[0]
    client.post(raters_url(rs.study), {"action": "withdraw", "username": leaving.username})
    assert not StudyRater.objects.get(study=rs.study, rater=leaving).is_active
    assert not Assignment.objects.filter(rater=leaving, status=AssignmentStatus.PENDING).exists()  # moved to others


def test_enrolling_someone_who_is_not_a_clinician_is_refused(rs):
    client = client_for(factories.study_owner(rs.study))
    researcher = factories.researcher()
    response = client.post(raters_url(rs.study), {"action": "enrol", "username": researcher.username}, follow=True)
    assert "No clinician is called" in response.content.decode()
    assert not StudyRater.objects.filter(rater=researcher).exists()


@pytest.mark.parametrize("who", ["researcher", "clinician", "admin_elsewhere"])
def test_others_cannot_enrol_withdraw_or_create(rs, who):
    user = {"researcher": lambda: factories.study_member(rs.study, factories.researcher(), role="researcher"),
            "clinician": lambda: rs.raters[0],
            "admin_elsewhere": lambda: factories.study_owner(factories.StudyFactory())}[who]()
    newcomer = factories.clinician()
    client = client_for(user)
    expected = 404 if who == "admin_elsewhere" else 403
    for data in ({"action": "enrol", "username": newcomer.username},
                 {"action": "withdraw", "username": rs.raters[1].username}, create_data()):
        assert client.post(raters_url(rs.study), data).status_code == expected
    assert not StudyRater.objects.filter(rater=newcomer).exists()
    assert StudyRater.objects.get(study=rs.study, rater=rs.raters[1]).is_active


def test_the_page_is_labelled(rs, site_admin):
    factories.clinician()
    html = client_for(site_admin).get(raters_url(rs.study)).content.decode()
    assert '<label for="enrol-username">' in html and 'for="id_new-username"' in html
    assert '<th scope="row">' + rs.raters[0].username in html and "<h1>" in html


def test_the_admin_role_carries_the_add_user_permission(rs):
    """An admin made with `create_user --role admin` creates clinicians in the app; no superuser needed."""
    study_admin = factories.study_owner(rs.study)
    assert study_admin.has_perm("auth.add_user") and not study_admin.is_superuser
    response = client_for(study_admin).post(raters_url(rs.study), create_data())
    assert response.status_code == 200 and 'id="one-time-password"' in response.content.decode()
    assert StudyRater.objects.get(study=rs.study, rater__username="dr_new").is_active


def test_the_login_page_leads_to_the_one_time_password_page():
    assert reverse("password_set") in Client().get(reverse("login")).content.decode()


def test_the_clinicians_page_takes_a_fixed_number_of_queries(rs, site_admin, django_assert_max_num_queries):
    for _ in range(5):
        factories.clinician()
    client = client_for(site_admin)
    with django_assert_max_num_queries(12):
        assert client.get(raters_url(rs.study)).status_code == 200
