"""The clinician's pages: home, the form (submit, errors, drafts, revisions, flags), done and history."""
import re

import pytest
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, ItemFlag, PreferenceAssignment, Rating, StudyRater
from annotation.rating_form import GLOBAL_SHORTCUTS
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def rs():
    return build_rating_study(n_cases=2, n_raters=2)


@pytest.fixture
def me(client, rs):
    client.force_login(rs.raters[0])
    return rs.raters[0]


def queue(rater):
    return list(Assignment.objects.filter(rater=rater).order_by("position"))


def task_url(a, name="annotation:rate_task"):
    return reverse(name, kwargs={"code": a.code})


def test_home_lists_the_clinicians_studies_with_progress_and_a_continue_link(client, rs, me):
    enrolment = StudyRater.objects.get(rater=me)
    html = client.get(reverse("annotation:rater_home")).content.decode()
    assert "Study 1" in html  # the rater-facing label; the internal name is never shown (blinding audit)
    assert f"0 of {len(queue(me))}" in html
    assert reverse("annotation:rate_continue", kwargs={"code": enrolment.code}) in html


def test_continue_goes_to_the_first_unsubmitted_item(client, rs, me):
    enrolment = StudyRater.objects.get(rater=me)
    first, second = queue(me)[:2]
    Rating.objects.create(assignment=first)
    Assignment.objects.filter(pk=first.pk).update(status=AssignmentStatus.SUBMITTED)
    response = client.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    assert response.status_code == 302 and response.url == task_url(second)


def test_the_form_shows_every_field_with_its_shortcut_and_the_progress(client, rs, me):
    a = queue(me)[0]
    html = client.get(task_url(a)).content.decode()
    for name in ("v__safety", "c__safety", "x__safety", "v__reasoning", "c__reasoning", "x__reasoning", "comment",
                 "is_dangerous", "dangerous_rationale"):
        assert f'name="{name}"' in html
    assert html.count('data-key="1"') == 4  # each of the four questions answers to 1-9
    for key, meaning in GLOBAL_SHORTCUTS:
        assert f"<kbd>{key}</kbd>" in html and meaning.split("(")[0].strip() in html
    assert f'max="{len(queue(me))}" value="0"' in html
    assert '<label for="comment">' in html and 'id="comment"' in html
    assert "js/rate.js" in html and "css/rate.css" in html


def test_opening_an_item_records_when_and_at_which_place_it_was_shown(client, rs, me):
    a = queue(me)[3]
    client.get(task_url(a))
    a.refresh_from_db()
    assert a.first_shown_at is not None and a.display_position == 1


def test_submitting_the_form_stores_the_rating_and_goes_to_the_next_item(client, rs, me):
    first, second = queue(me)[:2]
    response = client.post(task_url(first), form_data(idempotency_key="abc", active_seconds="0"), follow=True)
    assert response.redirect_chain[-1][0] == task_url(second)
    assert Rating.objects.get(assignment=first).values.count() == 2
    assert "1 of" in response.content.decode()


def test_a_double_posted_form_stores_one_rating(client, rs, me):
    first = queue(me)[0]
    client.post(task_url(first), form_data(idempotency_key="same"))
    client.post(task_url(first), form_data(idempotency_key="same"))
    assert Rating.objects.filter(assignment=first).count() == 1
    assert Rating.objects.get(assignment=first).revisions.count() == 1


def test_an_incomplete_form_is_shown_again_with_errors_and_what_was_entered(client, rs, me):
    first = queue(me)[0]
    data = form_data()
    del data["c__reasoning"]
    data["comment"] = "keep me"
    response = client.post(task_url(first), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please complete the rating." in html and "Say how confident you are." in html
    assert "keep me" in html and re.search(r'value="compliant" checked', html)
    assert not Rating.objects.exists()


def test_cannot_assess_posted_from_the_form(client, rs, me):
    first = queue(me)[0]
    client.post(task_url(first), form_data(full_rating(safety={"cannot_assess": True})))
    value = Rating.objects.get(assignment=first).values.get(dimension="safety")
    assert value.cannot_assess and value.value == ""


def test_the_draft_endpoint_saves_and_another_device_resumes_from_it(client, rs, me):
    from django.test import Client

    first = queue(me)[0]
    response = client.post(task_url(first, "annotation:rate_draft"),
                           {"v__safety": "partially_compliant", "comment": "thinking", "active_seconds": "3"})
    assert response.status_code == 200 and "saved_at" in response.json()
    tablet = Client()
    tablet.force_login(me)
    enrolment = StudyRater.objects.get(rater=me)
    page = tablet.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}), follow=True)
    html = page.content.decode()
    assert page.redirect_chain[-1][0] == task_url(first)
    assert re.search(r'value="partially_compliant" checked', html) and "thinking" in html


def test_a_submitted_item_opens_for_revision_which_needs_a_reason(client, rs, me):
    first = queue(me)[0]
    client.post(task_url(first), form_data())
    html = client.get(task_url(first)).content.decode()
    assert 'name="reason"' in html and "Save revision" in html
    changed = form_data(full_rating(reasoning={"value": "2", "confidence": "high"}))
    response = client.post(task_url(first), changed)
    assert response.status_code == 409 and "give a reason" in response.content.decode()
    assert Rating.objects.get(assignment=first).revision == 1
    client.post(task_url(first), {**changed, "reason": "Re-read the vignette"})
    rating = Rating.objects.get(assignment=first)
    assert rating.revision == 2 and rating.revisions.last().reason == "Re-read the vignette"


def test_flagging_a_problem_from_the_form(client, rs, me):
    first = queue(me)[0]
    response = client.post(task_url(first, "annotation:rate_flag"), {"kind": "reveals_source", "note": "A bot"})
    assert response.status_code == 302 and response.url == task_url(first)
    assert ItemFlag.objects.get().kind == "reveals_source"


def test_done_page_when_the_queue_is_finished_and_history_lists_submissions(client, rs, me):
    for a in queue(me):
        client.post(task_url(a), form_data())
    enrolment = StudyRater.objects.get(rater=me)
    done = client.get(reverse("annotation:rate_continue", kwargs={"code": enrolment.code}))
    assert done.status_code == 200 and "All done" in done.content.decode()
    history = client.get(reverse("annotation:rate_history", kwargs={"code": enrolment.code})).content.decode()
    assert history.count("Review or revise") == len(queue(me))


def test_a_closed_study_shows_items_read_only(client, rs, me):
    first = queue(me)[0]
    client.post(task_url(first), form_data())
    rs.study.status = "closed"
    rs.study.save()
    html = client.get(task_url(first)).content.decode()
    assert "closed" in html and "Submit and next" not in html and "data-closed" in html


def test_preference_page_shows_two_sides_and_stores_the_choice():
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    from django.test import Client

    client = Client()
    client.force_login(rs.raters[0])
    task = PreferenceAssignment.objects.filter(rater=rs.raters[0]).order_by("position").first()
    html = client.get(task_url(task)).content.decode()
    assert "Response A" in html and "Response B" in html and 'name="side"' in html
    response = client.post(task_url(task), {"side": "right", "confidence": "medium"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == AssignmentStatus.SUBMITTED
    assert task.preference.choice == ("b" if task.left_is_a else "a")
