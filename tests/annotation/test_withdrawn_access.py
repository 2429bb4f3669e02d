"""A clinician withdrawn from a study loses access to its items (pages and API): a 404 like any
unknown code, for opening, drafts, submissions, revisions and flags."""
import pytest
from django.urls import reverse

from annotation.models import Assignment, AssignmentStatus, ItemFlag, Rating
from annotation.services.assignments import study_rater_add, study_rater_remove
from annotation.services.ratings import item_flag_create, rating_submit, task_draft_save
from config.exceptions import ApplicationError
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def withdrawn():
    """A clinician with a submitted item and a draft, then removed from the study."""
    rs = build_rating_study(n_cases=2, n_raters=3)
    me = rs.raters[0]
    submitted, drafted = Assignment.objects.filter(rater=me).order_by("position")[:2]
    rating_submit(assignment=submitted, rater=me, values=full_rating())
    task_draft_save(task=drafted, rater=me, draft={"comment": "half done"})
    study_rater_remove(study=rs.study, rater=me)
    submitted.refresh_from_db()
    drafted.refresh_from_db()
    return rs, me, submitted, drafted


def test_pages_answer_404_for_every_item_of_the_study(client, withdrawn):
    rs, me, submitted, drafted = withdrawn
    client.force_login(me)
    for a in (submitted, drafted):
        code = {"code": a.code}
        assert client.get(reverse("annotation:rate_task", kwargs=code)).status_code == 404
        revise = form_data(full_rating(reasoning={"value": "1", "confidence": "low"}), reason="changed my mind")
        assert client.post(reverse("annotation:rate_task", kwargs=code), revise).status_code == 404
        assert client.post(reverse("annotation:rate_draft", kwargs=code), {"comment": "x"}).status_code == 404
        assert client.post(reverse("annotation:rate_flag", kwargs=code), {"kind": "garbled"}).status_code == 404
    assert Rating.objects.get(assignment=submitted).revision == 1
    assert not ItemFlag.objects.exists()


def test_the_api_answers_404_for_every_item_of_the_study(api_as, withdrawn):
    rs, me, submitted, drafted = withdrawn
    api = api_as(me)
    for a in (submitted, drafted):
        code = {"code": a.code}
        assert api.get(reverse("annotation-api:rating-assignment", kwargs=code)).status_code == 404
        assert api.put(reverse("annotation-api:rating-draft", kwargs=code), {"draft": {"comment": "x"}},
                       format="json").status_code == 404
        submit = api.post(reverse("annotation-api:rating-submit", kwargs=code),
                          {"values": full_rating(reasoning={"value": "1", "confidence": "low"}), "reason": "r"},
                          format="json")
        assert submit.status_code == 404 and set(submit.json()) == {"message", "extra"}
        assert api.post(reverse("annotation-api:rating-flags", kwargs=code), {"kind": "garbled"},
                        format="json").status_code == 404
    assert Rating.objects.get(assignment=submitted).revision == 1
    assert not ItemFlag.objects.exists()


def test_the_services_refuse_a_withdrawn_clinician(withdrawn):
    rs, me, submitted, drafted = withdrawn
    for call in (lambda: task_draft_save(task=drafted, rater=me, draft={}),
                 lambda: item_flag_create(task=submitted, rater=me, kind="garbled"),
                 lambda: rating_submit(assignment=submitted, rater=me, values=full_rating(), reason="r")):
        with pytest.raises(ApplicationError) as caught:
            call()
        assert caught.value.status_code == 404


def test_enrolling_again_restores_access(client, withdrawn):
    rs, me, submitted, drafted = withdrawn
    study_rater_add(study=rs.study, rater=me)
    client.force_login(me)
    assert client.get(reverse("annotation:rate_task", kwargs={"code": submitted.code})).status_code == 200
    assert Assignment.objects.get(pk=submitted.pk).status == AssignmentStatus.SUBMITTED
