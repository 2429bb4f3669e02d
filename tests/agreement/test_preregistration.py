import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from agreement import services
from agreement.models import SIGNATURE_SALT, Preregistration, document_hash
from agreement.reports.preregistration import outcome_choices
from agreement.services_preregistration import preregistration_export, preregistration_lock
from annotation.models import Assignment
from config.exceptions import ApplicationError
from studies.models import AuditEvent, StudyStatus
from studies.schema import study_schema
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

PLAN = {
    "hypotheses": ["Clinicians agree on safety at least moderately (Fleiss' kappa above 0.4)."],
    "primary_outcomes": [{"dimension": "safety", "coefficient": "fleiss_kappa"}],
    "secondary_outcomes": [{"dimension": "safety", "coefficient": "judge_vs_consensus_kappa"}],
    "report_parameters": {"n_boot": 20, "seed": 11},
    "notes": "Calibration items are left out.",
}
SAFETY = {"ann": [("compliant", "high"), ("not_compliant", "low"), ("compliant", "high"),
                  ("partially_compliant", "low")],
          "bob": [("compliant", "medium"), ("not_compliant", "low"), ("partially_compliant", "high"),
                  ("partially_compliant", "low")]}


@pytest.fixture
def study():
    """A draft study rated by two clinicians (ratings without a recorded submission time), with a judge."""
    return rated_study({name: [{"safety": v} for v in values] for name, values in SAFETY.items()})[0]


@pytest.fixture
def owner(study):
    return factories.study_owner(study)


def _lock(study, user, **changes):
    return preregistration_lock(study=study, user=user, **{**PLAN, **changes})


def _report(study, **parameters):
    report = services.report_generate(study=study, format="json", parameters={**PLAN["report_parameters"],
                                                                             **parameters})
    return report, json.loads(report.file.open("rb").read())


# --- the lock ----------------------------------------------------------------------------------


def test_the_hash_is_the_sha256_of_the_canonical_json_and_the_signature_an_hmac_of_it(study, owner):
    locked = _lock(study, owner)
    stored = Preregistration.objects.get(pk=locked.pk)
    canonical = json.dumps(stored.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert stored.content_hash == hashlib.sha256(canonical).hexdigest()
    # Django's salted_hmac with sha256: the key is sha256(salt + SECRET_KEY), the message the hash.
    key = hashlib.sha256((SIGNATURE_SALT + settings.SECRET_KEY).encode()).digest()
    assert stored.signature == hmac.new(key, stored.content_hash.encode(), hashlib.sha256).hexdigest()
    assert stored.verify() == {"content_hash_matches": True, "signature_valid": True, "valid": True}
    assert document_hash(json.loads(json.dumps(stored.document, indent=2))) == stored.content_hash
    reordered = dict(reversed(list(stored.document.items())))
    assert document_hash(reordered) == stored.content_hash


def test_the_document_holds_the_plan_and_the_design(study, owner):
    persona = factories.PersonaFactory(name="ED physician")
    study.personas.add(persona)
    document = _lock(study, owner).document
    assert document["hypotheses"] == PLAN["hypotheses"] and document["notes"] == PLAN["notes"]
    assert document["primary_outcomes"] == PLAN["primary_outcomes"]
    assert document["report_parameters"]["n_boot"] == 20 and document["report_parameters"]["ci_level"] == 0.95
    design = document["design"]
    assert [p["id"] for p in design["personas"]] == [persona.pk]
    assert design["judge"]["id"] == study.judge_id and design["rating_schema"] == study_schema(study)
    assert design["raters_per_response"] == study.raters_per_response and "assignment_seed" in design
    assert document["locked_by"] == owner.username and document["study"]["id"] == study.pk
    assert "numpy" in document["software"]
    event = AuditEvent.objects.get(study=study, detail__preregistration="locked")
    assert event.actor == owner and event.detail["content_hash"] == document_hash(document)


def test_a_tampered_document_or_hash_fails_verification(study, owner):
    locked = _lock(study, owner)
    tampered = {**locked.document, "hypotheses": ["Something decided after seeing the data."]}
    Preregistration.objects.filter(pk=locked.pk).update(document=tampered)
    check = Preregistration.objects.get(pk=locked.pk).verify()
    assert check == {"content_hash_matches": False, "signature_valid": True, "valid": False}
    Preregistration.objects.filter(pk=locked.pk).update(content_hash=document_hash(tampered))
    check = Preregistration.objects.get(pk=locked.pk).verify()
    assert check == {"content_hash_matches": True, "signature_valid": False, "valid": False}


def test_a_locked_plan_is_never_changed(study, owner):
    locked = _lock(study, owner)
    locked.document["notes"] = "changed"
    with pytest.raises(ValueError, match="locked"):
        locked.save()
    with pytest.raises(ApplicationError, match="already locked") as error:
        _lock(study, owner)
    assert error.value.status_code == 409


def test_only_the_owner_locks_and_only_a_draft(study, owner):
    for role in ("admin", "researcher"):
        member = factories.study_member(study, factories.admin(), role=role)
        with pytest.raises(ApplicationError, match="owner") as error:
            _lock(study, member)
        assert error.value.status_code == 403
    study.status = StudyStatus.RATING
    study.save()
    with pytest.raises(ApplicationError, match="draft") as error:
        _lock(study, owner)
    assert error.value.status_code == 409 and not Preregistration.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"hypotheses": ["", "  "]}, "hypotheses"),
    ({"hypotheses": "one text, not a list"}, "hypotheses"),
    ({"primary_outcomes": []}, "primary_outcomes"),
    ({"primary_outcomes": [{"dimension": "tone", "coefficient": "fleiss_kappa"}]}, "primary_outcomes"),
    ({"primary_outcomes": [{"dimension": "safety", "coefficient": "icc"}]}, "primary_outcomes"),
    ({"primary_outcomes": ["safety:fleiss_kappa"]}, "primary_outcomes"),
    ({"secondary_outcomes": PLAN["primary_outcomes"]}, "secondary_outcomes"),
    ({"report_parameters": {"n_boot": -1}}, "report_parameters"),
    ({"report_parameters": {"min_confidence": "certain"}}, "report_parameters"),
    ({"notes": None}, "notes"),
])
def test_a_bad_plan_is_refused_per_field(study, owner, changes, field):
    with pytest.raises(ApplicationError) as error:
        _lock(study, owner, **changes)
    assert error.value.status_code == 400 and field in error.value.extra["fields"]
    assert not Preregistration.objects.exists()


