"""Studies and model specs: validation, the baseline, the lifecycle, and export/import as one file."""
import json

import pytest
import yaml
from django.core.management import call_command

from config.exceptions import ApplicationError
from inference.models import Job, JobStatus
from studies.models import CaseSet, ModelSpec, Persona, Study, StudyStatus
from studies.models.base import opaque_code
from studies.schema import default_rating_schema
from studies.services.case_sets import case_set_import
from studies.services.model_specs import model_spec_create, model_spec_update
from studies.services.personas import persona_library_load
from studies.services.studies import rating_schema_problems, study_create, study_transition, study_update
from studies.services.study_files import study_export, study_export_text, study_import
from tests import factories
from tests.studies.test_case_import_malformed import EXAMPLE


@pytest.fixture
def planned(monkeypatch):
    """Stands in for the assignment planner: records the studies it was asked to plan."""
    calls = []
    monkeypatch.setattr("annotation.services.assignments.assignment_plan_for_study",
                        lambda *, study: calls.append(study.pk))
    return calls


@pytest.fixture
def setup_data(admin_user, settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    persona_library_load(include_extras=True)
    case_set = case_set_import(file=EXAMPLE, name="Examples", owner=admin_user).case_set
    model = model_spec_create(name="SmolLM2-135M", backend="vllm", model_path="HuggingFaceTB/SmolLM2-135M-Instruct",
                              revision="main", temperature=0.7, seed=42, samples_per_prompt=2)
    judge = model_spec_create(name="judge", backend="openai", model_path="judge-model",
                              api_base="http://gpu:8000/v1", is_judge=True, rubric_prompt="Rate the answer.")
    return case_set, model, judge


def make_study(setup_data, admin_user, **kw):
    case_set, model, judge = setup_data
    personas = Persona.objects.filter(slug__in=["ed-physician", "ed-nurse-bold"])
    kw.setdefault("safety_lead_email", "safety@example.org")  # every study that opens for rating names one
    return study_create(name="Triage study", owner=admin_user, case_sets=[case_set], personas=personas,
                        model_specs=[model], judge=judge, **kw)


# ------------------------------------------------------------------------------------------ model specs

@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "message"), [
    ({"temperature": -0.1}, "temperature must be between 0.0 and 2.0 (got -0.1)"),
    ({"temperature": "hot"}, "temperature must be a number"),
    ({"top_p": 0}, "top_p must be greater than 0 and at most 1 (got 0)"),
    ({"max_tokens": 0}, "max_tokens must be between 1 and 131072 (got 0)"),
    ({"max_tokens": 1.5}, "max_tokens must be a whole number"),
    ({"seed": -1}, "seed must be between 0 and"),
    ({"samples_per_prompt": 0}, "samples_per_prompt must be between 1 and 100 (got 0)"),
    ({"backend": "openai"}, "api_base is required for an OpenAI-compatible server"),
    ({"backend": "tgi"}, "backend 'tgi' is not one of vllm, openai, imported"),
    ({"is_judge": True}, "rubric_prompt is required for a judge"),
    ({"model_path": ""}, "model_path is required"),
    ({"engine_options": []}, "engine_options must be an object"),
])
def test_model_spec_sampling_parameters_are_validated(fields, message):
    with pytest.raises(ApplicationError) as caught:
        model_spec_create(**{"name": "m", "model_path": "org/m", **fields})
    assert message in caught.value.message
    assert not ModelSpec.objects.exists()


