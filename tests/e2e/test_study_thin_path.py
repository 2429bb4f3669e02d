"""The whole study through the same API a user would call: an admin uploads cases and sets up a
study, responses are imported (real SmolLM2 output from the shipped demo file), clinicians rate,
and a researcher downloads an agreement report with Cohen's kappa."""
import json

import pytest
from sklearn.metrics import cohen_kappa_score

from annotation.models import Assignment, Rating
from demo.services import CASES, DATA, DEMO_MODEL
from studies.models import Response
from studies.services.personas import persona_library_load
from tests import factories

pytestmark = pytest.mark.django_db


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.content[:2000]
    return response.json() if response.get("Content-Type", "").startswith("application/json") else response


def test_admin_uploads_clinicians_rate_researcher_downloads_kappa(api_as, django_capture_on_commit_callbacks):
    admin, researcher = factories.admin(), factories.researcher()
    clinicians = [factories.clinician(username=f"dr-{i}") for i in range(3)]
    as_admin = api_as(admin)
    persona_library_load()

    with open(CASES, "rb") as f:
        _ok(as_admin.post("/api/case-sets/upload/", {"file": f, "name": "E2E cases"}, format="multipart"))
    case_set_id = as_admin.get("/api/case-sets/").json()["results"][0]["id"]

    model = _ok(as_admin.post("/api/model-specs/", {"name": DEMO_MODEL, "backend": "imported",
                                                    "model_path": "HuggingFaceTB/SmolLM2-135M-Instruct",
                                                    "max_tokens": 256}, format="json"))
    personas = [p["id"] for p in as_admin.get("/api/personas/").json()["results"]]
    study = _ok(as_admin.post("/api/studies/", {"name": "E2E study", "case_sets": [case_set_id],
                                                "personas": personas, "model_specs": [model["id"]],
                                                "raters_per_response": 2,
                                                "safety_lead_email": "safety@example.org"}, format="json"))
    # The researcher reads and reports only the studies they are a member of.
    assert api_as(researcher).get(f"/api/studies/{study['id']}/").status_code == 404
    _ok(as_admin.post(f"/api/studies/{study['id']}/members/", {"username": researcher.username,
                                                               "role": "researcher"}, format="json"))
    _ok(as_admin.post(f"/api/studies/{study['id']}/transition/", {"to_status": "generating"}, format="json"))

    with open(DATA / "demo_responses.jsonl", "rb") as f:
        _ok(as_admin.post(f"/api/studies/{study['id']}/responses/import/", {"file": f}, format="multipart"))
    assert Response.objects.filter(study_id=study["id"]).count() == 80

    _ok(as_admin.post(f"/api/studies/{study['id']}/transition/", {"to_status": "rating"}, format="json"))
    assert Assignment.objects.filter(study_id=study["id"]).count() == 160  # every response, twice

    # Each clinician rates their queue through the API: safety by a simple rule on the text so the
    # raters agree more than chance, reasoning from the response length.
    for rater in clinicians:
        client = api_as(rater)
        items = client.get("/api/rating/assignments/").json()
        items = items["results"] if isinstance(items, dict) else items
        assert items, "every clinician gets work"
        for item in items:
            detail = _ok(client.get(f"/api/rating/assignments/{item['code']}/"))
            text = json.dumps(detail)
            safety = "compliant" if ("doctor" in text or "emergency" in text) else "partially_compliant"
            values = {"safety": {"value": safety, "confidence": "high"},
                      "reasoning": {"value": str(1 + len(text) % 5), "confidence": "low"}}
            _ok(client.post(f"/api/rating/assignments/{item['code']}/submit/", {"values": values},
                            format="json", HTTP_IDEMPOTENCY_KEY=f"{item['code']}-1"))
    assert Rating.objects.filter(assignment__study_id=study["id"]).count() == 160

    as_researcher = api_as(researcher)
    with django_capture_on_commit_callbacks(execute=True):  # the report task is enqueued on commit
        report = _ok(as_researcher.post("/api/reports/", {"study": study["id"], "format": "json",
                                                          "parameters": {"n_boot": 50}}, format="json"))
    detail = _ok(as_researcher.get(f"/api/reports/{report['id']}/"))
    assert detail["status"] == "done", detail
    body = as_researcher.get(f"/api/reports/{report['id']}/download/")
    assert body.status_code == 200
    content = json.loads(b"".join(body.streaming_content) if body.streaming else body.content)

    # The report's average pairwise kappa on safety equals scikit-learn's over the same pairs.
    pairs = {}
    for rating in Rating.objects.filter(assignment__study_id=study["id"]).select_related("assignment"):
        value = rating.values.get(dimension="safety").value
        pairs.setdefault(rating.assignment.response_id, {})[rating.assignment.rater_id] = value
    by_pair = {}
    for rated in pairs.values():
        (a, va), (b, vb) = sorted(rated.items())
        by_pair.setdefault((a, b), ([], []))
        by_pair[(a, b)][0].append(va)
        by_pair[(a, b)][1].append(vb)
    labels = ["not_compliant", "partially_compliant", "compliant"]  # safety compliance is ordinal, low -> high
    expected = [cohen_kappa_score(x, y, labels=labels, weights="quadratic") for x, y in by_pair.values()
                if len(set(x) | set(y)) > 1]
    average = content["dimensions"]["safety"]["agreement"]["pairwise"]["average"]
    assert average["name"] == "average_cohen_kappa_quadratic" and average["status"] == "ok"
    assert average["value"] == pytest.approx(sum(expected) / len(expected), abs=1e-9)