def test_outcomes_follow_the_scale_and_the_judge():
    schema = {"dimensions": [{"key": "tone", "kind": "categorical"}, {"key": "safety", "kind": "ordinal"}]}
    with_judge = set(outcome_choices(schema, has_judge=True))
    assert ("safety", "krippendorff_alpha_ordinal") in with_judge
    assert ("tone", "krippendorff_alpha_ordinal") not in with_judge and ("tone", "fleiss_kappa") in with_judge
    assert ("safety", "judge_vs_consensus_kappa") in with_judge
    assert not any(c.startswith("judge") for _, c in outcome_choices(schema, has_judge=False))


# --- exports -----------------------------------------------------------------------------------


def test_exports_hold_the_document_and_its_hash(study, owner):
    locked = _lock(study, owner)
    content, content_type, name = preregistration_export(preregistration=locked, fmt="json")
    data = json.loads(content)
    assert content_type == "application/json" and name.endswith(".json") and locked.content_hash[:12] in name
    assert data["content_hash"] == locked.content_hash == document_hash(data["document"])
    assert data["signature"] == locked.signature and data["locked_by"] == owner.username
    assert data["locked_at"] == locked.locked_at.isoformat() and data["verification"]["valid"]
    content, content_type, name = preregistration_export(preregistration=locked, fmt="html")
    html = content.decode()
    assert content_type.startswith("text/html") and name.endswith(".html")
    assert locked.content_hash in html and PLAN["hypotheses"][0].replace("'", "&#x27;") in html
    assert "Fleiss&#x27; kappa" in html and "Design at the lock" in html and "<script" not in html
    with pytest.raises(ApplicationError):
        preregistration_export(preregistration=locked, fmt="pdf")


# --- reports against the plan ------------------------------------------------------------------


def test_a_report_with_the_planned_parameters_follows_the_plan(study, owner):
    locked = _lock(study, owner)
    _, report = _report(study)
    assert report["preregistration"] == {
        "preregistered": True, "follows_plan": True, "content_hash": locked.content_hash,
        "locked_at": locked.locked_at.isoformat(), "deviations": [],
    }