@pytest.mark.django_db
def test_a_model_spec_that_produced_responses_keeps_its_generation_settings(settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["other"]
    spec = model_spec_create(name="m", model_path="org/m", temperature=0.2)
    assert model_spec_update(model_spec=spec, temperature=0.3).temperature == 0.3
    factories.ResponseFactory(model=spec)
    with pytest.raises(ApplicationError, match="so temperature cannot change"):
        model_spec_update(model_spec=spec, temperature=0.9)
    assert model_spec_update(model_spec=spec, api_base="http://other:8000/v1").api_base == "http://other:8000/v1"
    spec.refresh_from_db()
    assert spec.temperature == 0.3


# ------------------------------------------------------------------------------------------ studies

@pytest.mark.django_db
def test_a_new_study_is_a_draft_with_the_no_persona_baseline(setup_data, admin_user):
    study = make_study(setup_data, admin_user)
    assert study.status == StudyStatus.DRAFT and study.owner == admin_user
    assert set(study.personas.values_list("slug", flat=True)) == {"no-persona", "ed-physician", "ed-nurse-bold"}
    study_update(study=study, personas=Persona.objects.filter(slug="ed-nurse"))
    assert set(study.personas.values_list("slug", flat=True)) == {"no-persona", "ed-nurse"}


@pytest.mark.django_db
def test_the_baseline_is_created_from_the_library_when_missing(admin_user):
    study = study_create(name="Empty", owner=admin_user)
    assert list(study.personas.values_list("slug", "system_prompt_template")) == [("no-persona", "")]


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "message"), [
    ({"raters_per_response": 0}, "raters_per_response must be between 1 and 32767 (got 0)"),
    ({"retest_fraction": 0.9}, "retest_fraction must be between 0 and 0.5"),
    ({"leak_policy": "publish"}, "leak_policy must be one of show, hide, redact"),
    ({"safety_lead_email": "not-an-email"}, "safety_lead_email is not an email address"),
    ({"task_instructions": {"diagnosis": "x"}}, "task_instructions must map task types"),
    ({"eligibility": {"triage": {"specialties": ["surgery"]}}}, "triage: specialties must be among"),
    ({"rating_schema": {"dimensions": []}}, "rating_schema dimensions must be a non-empty list"),
    ({"name": ""}, "name is required"),
])
def test_invalid_study_settings_are_refused(fields, message, admin_user):
    with pytest.raises(ApplicationError) as caught:
        study_create(**{"name": "S", "owner": admin_user, **fields})
    assert message in caught.value.message
    assert not Study.objects.exists()


@pytest.mark.django_db
def test_a_judge_must_be_a_judge_model_spec(setup_data, admin_user):
    _, model, _ = setup_data
    with pytest.raises(ApplicationError, match="'SmolLM2-135M' is not a judge model spec"):
        study_create(name="S", owner=admin_user, judge=model)


def test_the_default_rating_schema_is_valid_and_broken_ones_are_explained():
    assert rating_schema_problems(default_rating_schema()) == []
    broken = default_rating_schema()
    broken["dimensions"][1]["key"] = "safety"
    broken["dimensions"][0]["choices"] = [{"value": "yes", "label": "Yes"}]
    broken["dimensions"][0]["kind"] = "likert"
    assert rating_schema_problems(broken) == [
        "dimension 1: kind must be categorical or ordinal",
        "dimension 1: choices must be at least two {value, label} objects",
        "dimension 2: key 'safety' is used twice",
    ]


@pytest.mark.django_db
def test_the_lifecycle_runs_draft_generating_rating_closed_and_plans_assignments(setup_data, admin_user, planned):
    study = make_study(setup_data, admin_user)
    study = study_transition(study=study, to_status=StudyStatus.GENERATING, user=admin_user)
    assert study.status == StudyStatus.GENERATING
    factories.ResponseFactory(study=study, case=study.case_sets.get().cases.first(), model=study.model_specs.get())
    study = study_transition(study=study, to_status=StudyStatus.RATING, user=admin_user)
    assert study.status == StudyStatus.RATING and planned == [study.pk]
    study = study_transition(study=study, to_status=StudyStatus.CLOSED, user=admin_user)
    assert study.status == StudyStatus.CLOSED
    with pytest.raises(ApplicationError, match=r"cannot go from closed to rating; allowed: none \(closed is final\)"):
        study_transition(study=study, to_status=StudyStatus.RATING, user=admin_user)


@pytest.mark.django_db
@pytest.mark.parametrize(("to_status", "message"), [
    ("rating", "'Triage study' cannot go from draft to rating; allowed: generating."),
    ("closed", "'Triage study' cannot go from draft to closed; allowed: generating."),
    ("archived", "'Triage study' cannot go from draft to archived; allowed: generating."),
])
def test_transitions_outside_the_lifecycle_are_refused(setup_data, admin_user, to_status, message):
    study = make_study(setup_data, admin_user)
    with pytest.raises(ApplicationError) as caught:
        study_transition(study=study, to_status=to_status, user=admin_user)
    assert caught.value.message == message and caught.value.status_code == 409
    study.refresh_from_db()
    assert study.status == StudyStatus.DRAFT


