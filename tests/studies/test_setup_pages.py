"""The admin's setup pages: who may open them, and that they drive the services end to end."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studies.models import Persona, Study, StudyStatus
from studies.services.case_sets import case_set_import
from studies.services.model_specs import model_spec_create
from studies.services.personas import persona_library_load
from studies.services.studies import study_create
from tests import factories
from tests.studies.test_case_import_malformed import EXAMPLE


@pytest.fixture
def world(admin_user):
    persona_library_load()
    case_set = case_set_import(file=EXAMPLE, name="Examples", owner=admin_user).case_set
    model = model_spec_create(name="m", model_path="org/m")
    study = study_create(name="Pilot", owner=admin_user, case_sets=[case_set], model_specs=[model],
                         personas=Persona.objects.filter(slug="ed-physician-bold"))
    return {"case_set": case_set, "model": model, "study": study, "case": case_set.cases.first(),
            "persona": Persona.objects.get(slug="ed-physician-bold")}


def pages(w):
    return [
        reverse("studies:study_list"), reverse("studies:study_create"), reverse("studies:study_import"),
        reverse("studies:study_detail", args=[w["study"].pk]),
        reverse("studies:study_edit", args=[w["study"].pk]),
        reverse("studies:study_export", args=[w["study"].pk]), reverse("studies:case_set_list"),
        reverse("studies:case_set_upload"), reverse("studies:case_set_detail", args=[w["case_set"].pk]),
        reverse("studies:persona_list"), reverse("studies:persona_create"),
        reverse("studies:persona_detail", args=[w["persona"].pk]),
        reverse("studies:persona_edit", args=[w["persona"].pk]),
    ]


@pytest.mark.django_db
def test_setup_pages_open_for_admins_only(world, client, admin_user, researcher, clinician):
    for url in pages(world):
        assert client.get(url).status_code == 302, url  # anonymous: to the login page
    for user in (researcher, clinician):
        client.force_login(user)
        for url in pages(world):
            response = client.get(url)
            assert response.status_code == 403, (user, url)
            assert "ed-physician" not in response.content.decode()
    client.force_login(admin_user)
    for url in pages(world):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_the_study_page_shows_the_grid_the_transitions_and_the_jobs_slot(world, client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("studies:study_detail", args=[world["study"].pk])).content.decode()
    assert "8 cases &times; 2 personas &times; 1 model" in html and "<strong>16</strong> responses" in html
    assert "Start generating" in html and "No persona (baseline)" in html
    assert 'id="study-jobs-' in html  # the generation progress panel


@pytest.mark.django_db
def test_creating_and_editing_a_study_through_the_pages(world, client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("studies:study_create"), {
        "name": "New", "case_sets": [world["case_set"].pk], "model_specs": [world["model"].pk],
        "personas": [world["persona"].pk], "raters_per_response": 2, "anchor_items": 0, "retest_fraction": 0,
        "leak_policy": "redact", "assignment_seed": 7, "eligibility": "{}", "task_instructions": "{}",
        "rating_schema": "{}",
    })
    study = Study.objects.get(name="New")
    assert response.status_code == 302 and response.url == reverse("studies:study_detail", args=[study.pk])
    assert study.personas.filter(is_baseline=True).exists() and study.assignment_seed == 7
    bad = client.post(reverse("studies:study_edit", args=[study.pk]), {
        "name": "New", "raters_per_response": 2, "anchor_items": 0, "retest_fraction": 0, "leak_policy": "redact",
        "assignment_seed": 7, "eligibility": "{}", "task_instructions": '{"diagnosis": "x"}', "rating_schema": "{}",
    })
    assert "task_instructions must map task types" in bad.content.decode()
    study.refresh_from_db()
    assert study.task_instructions == {}


@pytest.mark.django_db
def test_transition_buttons_move_the_study_and_show_refusals(world, client, admin_user):
    client.force_login(admin_user)
    url = reverse("studies:study_transition", args=[world["study"].pk])
    refused = client.post(url, {"to_status": "rating"}, follow=True)
    assert "cannot go from draft to rating; allowed: generating." in refused.content.decode()
    client.post(url, {"to_status": "generating"})
    world["study"].refresh_from_db()
    assert world["study"].status == StudyStatus.GENERATING
    assert client.get(url).status_code == 405


@pytest.mark.django_db
def test_export_download_and_import_page(world, client, admin_user):
    client.force_login(admin_user)
    exported = client.get(reverse("studies:study_export", args=[world["study"].pk]))
    assert exported["Content-Disposition"] == f'attachment; filename="study-{world["study"].pk}.yaml"'
    client.post(reverse("studies:study_import"), {"file": SimpleUploadedFile("s.yaml", exported.content),
                                                     "name": "Pilot again"})
    assert Study.objects.get(name="Pilot again").status == StudyStatus.DRAFT
    taken = client.post(reverse("studies:study_import"), {"file": SimpleUploadedFile("s.yaml", exported.content)})
    assert "A study named &#x27;Pilot&#x27; exists already" in taken.content.decode()


@pytest.mark.django_db
def test_editing_a_used_persona_on_its_page_saves_a_new_version(world, client, admin_user):
    client.force_login(admin_user)
    persona = world["persona"]
    factories.ResponseFactory(persona=persona)
    page = client.get(reverse("studies:persona_edit", args=[persona.pk])).content.decode()
    assert "saving creates version 2" in page
    response = client.post(reverse("studies:persona_edit", args=[persona.pk]), {
        "name": persona.name, "role": persona.role, "style": "bold", "is_medical": "on",
        "system_prompt_template": "You are an {role}. Be very bold.", "description": ""}, follow=True)
    new = Persona.objects.get(slug=persona.slug, is_current=True)
    assert new.version == 2 and "Saved as version 2" in response.content.decode()
    persona.refresh_from_db()
    assert persona.system_prompt_template == "You are an {role}. Be bold in your clinical decisions."


@pytest.mark.django_db
def test_the_persona_page_previews_the_exact_messages(world, client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("studies:persona_detail", args=[world["persona"].pk]),
                      {"case": world["case"].pk}).content.decode()
    assert "You are an ED physician. Be bold in your clinical decisions." in html
    assert "ESI level: &lt;1-5&gt;" in html
    baseline = Persona.objects.get(is_baseline=True)
    html = client.get(reverse("studies:persona_detail", args=[baseline.pk]), {"case": world["case"].pk}
                      ).content.decode()
    assert "(empty system message)" in html


@pytest.mark.django_db
def test_the_library_button_loads_the_default_personas(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("studies:persona_library_load"), {"extras": "1"})
    assert Persona.objects.count() == 12


@pytest.mark.django_db
def test_django_admin_versions_a_used_persona_and_runs_transitions(world, client, admin_user, monkeypatch):
    client.force_login(admin_user)
    persona = world["persona"]
    factories.ResponseFactory(persona=persona)
    response = client.post(reverse("admin:studies_persona_change", args=[persona.pk]), {
        "name": persona.name, "role": persona.role, "style": "bold", "is_medical": "on",
        "system_prompt_template": "You are an {role}. Be daring.", "description": ""})
    new = Persona.objects.get(slug=persona.slug, is_current=True)
    assert new.version == 2 and response.url == reverse("admin:studies_persona_change", args=[new.pk])
    bad = client.post(reverse("admin:studies_modelspec_add"), {
        "name": "x", "backend": "vllm", "model_path": "org/x", "temperature": 9, "top_p": 1, "max_tokens": 10,
        "seed": 0, "samples_per_prompt": 1, "engine_options": "{}"})
    assert "must be between 0.0 and 2.0" in bad.content.decode()
    client.post(reverse("admin:studies_study_changelist"),
                {"action": "move_to_generating", "_selected_action": [world["study"].pk]})
    world["study"].refresh_from_db()
    assert world["study"].status == StudyStatus.GENERATING
    for model in ("caseset", "case", "persona", "modelspec", "study"):
        assert client.get(reverse(f"admin:studies_{model}_changelist")).status_code == 200, model
