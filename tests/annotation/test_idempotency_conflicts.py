"""A submission key reused for a different answer (the Back button, then a changed answer) is refused
with 409 and the new answer is kept on the page; a true retry still returns the stored answer."""
import re

import pytest
from django.urls import reverse

from annotation.models import Assignment, PreferenceAssignment, Rating
from annotation.services.ratings import rating_submit
from config.exceptions import ApplicationError
from tests.annotation.rating_helpers import build_rating_study, form_data, full_rating

pytestmark = pytest.mark.django_db

CHANGED = full_rating(safety={"value": "not_compliant", "confidence": "low"})


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


def first(rater, model=Assignment):
    return model.objects.filter(rater=rater).order_by("position").first()


def test_the_service_refuses_a_reused_key_with_a_different_body(rs):
    me = rs.raters[0]
    a = first(me)
    rating_submit(assignment=a, rater=me, values=full_rating(), idempotency_key="k-1")
    with pytest.raises(ApplicationError) as caught:
        rating_submit(assignment=a, rater=me, values=CHANGED, reason="Re-read it", idempotency_key="k-1")
    assert caught.value.status_code == 409 and "idempotency_key" in caught.value.extra["fields"]
    rating = Rating.objects.get(assignment=a)
    assert rating.revision == 1 and rating.values.get(dimension="safety").value == "compliant"
    # the same body under the same key is a retry: the stored rating, nothing new
    assert rating_submit(assignment=a, rater=me, values=full_rating(), idempotency_key="k-1").revision == 1


def test_the_back_button_then_a_changed_answer_shows_a_notice_and_keeps_the_new_values(client, rs):
    me = rs.raters[0]
    client.force_login(me)
    a = first(me)
    url = reverse("annotation:rate_task", kwargs={"code": a.code})
    client.post(url, form_data(idempotency_key="page-key-1"))
    response = client.post(url, form_data(CHANGED, idempotency_key="page-key-1", reason="Re-read the vignette"))
    html = response.content.decode()
    assert response.status_code == 409
    assert "Revision saved." not in html and "was not saved" in html
    assert re.search(r'value="not_compliant" checked', html) and "Re-read the vignette" in html
    assert 'value="page-key-1"' not in html  # a fresh key, so that submitting again saves the revision
    rating = Rating.objects.get(assignment=a)
    assert rating.revision == 1 and rating.values.get(dimension="safety").value == "compliant"
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    client.post(url, form_data(CHANGED, idempotency_key=key, reason="Re-read the vignette"))
    assert Rating.objects.get(assignment=a).revision == 2


def test_the_api_answers_409_in_the_error_shape(api_as, rs):
    me = rs.raters[0]
    a = first(me)
    url = reverse("annotation-api:rating-submit", kwargs={"code": a.code})
    client = api_as(me)
    assert client.post(url, {"values": full_rating()}, format="json", HTTP_IDEMPOTENCY_KEY="api-1").status_code == 200
    again = client.post(url, {"values": full_rating()}, format="json", HTTP_IDEMPOTENCY_KEY="api-1")
    assert again.status_code == 200 and again.json()["revision"] == 1
    changed = client.post(url, {"values": CHANGED, "reason": "oops"}, format="json", HTTP_IDEMPOTENCY_KEY="api-1")
    assert changed.status_code == 409
    body = changed.json()
    assert set(body) == {"message", "extra"} and "different" in body["message"]
    assert Rating.objects.get(assignment=a).revision == 1


def test_preferences_refuse_a_reused_key_with_a_different_body_on_the_api_and_the_page(api_as, client):
    rs = build_rating_study(n_cases=1, n_raters=2, preference_mode=True)
    me = rs.raters[0]
    task = first(me, PreferenceAssignment)
    url = reverse("annotation-api:rating-submit", kwargs={"code": task.code})
    api = api_as(me)
    assert api.post(url, {"side": "left", "confidence": "high"}, format="json",
                    HTTP_IDEMPOTENCY_KEY="p-1").status_code == 200
    refused = api.post(url, {"side": "right", "confidence": "high", "reason": "x"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="p-1")
    assert refused.status_code == 409 and set(refused.json()) == {"message", "extra"}
    client.force_login(me)
    page = client.post(reverse("annotation:rate_task", kwargs={"code": task.code}),
                       {"side": "tie", "confidence": "low", "reason": "changed", "idempotency_key": "p-1"})
    assert page.status_code == 409 and re.search(r'value="tie" checked', page.content.decode())
    task.refresh_from_db()
    assert task.preference.revision == 1
