"""Personas: the shipped library, validation, versioning once used, and the exact prompt preview."""
import pytest
from django.core.management import call_command

from config.exceptions import ApplicationError
from studies.models import Persona, StudyStatus
from studies.services.personas import (
    persona_baseline,
    persona_create,
    persona_library,
    persona_library_load,
    persona_preview,
    persona_update,
)
from tests import factories

PUBLISHED = {"no-persona", "ed-physician", "ed-physician-cautious", "ed-physician-bold", "ed-nurse",
             "ed-nurse-cautious", "ed-nurse-bold", "helpful-assistant", "helpful-assistant-cautious",
             "helpful-assistant-bold"}


def personas():
    return list(Persona.objects.order_by("id").values_list("slug", "version", "is_current", "system_prompt_template"))


@pytest.mark.django_db
def test_the_library_reproduces_the_published_design_and_the_extras_are_opt_in():
    assert {e["slug"] for e in persona_library()} == PUBLISHED
    extras = {e["slug"] for e in persona_library(include_extras=True)} - PUBLISHED
    assert extras == {"primary-care-physician", "software-engineer"}
    by_role_style = {(e["role"], e["style"]) for e in persona_library() if not e.get("is_baseline")}
    assert by_role_style == {(r, s) for r in ("ED physician", "ED nurse", "helpful assistant")
                             for s in ("plain", "cautious", "bold")}


@pytest.mark.django_db
def test_loading_the_library_is_idempotent_and_leaves_admin_edits_alone(capsys):
    call_command("load_personas")
    assert set(Persona.objects.values_list("slug", flat=True)) == PUBLISHED
    assert "10 created" in capsys.readouterr().out
    ed = Persona.objects.get(slug="ed-physician")
    persona_update(persona=ed, system_prompt_template="You are an experienced {role}.")
    before = personas()
    call_command("load_personas")
    out = capsys.readouterr().out
    assert "0 created, 0 updated, 10 already there" in out and "left as they are (use --update): ed-physician" in out
    assert personas() == before
    call_command("load_personas", "--all")
    assert Persona.objects.count() == 12


@pytest.mark.django_db
def test_loading_with_update_restores_the_library_text_as_a_new_version_when_used():
    persona_library_load()
    ed = Persona.objects.get(slug="ed-physician")
    edited = persona_update(persona=ed, system_prompt_template="You are an experienced {role}.")
    factories.ResponseFactory(persona=edited)
    result = persona_library_load(update=True)
    assert result.updated == ["ed-physician"]
    current = Persona.objects.get(slug="ed-physician", is_current=True)
    assert (current.version, current.previous, current.system_prompt_template) == (2, edited, "You are an {role}.")


@pytest.mark.django_db
def test_editing_an_unused_persona_changes_it_in_place():
    persona = persona_create(slug="gp", name="GP", role="GP", system_prompt_template="You are a {role}.")
    same = persona_update(persona=persona, name="General practitioner")
    assert same.pk == persona.pk and Persona.objects.count() == 1 and same.name == "General practitioner"


@pytest.mark.django_db
def test_editing_a_persona_used_by_responses_creates_a_new_version_and_never_mutates_the_old():
    persona = persona_create(slug="gp", name="GP", role="GP", system_prompt_template="You are a {role}.")
    response = factories.ResponseFactory(persona=persona)
    draft = factories.StudyFactory(personas=[persona])
    running = factories.StudyFactory(personas=[persona], status=StudyStatus.RATING)
    new = persona_update(persona=persona, system_prompt_template="You are a careful {role}.")
    persona.refresh_from_db()
    assert (persona.system_prompt_template, persona.is_current, persona.version) == ("You are a {role}.", False, 1)
    assert (new.version, new.previous, new.is_current, new.slug) == (2, persona, True, "gp")
    response.refresh_from_db()
    assert response.persona == persona
    assert list(draft.personas.all()) == [new]  # drafts move on to the new version
    assert list(running.personas.all()) == [persona]  # running studies keep what they generated with
    with pytest.raises(ApplicationError, match=r"GP \(v1\) is an old version; edit the current one \(v2\)."):
        persona_update(persona=persona, name="x")


@pytest.mark.django_db
def test_a_persona_in_a_running_study_is_versioned_even_before_responses_exist():
    persona = persona_create(slug="gp", name="GP", role="GP", system_prompt_template="You are a {role}.")
    factories.StudyFactory(personas=[persona], status=StudyStatus.GENERATING)
    assert persona_update(persona=persona, name="Family doctor").version == 2


@pytest.mark.django_db
def test_saving_without_changes_creates_no_version():
    persona = persona_create(slug="gp", name="GP", role="GP", system_prompt_template="You are a {role}.")
    factories.ResponseFactory(persona=persona)
    assert persona_update(persona=persona, name=" GP ").pk == persona.pk
    assert Persona.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "message"), [
    ({"system_prompt_template": "You are a {profession}."},
     "system_prompt_template unknown placeholder(s) ['profession']; allowed: role, style, task_type, care_setting"),
    ({"system_prompt_template": "You are a {role"}, "system_prompt_template malformed template"),
    ({"system_prompt_template": ""}, "system_prompt_template is required (only the no-persona baseline"),
    ({"style": "grumpy"}, "style 'grumpy' is not one of plain, cautious, bold"),
    ({"role": ""}, "role is required: the template uses {role}"),
    ({"name": ""}, "name is required"),
])
def test_invalid_personas_are_refused_with_the_reason(fields, message):
    data = {"slug": "gp", "name": "GP", "role": "GP", "system_prompt_template": "You are a {role}.", **fields}
    with pytest.raises(ApplicationError) as caught:
        persona_create(**data)
    assert message in caught.value.message
    assert not Persona.objects.exists()


@pytest.mark.django_db
def test_slugs_are_unique_and_there_is_one_baseline():
    persona_library_load()
    with pytest.raises(ApplicationError, match="A persona with slug 'ed-nurse' exists already"):
        persona_create(slug="ed-nurse", name="x", role="x", system_prompt_template="You are a {role}.")
    with pytest.raises(ApplicationError, match="There is a no-persona baseline already"):
        persona_create(slug="nothing", name="Nothing", is_baseline=True)
    with pytest.raises(ApplicationError, match="may only hold letters"):
        persona_create(slug="ED nurse!", name="x", role="x", system_prompt_template="You are a {role}.")


@pytest.mark.django_db
def test_the_preview_is_the_exact_messages_with_an_explicit_empty_system_message_for_the_baseline():
    persona_library_load()
    case = factories.CaseFactory(vignette="Chest pain for 40 minutes.", question="What triage level?",
                                 task_type="triage", care_setting="critical_care")
    baseline = persona_baseline()
    messages = persona_preview(persona=baseline, case=case)
    assert messages[0] == {"role": "system", "content": ""}
    assert messages[1]["role"] == "user"
    assert messages[1]["content"].startswith("Chest pain for 40 minutes.\n\nWhat triage level?\n\nAssign an Emergency")
    cautious = Persona.objects.get(slug="ed-physician-cautious")
    assert persona_preview(persona=cautious, case=case)[0] == {
        "role": "system", "content": "You are an ED physician. Be cautious in your clinical decisions."}
    study = factories.StudyFactory(task_instructions={"triage": "Answer with a number only."})
    user_message = persona_preview(persona=cautious, case=case, study=study)[1]["content"]
    assert user_message.endswith("Answer with a number only.")
