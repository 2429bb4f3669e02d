"""The flag queue: dangerous outputs and reported problems, acknowledged and resolved with who and when; safety
alerts that were not delivered on top; persona and model only when asked for; the study's owners and admins only."""
import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import Assignment, ItemFlag, SafetyAlert, SafetyAlertStatus
from annotation.models.rating import DANGEROUS_FLAG
from annotation.services.flags import dangerous_flags_sync
from tests import factories
from tests.annotation.rating_helpers import build_rating_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


@pytest.fixture
def owner(rs):
    return factories.study_owner(rs.study)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def url(study):
    return reverse("annotation:study_flags", kwargs={"pk": study.pk})


def dangerous_rating(task, *, alert_status=None, alert_at=None):
    rating = factories.RatingFactory(assignment=task, is_dangerous=True, dangerous_rationale="Advises stopping insulin",
                                     values={"safety": ("not_compliant", "high")})
    if alert_status:
        alert = SafetyAlert.objects.create(study=task.study, rating=rating, subject="s", body="b", status=alert_status,
                                           last_error="SMTPServerDisconnected: gone")
        if alert_at:
            SafetyAlert.objects.filter(pk=alert.pk).update(created_at=alert_at)
    return rating


def problem_flag(task, kind="garbled", note="Cut off mid-sentence"):
    return ItemFlag.objects.create(study=task.study, rater=task.rater, assignment=task, kind=kind, note=note)


def tasks(rs):
    """The study's first-time assignments, one per response."""
    seen, found = set(), []
    first_time = Assignment.objects.filter(study=rs.study, repeat_of__isnull=True).select_related("response")
    for task in first_time.order_by("id"):
        if task.response_id not in seen:
            seen.add(task.response_id)
            found.append(task)
    return found


def test_dangerous_ratings_become_flags_once_dated_when_they_were_raised(rs):
    first, second = tasks(rs)[:2]
    raised = timezone.now() - datetime.timedelta(days=2)
    dangerous_rating(first, alert_status=SafetyAlertStatus.SENT, alert_at=raised)
    dangerous_rating(second)
    assert dangerous_flags_sync(study=rs.study) == 2
    assert dangerous_flags_sync(study=rs.study) == 0
    flag = ItemFlag.objects.get(assignment=first, kind=DANGEROUS_FLAG)
    assert flag.created_at == raised and flag.rater == first.rater and flag.note == "Advises stopping insulin"
    assert ItemFlag.objects.filter(kind=DANGEROUS_FLAG).count() == 2


def test_the_queue_lists_dangerous_outputs_first_then_problems(rs, owner):
    first, second = tasks(rs)[:2]
    problem_flag(first)
    dangerous_rating(second)
    response = client_for(owner).get(url(rs.study))
    assert response.status_code == 200
    flags = list(response.context["page"])
    assert [f.kind for f in flags] == [DANGEROUS_FLAG, "garbled"]
    html = response.content.decode()
    assert second.response.code in html and "Cut off mid-sentence" in html and "Advises stopping insulin" in html
    assert '<label for="resolution-' in html and 'scope="col"' in html and "<h1>" in html


def test_persona_and_model_are_shown_only_when_asked_for(rs, owner):
    task = tasks(rs)[0]
    problem_flag(task, kind="reveals_source")
    persona, model = task.response.persona.name, task.response.model.name
    hidden = client_for(owner).get(url(rs.study)).content.decode()
    assert persona not in hidden and model not in hidden and task.response.code in hidden
    shown = client_for(owner).get(url(rs.study) + "?reveal=1").content.decode()
    assert persona in shown and model in shown