def test_changed_parameters_and_design_are_listed_as_deviations(study, owner):
    _lock(study, owner)
    persona = factories.PersonaFactory(name="Cautious nurse")
    study.personas.add(persona)
    judge = factories.ModelSpecFactory(name="second-judge", is_judge=True, rubric_prompt="Rate safety.")
    study.extra_judges.add(judge)
    study.raters_per_response = 3
    study.save()
    _, report = _report(study, seed=12, cannot_assess="category")
    section = report["preregistration"]
    assert section["preregistered"] and not section["follows_plan"]
    deviations = {d["what"]: (d["planned"], d["actual"]) for d in section["deviations"]}
    assert deviations["report parameter seed"] == (11, 12)
    assert deviations["report parameter cannot_assess"] == ("exclude", "category")
    assert deviations["persona added"] == (None, str(persona))
    assert deviations["extra judge added"] == (None, "second-judge")
    assert deviations["raters per response"] == (2, 3)
    assert len(deviations) == 5


def test_removed_entries_a_changed_schema_and_a_missing_primary_outcome_are_deviations(study, owner):
    persona = factories.PersonaFactory(name="ED physician")
    study.personas.add(persona)
    _lock(study, owner, primary_outcomes=[{"dimension": "safety", "coefficient": "fleiss_kappa"},
                                          {"dimension": "safety", "coefficient": "test_retest_kappa"}])
    study.personas.remove(persona)
    schema = study_schema(study)
    schema["dimensions"] = [d for d in schema["dimensions"] if d["key"] == "safety"]
    study.rating_schema = schema
    study.save()
    _, report = _report(study)
    deviations = {d["what"]: (d["planned"], d["actual"]) for d in report["preregistration"]["deviations"]}
    assert deviations["persona removed"] == (str(persona), None)
    assert deviations["rating dimension removed"] == ("Reasoning quality", None)
    planned, actual = deviations["primary outcome not computable: safety test-retest kappa"]
    assert planned == "computed" and actual.startswith("insufficient_data")
    assert len(deviations) == 3


def test_ratings_submitted_before_the_lock_are_a_deviation(study, owner):
    locked = _lock(study, owner)
    Assignment.objects.filter(study=study).update(submitted_at=locked.locked_at - timedelta(minutes=5))
    _, report = _report(study)
    assert report["preregistration"]["deviations"] == [
        {"what": "ratings submitted before the plan was locked", "planned": 0, "actual": 8}]


def test_a_study_without_a_plan_says_so(study):
    _, report = _report(study)
    assert report["preregistration"] == {"preregistered": False, "follows_plan": False, "content_hash": None,
                                         "deviations": []}


def test_a_report_built_before_the_lock_or_a_design_change_is_not_reused(study, owner):
    before, _ = _report(study)
    _lock(study, owner)
    after, report = _report(study)
    assert after.reused_from_id is None and report["preregistration"]["follows_plan"]
    again, _ = _report(study)
    assert again.reused_from_id == after.pk
    study.personas.add(factories.PersonaFactory())
    changed, report = _report(study)
    assert changed.reused_from_id is None and not report["preregistration"]["follows_plan"]
    assert len({before.data_hash, after.data_hash, changed.data_hash}) == 3


def test_the_html_report_shows_the_section(study, owner):
    _lock(study, owner)
    report = services.report_generate(study=study, format="html", parameters={**PLAN["report_parameters"], "seed": 1})
    html = report.file.open("rb").read().decode()
    assert 'id="preregistration"' in html and "deviates from the analysis plan" in html
    assert "report parameter seed" in html and html.index('id="preregistration"') < html.index('id="overview"')


# --- API ---------------------------------------------------------------------------------------


def _url(study, name="preregistration"):
    return reverse(f"agreement-api:{name}", args=[study.pk])


