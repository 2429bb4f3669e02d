"""Dangerous-output alerts: written with the rating (an outbox), sent by a task that retries on mail
errors, never sent twice, never failing the clinician's submit; undelivered ones listed for admins;
a study cannot open for rating without a safety contact."""
import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from annotation.models import Assignment, Rating, SafetyAlert, SafetyAlertStatus
from annotation.services.alerts import MAX_ATTEMPTS, safety_alert_deliver
from annotation.services.ratings import rating_submit
from annotation.tasks import safety_alert_send
from config.exceptions import ApplicationError
from studies.models import StudyStatus
from studies.services.studies import study_transition, study_update
from tests import factories
from tests.annotation import mail_backends
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db

DOWN = "tests.annotation.mail_backends.DownBackend"


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


@pytest.fixture(autouse=True)
def _reset_calls():
    mail_backends.calls["n"] = 0


def first_item(rater):
    return Assignment.objects.filter(rater=rater).order_by("position").first()


def dangerous(**extra):
    return form_data(is_dangerous="on", dangerous_rationale="Advises doubling an anticoagulant.", **extra)


def test_with_the_mail_server_down_the_clinician_submit_succeeds_and_the_alert_waits(
        client, rs, django_capture_on_commit_callbacks):
    me = rs.raters[0]
    client.force_login(me)
    a = first_item(me)
    with override_settings(EMAIL_BACKEND=DOWN), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("annotation:rate_task", kwargs={"code": a.code}), dangerous())
    assert response.status_code == 302
    rating = Rating.objects.get(assignment=a)
    alert = SafetyAlert.objects.get(rating=rating)
    assert alert.status == SafetyAlertStatus.FAILED and alert.sent_at is None
    assert alert.attempts == MAX_ATTEMPTS == mail_backends.calls["n"]
    assert "Connection refused" in alert.last_error
    assert rating.dangerous_notified_at is None
    assert mail.outbox == []


def test_the_api_submit_also_succeeds_while_mail_fails(api_as, rs, django_capture_on_commit_callbacks):
    me = rs.raters[0]
    a = first_item(me)
    with override_settings(EMAIL_BACKEND="tests.annotation.mail_backends.SmtpErrorBackend"), \
            django_capture_on_commit_callbacks(execute=True):
        response = api_as(me).post(reverse("annotation-api:rating-submit", kwargs={"code": a.code}), {
            "values": full_rating(), "is_dangerous": True, "dangerous_rationale": "Wrong dose."}, format="json")
    assert response.status_code == 200
    assert SafetyAlert.objects.get().status == SafetyAlertStatus.FAILED


def test_a_failed_alert_is_sent_once_the_server_is_back_and_never_twice(rs, django_capture_on_commit_callbacks):
    me = rs.raters[0]
    a = first_item(me)
    with override_settings(EMAIL_BACKEND=DOWN), django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=a, rater=me, values=full_rating(), is_dangerous=True, dangerous_rationale="x")
    alert = SafetyAlert.objects.get()
    safety_alert_send.delay(alert.pk)  # still FAILED: a stray task does not send a given-up alert
    assert mail.outbox == []
    from annotation.services.alerts import safety_alert_resend
    with django_capture_on_commit_callbacks(execute=True):
        safety_alert_resend(alert=alert)
    alert.refresh_from_db()
    assert alert.status == SafetyAlertStatus.SENT and alert.sent_at is not None and len(mail.outbox) == 1
    assert mail.outbox[0].to == ["safety@example.org"]
    safety_alert_send.delay(alert.pk)  # a duplicate delivery of the task
    assert safety_alert_deliver(alert_id=alert.pk).retry is False
    assert len(mail.outbox) == 1
    alert.refresh_from_db()
    assert alert.rating.dangerous_notified_at == alert.sent_at


def test_errors_that_retrying_cannot_fix_are_not_retried(rs, django_capture_on_commit_callbacks):
    me = rs.raters[0]
    with override_settings(EMAIL_BACKEND="tests.annotation.mail_backends.BrokenMessageBackend"), \
            django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=first_item(me), rater=me, values=full_rating(), is_dangerous=True,
                      dangerous_rationale="x")
    alert = SafetyAlert.objects.get()
    assert alert.status == SafetyAlertStatus.FAILED and alert.attempts == 1 == mail_backends.calls["n"]