@pytest.mark.django_db
def test_preconditions_of_each_step_are_checked(setup_data, admin_user, planned):
    empty = study_create(name="Empty", owner=admin_user)
    with pytest.raises(ApplicationError, match="needs a case set with cases and a model before generation"):
        study_transition(study=empty, to_status=StudyStatus.GENERATING, user=admin_user)
    study = study_transition(study=make_study(setup_data, admin_user), to_status=StudyStatus.GENERATING,
                             user=admin_user)
    with pytest.raises(ApplicationError, match="no responses have been generated or imported yet"):
        study_transition(study=study, to_status=StudyStatus.RATING, user=admin_user)
    job = Job.objects.create(study=study, status=JobStatus.RUNNING)
    factories.ResponseFactory(study=study)
    with pytest.raises(ApplicationError, match="generation jobs are still queued or running"):
        study_transition(study=study, to_status=StudyStatus.RATING, user=admin_user)
    job.status = JobStatus.DONE
    job.save()
    with pytest.raises(ApplicationError, match="1 responses exist already; a study with responses cannot go back"):
        study_transition(study=study, to_status=StudyStatus.DRAFT, user=admin_user)
    assert planned == []


@pytest.mark.django_db
def test_a_study_can_go_back_to_draft_while_nothing_was_generated(setup_data, admin_user):
    study = study_transition(study=make_study(setup_data, admin_user), to_status="generating", user=admin_user)
    assert study_transition(study=study, to_status="draft", user=admin_user).status == StudyStatus.DRAFT


@pytest.mark.django_db
def test_if_planning_fails_the_study_stays_in_generating(setup_data, admin_user, monkeypatch):
    def fail(*, study):
        raise ApplicationError("No clinicians are enrolled.")

    monkeypatch.setattr("annotation.services.assignments.assignment_plan_for_study", fail)
    study = study_transition(study=make_study(setup_data, admin_user), to_status="generating", user=admin_user)
    factories.ResponseFactory(study=study)
    with pytest.raises(ApplicationError, match="No clinicians are enrolled."):
        study_transition(study=study, to_status="rating", user=admin_user)
    study.refresh_from_db()
    assert study.status == StudyStatus.GENERATING


@pytest.mark.django_db
def test_only_admins_change_a_study_status(setup_data, admin_user, researcher):
    study = make_study(setup_data, admin_user)
    with pytest.raises(ApplicationError, match="Only the study's admins") as caught:
        study_transition(study=study, to_status="generating", user=researcher)
    assert caught.value.status_code == 403


@pytest.mark.django_db
def test_what_can_be_edited_narrows_with_the_status(setup_data, admin_user):
    study = study_transition(study=make_study(setup_data, admin_user), to_status="generating", user=admin_user)
    with pytest.raises(ApplicationError, match="'Triage study' is generating: model_specs, personas can no longer"):
        study_update(study=study, personas=[], model_specs=[])
    assert study_update(study=study, raters_per_response=3).raters_per_response == 3


# ------------------------------------------------------------------------------------------ export / import

@pytest.mark.django_db
def test_export_then_import_recreates_the_study_and_exports_identically(setup_data, admin_user):
    study = make_study(setup_data, admin_user, raters_per_response=3, anchor_items=5, safety_lead_email="s@x.org",
                       task_instructions={"triage": "ESI only."}, eligibility={"triage": {"min_years": 2}})
    exported = study_export(study=study)
    assert exported["case_sets"] == [{"name": "Examples", "version": 1, "cases": 8,
                                      "content_hash": study.case_sets.get().content_hash}]
    assert exported["study"]["rating_schema"] == default_rating_schema()
    for fmt in ("yaml", "json"):
        text = study_export_text(study=study, fmt=fmt)
        copy = study_import(data=text, owner=admin_user, name=f"Copy {fmt}")
        assert copy.status == StudyStatus.DRAFT
        again = study_export(study=copy)
        assert {**again, "study": {**again["study"], "name": study.name}} == exported
        # Nothing was duplicated: the same personas, model specs and case set rows are reused.
        assert set(copy.personas.all()) == set(study.personas.all())
        assert set(copy.model_specs.all()) == set(study.model_specs.all()) and copy.judge == study.judge
    assert Persona.objects.count() == 12 and ModelSpec.objects.count() == 2