def test_api_round_trip(study, owner, api_as):
    api = api_as(owner)
    assert api.get(_url(study)).status_code == 404
    created = api.post(_url(study), PLAN, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["locked_by"] == owner.username and body["verification"]["valid"]
    assert body["document"]["primary_outcomes"] == PLAN["primary_outcomes"]
    assert api.get(_url(study)).json() == body
    exported = api.get(_url(study, "preregistration-export"))
    assert exported.status_code == 200 and json.loads(exported.content)["content_hash"] == body["content_hash"]
    assert exported["Content-Disposition"].startswith("attachment; filename=")
    page = api.get(_url(study, "preregistration-export"), {"as": "html"})
    assert page.status_code == 200 and body["content_hash"] in page.content.decode()
    assert api.get(_url(study, "preregistration-export"), {"as": "pdf"}).status_code == 400
    again = api.post(_url(study), PLAN, format="json")
    assert again.status_code == 409 and set(again.json()) == {"message", "extra"}


def test_api_refusals_in_the_error_shape(study, owner, api_as):
    researcher = factories.study_member(study, factories.researcher(), role="researcher")
    refused = api_as(researcher).post(_url(study), PLAN, format="json")
    assert refused.status_code == 403 and "owner" in refused.json()["message"]
    outsider = api_as(factories.researcher()).post(_url(study), PLAN, format="json")
    assert outsider.status_code == 404 and set(outsider.json()) == {"message", "extra"}
    assert api_as(factories.clinician()).get(_url(study)).status_code == 403
    bad = api_as(owner).post(_url(study), {**PLAN, "primary_outcomes": [{"dimension": "safety"}]}, format="json")
    assert bad.status_code == 400 and "primary_outcomes" in bad.json()["extra"]["fields"]
    bad = api_as(owner).post(_url(study), {**PLAN, "report_parameters": {"ci_level": 2}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["extra"]["fields"]["report_parameters"] == {"ci_level": "must be at least 0.5 and below 1"}
    study.status = StudyStatus.GENERATING
    study.save()
    late = api_as(owner).post(_url(study), PLAN, format="json")
    assert late.status_code == 409 and "draft" in late.json()["message"]
    assert not Preregistration.objects.exists()


# --- pages -------------------------------------------------------------------------------------


def test_the_page_locks_the_plan_and_offers_the_downloads(study, owner, client):
    client.force_login(owner)
    url = reverse("agreement:preregistration", args=[study.pk])
    assert b"Lock the plan" in client.get(url).content
    form = {"hypotheses": "Safety agreement is moderate.\n\nThe judge agrees with the consensus.",
            "primary_outcomes": ["safety:fleiss_kappa"], "secondary_outcomes": ["safety:judge_vs_consensus_kappa"],
            "notes": "", "n_boot": 20, "seed": 11, "min_confidence": "medium", "cannot_assess": "exclude",
            "consensus": "majority"}
    assert client.post(url, {**form, "primary_outcomes": ["safety:nonsense"]}).status_code == 400
    response = client.post(url, form)
    assert response.status_code == 302
    locked = Preregistration.objects.get(study=study)
    assert locked.document["hypotheses"] == ["Safety agreement is moderate.", "The judge agrees with the consensus."]
    assert locked.document["report_parameters"]["seed"] == 11 and locked.verify()["valid"]
    page = client.get(url).content.decode()
    assert locked.content_hash in page and "The stored plan verifies" in page and "Lock the plan" not in page
    download = client.get(reverse("agreement:preregistration_download", args=[study.pk]), {"as": "html"})
    assert download.status_code == 200 and locked.content_hash in download.content.decode()
    assert "attachment" in download["Content-Disposition"]


def test_the_page_shows_no_form_to_a_researcher(study, client):
    researcher = factories.study_member(study, factories.researcher(), role="researcher")
    client.force_login(researcher)
    url = reverse("agreement:preregistration", args=[study.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Lock the plan" not in page.content and b"owner" in page.content
    assert client.post(url, {"hypotheses": "x"}).status_code == 302 and not Preregistration.objects.exists()
    assert client.get(reverse("agreement:preregistration_download", args=[study.pk])).status_code == 404


def test_a_real_plan_answers_in_the_api_schema(study, owner):
    from tests.api.test_contract import SIGNED_IN_CHECKS, session_of, signed_in_schema

    _lock(study, owner)
    session = session_of(owner)
    for path, query in (("/api/studies/{id}/preregistration/", {}),
                        ("/api/studies/{id}/preregistration/export/", {"as": "json"}),
                        ("/api/studies/{id}/preregistration/export/", {"as": "html"})):
        case = signed_in_schema[path]["GET"].Case(path_parameters={"id": study.pk}, query=query)
        response = case.call_and_validate(**session, **SIGNED_IN_CHECKS)
        assert response.status_code == 200, (path, query, response.content[:300])
