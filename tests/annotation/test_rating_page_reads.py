"""The rating page's fast paths give what the plain ORM, the progress query and a fresh rendering give: the
item read by SQL built once (with the rater's progress), the questions rendered once per distinct state,
and the Markdown of responses shared through the cache."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from annotation import blinding
from annotation.models import Assignment, AssignmentStatus, PreferenceAssignment, StudyRater
from annotation.selectors.rating import rater_progress, task_for_rater, task_progress
from annotation.services.ratings import rating_submit
from annotation.views.rater import _fragment
from tests.annotation.rating_helpers import build_rating_study, full_rating

pytestmark = pytest.mark.django_db


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def assert_same_item(found, reference, relations):
    """Every column of the item and of each related object as the ORM reads them, with no further query."""
    assert type(found) is type(reference) and fields_of(found) == fields_of(reference)
    for path in relations:
        mine, theirs = found, reference
        for name in path.split("__"):
            assert type(mine)._meta.get_field(name).is_cached(mine)  # read along, not loaded on access
            mine, theirs = getattr(mine, name), getattr(theirs, name)
        assert fields_of(mine) == fields_of(theirs)


def test_a_rating_item_is_read_as_the_orm_reads_it_with_its_enrolment_and_roles():
    rs = build_rating_study(n_cases=1, n_raters=2, rater_title="")
    me = rs.raters[0]
    task = Assignment.objects.filter(rater=me).order_by("position").first()
    Assignment.objects.filter(pk=task.pk).update(draft={"values": {"safety": {"value": "compliant"}}},
                                                 active_seconds=12.5)
    reference = Assignment.objects.select_related("study", "response__case").get(pk=task.pk)
    found = task_for_rater(rater=me, code=task.code)
    assert_same_item(found, reference, ("study", "response", "response__case"))
    assert found.draft == {"values": {"safety": {"value": "compliant"}}} and found.active_seconds == 12.5
    enrolment = StudyRater.objects.get(rater=me, study=rs.study)
    assert (found.enrolment.pk, found.enrolment.code, found.enrolment.study_title) == (
        enrolment.pk, enrolment.code, "Study 1")
    assert me._role_cache == {"clinician"}


def test_a_preference_item_is_read_with_its_comparison_case_and_both_responses():
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    me = rs.raters[0]
    task = PreferenceAssignment.objects.filter(rater=me).first()
    reference = PreferenceAssignment.objects.select_related(
        "study", "comparison__case", "comparison__response_a", "comparison__response_b").get(pk=task.pk)
    found = task_for_rater(rater=me, code=task.code, kind="a")  # looked for among rating items first
    assert_same_item(found, reference, ("study", "comparison", "comparison__case", "comparison__response_a",
                                        "comparison__response_b"))


def test_someone_elses_item_a_withdrawn_one_and_a_withdrawn_rater_find_nothing():
    rs = build_rating_study(n_cases=1, n_raters=2)
    me, other = rs.raters
    mine = Assignment.objects.filter(rater=me).order_by("position")
    assert task_for_rater(rater=other, code=mine[0].code) is None
    Assignment.objects.filter(pk=mine[0].pk).update(status=AssignmentStatus.WITHDRAWN)
    assert task_for_rater(rater=me, code=mine[0].code) is None
    assert task_for_rater(rater=me, code=mine[1].code) is not None
    StudyRater.objects.filter(rater=me).update(is_active=False)
    assert task_for_rater(rater=me, code=mine[1].code) is None


def test_the_progress_read_along_with_the_item_is_the_progress_query_s():
    rs = build_rating_study(n_cases=2, n_raters=2)
    me = rs.raters[0]
    queue = list(Assignment.objects.filter(rater=me).order_by("position"))

    def both(task):
        return task_progress(task_for_rater(rater=me, code=task.code, progress=True), rater=me), \
            rater_progress(rater=me, study=rs.study)

    along, alone = both(queue[-1])
    assert along == alone and (along.done, along.seconds_left) == (0, None)
    for task, seconds in zip(queue[:4], (20, 35.5, 60, 0), strict=True):  # the last one has no time on task
        rating_submit(assignment=task, rater=me, values=full_rating())
        Assignment.objects.filter(pk=task.pk).update(active_seconds=seconds)
    Assignment.objects.filter(pk=queue[4].pk).update(status=AssignmentStatus.WITHDRAWN)
    along, alone = both(queue[-1])
    assert along == alone
    assert (along.done, along.total) == (4, len(queue) - 1)
    assert along.seconds_left == pytest.approx(35.5 * (len(queue) - 5))
    # Without it: the query of its own.
    assert task_progress(task_for_rater(rater=me, code=queue[-1].code), rater=me) == alone


def test_the_questions_rendered_once_are_what_a_fresh_rendering_gives_and_states_do_not_mix(client):
    rs = build_rating_study(n_cases=1, n_raters=2)
    me = rs.raters[0]
    client.force_login(me)
    first, second = Assignment.objects.filter(rater=me).order_by("position")[:2]

    def page(task):
        return client.get(reverse("annotation:rate_task", kwargs={"code": task.code})).content.decode()

    assert " checked" not in page(first).split('id="rate-form"')[1].split("</form>")[0]
    client.post(reverse("annotation:rate_draft", kwargs={"code": second.code}), {"v__safety": "compliant"})
    assert 'value="compliant" checked' in page(second)
    assert 'value="compliant" checked' not in page(first)
    steps = [{"name": "v__x", "legend": "X <b>", "dimension": "x", "error": None, "disabled": False,
              "cannot_assess": None, "options": [{"value": "a", "label": "A & B", "id": "v__x-0", "checked": True,
                                                  "key": "1", "definition": ""}]}]
    fresh = render_to_string("annotation/rate/_steps.html", {"steps": steps, "is_closed": True})
    assert _fragment("annotation/rate/_steps.html", steps=steps, is_closed=True) == fresh
    assert "X &lt;b&gt;" in fresh and "A &amp; B" in fresh and " checked disabled" in fresh


def test_markdown_is_rendered_once_for_every_process_and_under_the_rules_digest(monkeypatch):
    text = "**Call** an ambulance.\n\n<script>alert(1)</script>"
    blinding.render_markdown.cache_clear()
    cache.clear()
    calls = []
    real = blinding._sanitised_html
    monkeypatch.setattr(blinding, "_sanitised_html", lambda t: calls.append(t) or real(t))
    html = blinding.render_markdown(text)
    assert html == real(text) and "<strong>Call</strong>" in html and "<script" not in html
    blinding.render_markdown.cache_clear()  # another web worker: the shared cache has it
    assert blinding.render_markdown(text) == html and len(calls) == 1
    monkeypatch.setattr(blinding, "_RULES", "other-rules")  # rules changed: rendered again
    blinding.render_markdown.cache_clear()
    assert blinding.render_markdown(text) == html and len(calls) == 2
    blinding.render_markdown.cache_clear()


def test_the_pace_is_the_median_time_of_the_latest_timed_submissions_only(monkeypatch):
    """The pace window (PACE_WINDOW, here 3) takes the most recent submissions with time on task; older
    ones and untimed ones count towards the progress but not the pace, on both ways of reading it."""
    monkeypatch.setattr("annotation.selectors.rating.PACE_WINDOW", 3)
    rs = build_rating_study(n_cases=2, n_raters=2)
    me = rs.raters[0]
    queue = list(Assignment.objects.filter(rater=me).order_by("position"))
    start = timezone.now() - timedelta(hours=1)
    # oldest first: two slow ones outside the window, three in it, and the newest untimed
    for minute, (task, seconds) in enumerate(zip(queue, (500, 400, 10, 30, 20, 0), strict=False)):
        rating_submit(assignment=task, rater=me, values=full_rating())
        Assignment.objects.filter(pk=task.pk).update(active_seconds=seconds,
                                                     submitted_at=start + timedelta(minutes=minute))
    left = len(queue) - 6
    alone = rater_progress(rater=me, study=rs.study)
    along = task_progress(task_for_rater(rater=me, code=queue[-1].code, progress=True), rater=me)
    assert along == alone and (alone.done, alone.total) == (6, len(queue))
    assert alone.seconds_left == pytest.approx(20 * left)
