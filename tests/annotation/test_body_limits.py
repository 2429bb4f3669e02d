"""Deeply nested or oversized request bodies are refused with 400 in the error shape, before any
processing: the rating API (submit, draft) and the page's draft endpoint."""
import json

import pytest
from django.urls import reverse

from annotation.models import Assignment, Rating
from tests.annotation.rating_helpers import build_rating_study, full_rating

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def rs():
    return build_rating_study(n_cases=1, n_raters=2)


def item(rs):
    return Assignment.objects.filter(rater=rs.raters[0]).order_by("position").first()


@pytest.mark.parametrize("name", ["rating-submit", "rating-draft"])
@pytest.mark.parametrize("body", [
    '{"values": ' + nested(5000) + "}",
    '{"draft": {"values": ' + nested(5000) + "}}",
    '{"draft": ' + '{"a": ' * 5000 + "1" + "}" * 5001,
    '{"values": ' + nested(100) + "}",
])
def test_deep_json_is_refused_with_400(api_as, rs, name, body):
    a = item(rs)
    response = api_as(rs.raters[0]).generic("POST", reverse(f"annotation-api:{name}", kwargs={"code": a.code}),
                                            body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"} and "nested" in response.json()["message"]
    assert not Rating.objects.exists()


def test_brackets_inside_strings_do_not_count(api_as, rs):
    a = item(rs)
    body = json.dumps({"values": full_rating(), "comment": "[[[[" * 2000})
    response = api_as(rs.raters[0]).generic("POST", reverse("annotation-api:rating-submit", kwargs={"code": a.code}),
                                            body, content_type="application/json")
    assert response.status_code == 200


def test_an_oversized_body_is_refused_with_400(api_as, rs):
    a = item(rs)
    body = json.dumps({"values": full_rating(), "comment": "x" * 3_000_000})
    response = api_as(rs.raters[0]).generic("POST", reverse("annotation-api:rating-submit", kwargs={"code": a.code}),
                                            body, content_type="application/json")
    assert response.status_code == 400 and "too large" in response.json()["message"]


def test_the_page_draft_endpoint_refuses_deep_json(client, rs):
    a = item(rs)
    client.force_login(rs.raters[0])
    url = reverse("annotation:rate_draft", kwargs={"code": a.code})
    response = client.post(url, '{"draft": ' + nested(5000) + "}", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}
    assert client.post(url, {"comment": "x"}).status_code == 200