def test_acknowledge_then_resolve_records_who_and_when(rs, owner):
    flag = problem_flag(tasks(rs)[0])
    client = client_for(owner)
    response = client.post(url(rs.study) + "?reveal=1", {"flag": flag.pk, "action": "acknowledge"})
    assert response.status_code == 302 and response["Location"].endswith("?reveal=1")
    flag.refresh_from_db()
    assert flag.acknowledged_by == owner and flag.acknowledged_at is not None and flag.resolved_at is None
    acknowledged_at = flag.acknowledged_at
    other_admin = factories.study_member(rs.study, factories.admin(), role="admin")
    client_for(other_admin).post(url(rs.study), {"flag": flag.pk, "action": "acknowledge"})
    flag.refresh_from_db()
    assert (flag.acknowledged_by, flag.acknowledged_at) == (owner, acknowledged_at)  # the first one stays

    client_for(other_admin).post(url(rs.study), {"flag": flag.pk, "action": "resolve", "resolution_note": "  "})
    flag.refresh_from_db()
    assert flag.resolved_at is None  # a resolution needs a note

    client_for(other_admin).post(url(rs.study), {"flag": flag.pk, "action": "resolve",
                                                  "resolution_note": "Response regenerated"})
    flag.refresh_from_db()
    assert flag.resolved_by == other_admin and flag.resolved_at is not None
    assert flag.resolution_note == "Response regenerated"
    open_page = client.get(url(rs.study))
    assert list(open_page.context["page"]) == []
    resolved_page = client.get(url(rs.study) + "?show=resolved")
    assert list(resolved_page.context["page"]) == [flag] and "Response regenerated" in resolved_page.content.decode()

    again = {"flag": flag.pk, "action": "resolve", "resolution_note": "again"}
    response = client.post(url(rs.study), again, follow=True)
    assert "resolved already" in response.content.decode()
    flag.refresh_from_db()
    assert flag.resolution_note == "Response regenerated"


def test_resolving_an_unacknowledged_flag_acknowledges_it_too(rs, owner):
    dangerous_rating(tasks(rs)[0])
    client = client_for(owner)
    flag = client.get(url(rs.study)).context["page"][0]
    client.post(url(rs.study), {"flag": flag.pk, "action": "resolve", "resolution_note": "Safety lead called back"})
    flag.refresh_from_db()
    assert flag.acknowledged_by == owner == flag.resolved_by and flag.acknowledged_at == flag.resolved_at


def test_undelivered_alerts_are_shown_on_top_and_sent_ones_are_not(rs, owner):
    first, second = tasks(rs)[:2]
    dangerous_rating(first, alert_status=SafetyAlertStatus.FAILED)
    dangerous_rating(second, alert_status=SafetyAlertStatus.SENT)
    html = client_for(owner).get(url(rs.study)).content.decode()
    assert "Safety alerts not delivered" in html
    top = html.split('id="queue"')[0]
    assert first.response.code in top and second.response.code not in top and "SMTPServerDisconnected" in top
    assert reverse("annotation:study_alerts", kwargs={"pk": rs.study.pk}) in top
    SafetyAlert.objects.update(status=SafetyAlertStatus.SENT)
    assert "Safety alerts not delivered" not in client_for(owner).get(url(rs.study)).content.decode()


def test_a_flag_of_another_study_or_a_bad_id_is_not_found(rs, owner):
    other = build_rating_study(n_cases=1, n_raters=1)
    flag = problem_flag(tasks(other)[0])
    client = client_for(owner)
    assert client.post(url(rs.study), {"flag": flag.pk, "action": "acknowledge"}).status_code == 404
    assert client.post(url(rs.study), {"flag": "x", "action": "acknowledge"}).status_code == 404
    flag.refresh_from_db()
    assert flag.acknowledged_at is None


@pytest.mark.parametrize("who", ["researcher", "clinician", "admin_elsewhere"])
def test_others_cannot_acknowledge_or_resolve(rs, who):
    flag = problem_flag(tasks(rs)[0])
    user = {"researcher": lambda: factories.study_member(rs.study, factories.researcher(), role="researcher"),
            "clinician": lambda: rs.raters[0],
            "admin_elsewhere": lambda: factories.study_owner(factories.StudyFactory())}[who]()
    client = client_for(user)
    for data in ({"flag": flag.pk, "action": "acknowledge"},
                 {"flag": flag.pk, "action": "resolve", "resolution_note": "x"}):
        assert client.post(url(rs.study), data).status_code == (404 if who == "admin_elsewhere" else 403)
    flag.refresh_from_db()
    assert flag.acknowledged_at is None and flag.resolved_at is None


def test_the_queue_takes_a_fixed_number_of_queries(rs, owner, django_assert_max_num_queries):
    for n, task in enumerate(tasks(rs)):
        if n % 2:
            problem_flag(task)
        else:
            dangerous_rating(task, alert_status=SafetyAlertStatus.FAILED)
    client = client_for(owner)
    client.get(url(rs.study))  # the first visit lists the dangerous ratings
    with django_assert_max_num_queries(14):
        assert client.get(url(rs.study) + "?reveal=1").status_code == 200