def test_the_alert_row_is_written_in_the_ratings_transaction(rs):
    me = rs.raters[0]
    rating_submit(assignment=first_item(me), rater=me, values=full_rating(), is_dangerous=True,
                  dangerous_rationale="x")
    alert = SafetyAlert.objects.get()
    assert alert.status == SafetyAlertStatus.PENDING and alert.attempts == 0 and alert.study == rs.study
    assert first_item(me).response.code in alert.body


def test_undelivered_alerts_are_listed_for_admins_and_linked_from_the_study_page(
        client, rs, django_capture_on_commit_callbacks):
    me = rs.raters[0]
    with override_settings(EMAIL_BACKEND=DOWN), django_capture_on_commit_callbacks(execute=True):
        rating_submit(assignment=first_item(me), rater=me, values=full_rating(), is_dangerous=True,
                      dangerous_rationale="x")
    alerts_url = reverse("annotation:study_alerts", kwargs={"pk": rs.study.pk})
    client.force_login(me)
    assert client.get(alerts_url).status_code in (302, 403)
    client.force_login(factories.admin(is_superuser=True))
    html = client.get(alerts_url).content.decode()
    assert "Connection refused" in html and "Not delivered" in html and first_item(me).response.code in html
    study_page = client.get(reverse("studies:study_detail", args=[rs.study.pk])).content.decode()
    assert alerts_url in study_page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(alerts_url, {"alert": SafetyAlert.objects.get().pk})
    assert response.status_code == 302
    assert SafetyAlert.objects.get().status == SafetyAlertStatus.SENT and len(mail.outbox) == 1


def test_a_study_cannot_open_for_rating_without_a_safety_contact():
    rs = build_rating_study(n_raters=2, plan=False, status=StudyStatus.GENERATING, safety_lead_email="")
    with pytest.raises(ApplicationError, match="needs a safety contact"):
        study_transition(study=rs.study, to_status=StudyStatus.RATING, user=factories.admin(is_superuser=True))
    rs.study.refresh_from_db()
    assert rs.study.status == StudyStatus.GENERATING
    study_update(study=rs.study, safety_lead_email="lead@example.org")
    assert study_transition(study=rs.study, to_status=StudyStatus.RATING,
                            user=factories.admin(is_superuser=True)).status == StudyStatus.RATING


def test_a_rating_study_keeps_its_safety_contact(rs):
    with pytest.raises(ApplicationError, match="safety"):
        study_update(study=rs.study, safety_lead_email="")


def test_a_worker_retries_transient_errors_with_exponential_backoff(rs, monkeypatch):
    from celery.exceptions import Retry

    me = rs.raters[0]
    rating_submit(assignment=first_item(me), rater=me, values=full_rating(), is_dangerous=True,
                  dangerous_rationale="x")
    alert = SafetyAlert.objects.get()
    countdowns = []

    def retry(countdown):
        countdowns.append(countdown)
        return Retry("again", when=countdown)

    monkeypatch.setattr(safety_alert_send, "retry", retry)
    with override_settings(EMAIL_BACKEND=DOWN):
        for _ in range(MAX_ATTEMPTS - 1):
            with pytest.raises(Retry):
                safety_alert_send.run(alert.pk)
        assert safety_alert_send.run(alert.pk) == "failed"
    assert countdowns == [60, 120, 240, 480, 960]
    alert.refresh_from_db()
    assert alert.status == SafetyAlertStatus.FAILED and alert.attempts == MAX_ATTEMPTS


def test_only_the_studys_admins_see_its_alerts(client, rs):
    alerts_url = reverse("annotation:study_alerts", kwargs={"pk": rs.study.pk})
    client.force_login(factories.admin())  # a site admin who is not a member of this study
    assert client.get(alerts_url).status_code == 404
    client.force_login(factories.study_owner(rs.study))
    assert client.get(alerts_url).status_code == 200