@pytest.mark.django_db
def test_import_on_a_fresh_server_creates_personas_and_models_and_needs_the_case_set(setup_data, admin_user):
    exported = study_export(study=make_study(setup_data, admin_user))
    for model in (Study, ModelSpec, Persona, CaseSet):
        model.objects.all().delete()
    with pytest.raises(ApplicationError) as caught:
        study_import(data=exported, owner=admin_user)
    assert caught.value.message.startswith(
        "The study cannot be imported: case set 'Examples' v1 (content hash ")
    assert 'import its file first: manage.py import_cases FILE --set "Examples"' in caught.value.message
    assert not Persona.objects.exists() and not ModelSpec.objects.exists()
    case_set_import(file=EXAMPLE, name="Examples", owner=admin_user)
    copy = study_import(data=exported, owner=admin_user)
    assert study_export(study=copy) == exported


@pytest.mark.django_db
def test_import_refuses_a_model_spec_that_differs_here_and_a_taken_name(setup_data, admin_user):
    study = make_study(setup_data, admin_user)
    exported = study_export(study=study)
    with pytest.raises(ApplicationError, match="A study named 'Triage study' exists already"):
        study_import(data=exported, owner=admin_user)
    exported["model_specs"][0]["temperature"] = 0.1
    with pytest.raises(ApplicationError, match=r"model spec 'SmolLM2-135M' exists here with other settings "
                                               r"\(temperature\); rename one of them"):
        study_import(data=exported, owner=admin_user, name="Other")
    assert Study.objects.count() == 1


@pytest.mark.django_db
def test_an_edited_persona_in_the_file_becomes_a_new_version_here(setup_data, admin_user):
    exported = study_export(study=make_study(setup_data, admin_user))
    entry = next(p for p in exported["personas"] if p["slug"] == "ed-physician")
    entry["system_prompt_template"] = "You are a seasoned {role}."
    copy = study_import(data=exported, owner=admin_user, name="Copy")
    imported = copy.personas.get(slug="ed-physician")
    assert (imported.version, imported.is_current, imported.previous.version) == (2, True, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), [
    ("just: text", "This is not a study file (expected format: persona-paradox-lab/study)."),
    ("[unclosed", "The study file is not valid YAML/JSON"),
    (json.dumps({"format": "persona-paradox-lab/study", "format_version": 9}), "Unsupported study file version 9"),
    (b"\xff\xfe", "The study file is not UTF-8 text."),
])
def test_a_broken_study_file_is_refused(data, message, admin_user):
    with pytest.raises(ApplicationError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        study_import(data=data, owner=admin_user)
    assert not Study.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("judge", ["gpt-judge", 3, ["a"]])
def test_a_study_file_whose_judge_is_not_a_model_spec_is_refused(judge, setup_data, admin_user):
    exported = study_export(study=make_study(setup_data, admin_user))
    exported["judge"] = judge
    with pytest.raises(ApplicationError, match="'judge' must be an object"):
        study_import(data=exported, owner=admin_user, name="Copy")
    assert not Study.objects.filter(name="Copy").exists()


@pytest.mark.django_db
def test_export_and_import_commands_round_trip(setup_data, admin_user, tmp_path, capsys):
    make_study(setup_data, admin_user)
    path = tmp_path / "study.yaml"
    call_command("export_study", "Triage study", "--output", str(path))
    assert yaml.safe_load(path.read_text())["study"]["name"] == "Triage study"
    call_command("import_study", str(path), "--name", "Rerun")
    assert "Imported study 'Rerun' as a draft." in capsys.readouterr().out
    call_command("export_study", "Rerun", "--format", "json")
    assert json.loads(capsys.readouterr().out)["study"]["name"] == "Rerun"


def test_opaque_codes_never_start_like_a_spreadsheet_formula():
    codes = {opaque_code() for _ in range(3000)}
    assert len(codes) == 3000 and all(code[0].isalnum() and len(code) == 16 for code in codes)
