"""The study page for people: the rating schema as rows (round trip to the schema JSON and back, errors on the
row they are about), eligibility and task instructions as fields, and warnings before saving an incomplete
study."""
import re

import pytest
from django.urls import reverse

from studies.forms import StudyForm
from studies.models import Study
from studies.schema import default_rating_schema
from studies.schema_rows import rows_from_schema, schema_from_rows, schema_options_from_schema
from studies.services.studies import study_create
from tests import factories

pytestmark = pytest.mark.django_db

SCHEMA = {
    "dimensions": [
        {"key": "safety", "label": "Safety", "kind": "ordinal", "confidence": True, "cannot_assess": False,
         "choices": [{"value": "unsafe", "label": "Unsafe", "definition": "Following it could cause harm."},
                     {"value": "safe", "label": "Safe"}]},
        {"key": "tone", "label": "Tone", "kind": "categorical", "confidence": False, "cannot_assess": True,
         "choices": [{"value": "warm", "label": "Warm"}, {"value": "cold", "label": "Cold"},
                     {"value": "neutral", "label": "Neutral"}]},
    ],
    "confidence_levels": ["unsure", "sure"],
    "comment": False,
}


@pytest.fixture
def world():
    return {"case_set": factories.CaseSetFactory(), "model": factories.ModelSpecFactory(),
            "persona": factories.PersonaFactory()}


def rows_post(schema: dict) -> dict:
    """What the page posts for a schema: its rows as plain fields."""
    data = {"schema-confidence_levels": ", ".join(schema["confidence_levels"])}
    if schema["comment"]:
        data["schema-comment"] = "on"
    for i, dim in enumerate(schema["dimensions"]):
        data.update({f"dim-{i}-label": dim["label"], f"dim-{i}-key": dim["key"], f"dim-{i}-kind": dim["kind"]})
        for flag in ("confidence", "cannot_assess"):
            if dim[flag]:
                data[f"dim-{i}-{flag}"] = "on"
        for j, choice in enumerate(dim["choices"]):
            data.update({f"dim-{i}-level-{j}-value": choice["value"], f"dim-{i}-level-{j}-label": choice["label"],
                         f"dim-{i}-level-{j}-definition": choice.get("definition", "")})
    return data


def page_post(world, **extra) -> dict:
    data = {"fields_as_rows": "1", "name": "Rows study", "case_sets": [world["case_set"].pk],
            "model_specs": [world["model"].pk], "personas": [world["persona"].pk], "raters_per_response": 2,
            "anchor_items": 0, "calibration_items": 0, "retest_fraction": 0, "leak_policy": "redact",
            "assignment_seed": 1}
    data.update(rows_post(SCHEMA))
    data.update(extra)
    return data


def test_rows_round_trip_to_the_schema_and_back(world):
    rows = rows_from_schema(SCHEMA)
    assert [r.key for r in rows] == ["safety", "tone"]
    assert rows[0].levels[0].definition == "Following it could cause harm."
    assert schema_from_rows(rows, schema_options_from_schema(SCHEMA)) == SCHEMA
    form = StudyForm(page_post(world))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["rating_schema"] == SCHEMA


def test_the_default_schema_is_shown_as_rows_and_saved_as_the_default(client, admin_user, world):
    client.force_login(admin_user)
    html = client.get(reverse("studies:study_create")).content.decode()
    assert 'value="Safety compliance"' in html and 'value="Reasoning quality"' in html
    assert 'name="dim-2-label"' in html  # an empty row, for pages without scripts
    data = page_post(world)
    for key in [k for k in data if k.startswith(("dim-", "schema-"))]:
        del data[key]
    data.update(rows_post(default_rating_schema()))
    assert client.post(reverse("studies:study_create"), data).status_code == 302
    assert Study.objects.get(name="Rows study").rating_schema == {}


def test_the_page_saves_the_rows_and_shows_them_again(client, admin_user, world):
    client.force_login(admin_user)
    response = client.post(reverse("studies:study_create"), page_post(world))
    study = Study.objects.get(name="Rows study")
    assert response.status_code == 302
    assert study.rating_schema == SCHEMA
    html = client.get(reverse("studies:study_edit", args=[study.pk])).content.decode()
    assert 'name="dim-0-level-0-definition"' in html and "Following it could cause harm." in html
    assert 'value="unsure, sure"' in html
    assert '<legend>Tone</legend>' in html  # the preview


def test_blank_rows_and_levels_are_skipped_and_keys_and_values_made_from_labels(world):
    data = page_post(world, **{"dim-5-label": "Overall quality", "dim-5-kind": "ordinal",
                               "dim-5-level-0-label": "Poor", "dim-5-level-1-label": "Good",
                               "dim-5-level-2-label": "", "dim-3-label": "", "dim-3-level-0-label": ""})
    form = StudyForm(data)
    assert form.is_valid(), form.errors
    dims = form.cleaned_data["rating_schema"]["dimensions"]
    assert [d["key"] for d in dims] == ["safety", "tone", "overall_quality"]
    assert dims[2]["choices"] == [{"value": "poor", "label": "Poor"}, {"value": "good", "label": "Good"}]


def test_a_removed_row_is_left_out(world):
    form = StudyForm(page_post(world, **{"dim-1-delete": "on"}))
    assert form.is_valid(), form.errors
    assert [d["key"] for d in form.cleaned_data["rating_schema"]["dimensions"]] == ["safety"]


def test_problems_are_shown_on_the_row_they_are_about(client, admin_user, world):
    client.force_login(admin_user)
    data = page_post(world, **{"dim-1-key": "safety", "dim-0-level-1-label": "", "dim-0-level-1-value": "",
                               "dim-1-level-2-definition": "orphan", "dim-1-level-2-label": "",
                               "dim-1-level-2-value": ""})
    response = client.post(reverse("studies:study_create"), data)
    html = response.content.decode()
    assert response.status_code == 200 and not Study.objects.filter(name="Rows study").exists()
    assert "Fix the problems marked in the rating dimensions below." in html
    first = re.search(r'<ul class="errorlist" id="dim-0-errors">(.*?)</ul>', html, re.S).group(1)
    second = re.search(r'<ul class="errorlist" id="dim-1-errors">(.*?)</ul>', html, re.S).group(1)
    assert "choices must be at least two" in first
    assert "key &#x27;safety&#x27; is used twice" in second and "level 3: give a label" in second
    assert 'aria-describedby="dim-1-errors"' in html


def test_eligibility_and_task_instructions_as_fields(client, admin_user, world):
    client.force_login(admin_user)
    data = page_post(world, elig_triage_specialties=["emergency", "nursing"], elig_triage_min_years="3",
                     elig_other_min_years="0", instr_triage="Answer with an ESI level.")
    assert client.post(reverse("studies:study_create"), data).status_code == 302
    study = Study.objects.get(name="Rows study")
    assert study.eligibility == {"triage": {"specialties": ["emergency", "nursing"], "min_years": 3},
                                 "other": {"min_years": 0}}
    assert study.task_instructions == {"triage": "Answer with an ESI level."}
    html = client.get(reverse("studies:study_edit", args=[study.pk])).content.decode()
    assert re.search(r'name="elig_triage_specialties" value="emergency"[^>]*checked', html)
    assert 'name="elig_triage_min_years" value="3"' in html
    assert "Answer with an ESI level.</textarea>" in html
    bad = client.post(reverse("studies:study_edit", args=[study.pk]),
                      page_post(world, elig_triage_min_years="-1", elig_triage_specialties=["astrology"]))
    assert bad.status_code == 200
    study.refresh_from_db()
    assert study.eligibility["triage"]["min_years"] == 3


def test_warnings_before_saving_an_incomplete_study_and_save_anyway(client, admin_user, world):
    client.force_login(admin_user)
    data = page_post(world, case_sets=[], model_specs=[], personas=[])
    response = client.post(reverse("studies:study_create"), data)
    html = response.content.decode()
    assert response.status_code == 200 and not Study.objects.filter(name="Rows study").exists()
    for text in ("No case set is chosen", "No model is chosen", "Only the no-persona baseline is chosen"):
        assert text in html
    assert 'name="save_anyway"' in html
    saved = client.post(reverse("studies:study_create"), {**data, "save_anyway": "on"})
    assert saved.status_code == 302 and Study.objects.filter(name="Rows study").exists()


def test_a_complete_study_has_no_warning_and_no_save_anyway_box(client, admin_user, world):
    client.force_login(admin_user)
    html = client.get(reverse("studies:study_create")).content.decode()
    assert 'name="save_anyway"' not in html
    assert client.post(reverse("studies:study_create"), page_post(world)).status_code == 302


def test_rater_facing_fields_and_the_select_all_button(client, admin_user, world):
    client.force_login(admin_user)
    data = page_post(world, rater_title="Answers review", rater_instructions="Judge safety.", anchor_items=3,
                     calibration_items=2)
    assert client.post(reverse("studies:study_create"), data).status_code == 302
    study = Study.objects.get(name="Rows study")
    assert (study.rater_title, study.rater_instructions, study.calibration_items) == ("Answers review",
                                                                                     "Judge safety.", 2)
    html = client.get(reverse("studies:study_edit", args=[study.pk])).content.decode()
    assert 'data-select-all-for="personas"' in html and "/static/js/study_form.js" in html
    assert "<script>" not in html.replace(" ", "")


def test_more_calibration_than_anchor_items_is_refused_on_the_page(client, admin_user, world):
    client.force_login(admin_user)
    response = client.post(reverse("studies:study_create"), page_post(world, anchor_items=1, calibration_items=2))
    assert response.status_code == 200 and "calibration_items" in response.content.decode()
    assert not Study.objects.filter(name="Rows study").exists()


def test_a_locked_schema_is_shown_disabled_and_kept(client, admin_user, world):
    study = study_create(name="Running", owner=admin_user, case_sets=[world["case_set"]], model_specs=[world["model"]],
                         rating_schema=SCHEMA)
    Study.objects.filter(pk=study.pk).update(status="rating")
    client.force_login(admin_user)
    html = client.get(reverse("studies:study_edit", args=[study.pk])).content.decode()
    assert re.search(r'name="dim-0-label"[^>]*disabled', html)
    assert "dimension-row-template" not in html
    refused = client.post(reverse("studies:study_edit", args=[study.pk]),
                          page_post(world, name="", **{"dim-0-label": "Changed"}))
    assert re.search(r'name="dim-0-label" id="id_dim-0-label" value="Safety"[^>]*disabled', refused.content.decode())
    client.post(reverse("studies:study_edit", args=[study.pk]),
                page_post(world, name="Running", **{"dim-0-label": "Changed"}))
    study.refresh_from_db()
    assert study.rating_schema == SCHEMA
