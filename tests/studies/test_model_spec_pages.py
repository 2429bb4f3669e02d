"""The models and judges pages: site admins only, the service's problems shown on their fields, frozen fields."""
import pytest
from django.urls import reverse

from studies.forms_models import ModelSpecForm
from studies.models import ModelSpec, StudyStatus
from studies.shapes import SAMPLING, limits
from tests import factories

VALID = {
    "name": "SmolLM2 server", "backend": "openai", "model_path": "smol", "revision": "", "api_base": "",
    "api_key_env": "", "temperature": "0.7", "top_p": "1", "max_tokens": "256", "seed": "0",
    "samples_per_prompt": "1", "engine_options": "{}", "rubric_prompt": "",
}


@pytest.fixture
def spec(db):
    return factories.ModelSpecFactory(name="model-a", model_path="org/model-a")


def pages(spec):
    return [reverse("studies:model_spec_list"), reverse("studies:model_spec_create"), reverse("studies:judge_create"),
            reverse("studies:model_spec_detail", args=[spec.pk]), reverse("studies:model_spec_edit", args=[spec.pk]),
            reverse("inference:model_spec_try", args=[spec.pk])]


@pytest.mark.django_db
def test_model_pages_open_for_site_admins_only(spec, client, admin_user, researcher, clinician):
    for url in pages(spec):
        assert client.get(url).status_code == 302, url
    for user in (researcher, clinician):
        client.force_login(user)
        for url in pages(spec):
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(reverse("studies:model_spec_create"), VALID).status_code == 403
    assert not ModelSpec.objects.filter(name=VALID["name"]).exists()
    client.force_login(admin_user)
    for url in pages(spec):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_the_setup_menu_links_to_the_models_page(spec, client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("studies:study_list")).content.decode()
    assert f'href="{reverse("studies:model_spec_list")}"' in html and "/admin/studies/modelspec" not in html
    listing = client.get(reverse("studies:model_spec_list")).content.decode()
    assert "model-a" in listing and reverse("studies:model_spec_detail", args=[spec.pk]) in listing


@pytest.mark.django_db
def test_creating_a_model_and_a_judge(client, admin_user, settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    client.force_login(admin_user)
    response = client.post(reverse("studies:model_spec_create"), {
        **VALID, "api_base": "http://gpu:8000/v1", "api_key_env": "GPU_API_KEY", "engine_options": '{"timeout": 30}'})
    spec = ModelSpec.objects.get(name=VALID["name"])
    assert response.status_code == 302 and response.url == reverse("studies:model_spec_detail", args=[spec.pk])
    assert (spec.api_base, spec.api_key_env, spec.engine_options, spec.is_judge) == (
        "http://gpu:8000/v1", "GPU_API_KEY", {"timeout": 30}, False)
    detail = client.get(response.url).content.decode()
    assert "GPU_API_KEY" in detail and reverse("inference:model_spec_try", args=[spec.pk]) in detail

    no_rubric = client.post(reverse("studies:judge_create"), {**VALID, "name": "Judge", "backend": "vllm"})
    assert no_rubric.status_code == 200 and not ModelSpec.objects.filter(name="Judge").exists()
    assert "This field is required" in str(no_rubric.context["form"].errors["rubric_prompt"])
    judge = client.post(reverse("studies:judge_create"), {**VALID, "name": "Judge", "backend": "vllm",
                                                          "rubric_prompt": "Score safety 1-5."})
    assert judge.status_code == 302 and ModelSpec.objects.get(name="Judge").is_judge


@pytest.mark.django_db
def test_the_services_problems_are_shown_on_their_fields(client, admin_user, settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    client.force_login(admin_user)
    page = client.post(reverse("studies:model_spec_create"), {
        **VALID, "api_base": "http://elsewhere:8000/v1", "api_key_env": "SECRET_KEY", "engine_options": "[1]"})
    assert page.status_code == 200 and not ModelSpec.objects.filter(name=VALID["name"]).exists()
    errors = page.context["form"].errors
    assert "elsewhere is not in MODEL_API_BASE_ALLOWLIST" in str(errors["api_base"])
    assert "must name an environment variable ending in _API_KEY" in str(errors["api_key_env"])
    assert "must be an object of engine arguments" in str(errors["engine_options"])
    html = page.content.decode()
    assert 'id="id_api_key_env_error"' in html or "errorlist" in html  # under the field, not only on top
    no_base = client.post(reverse("studies:model_spec_create"), VALID)
    assert "is required for an OpenAI-compatible server" in str(no_base.context["form"].errors["api_base"])


@pytest.mark.django_db
def test_sampling_limits_come_from_the_declared_shapes(client, admin_user):
    form = ModelSpecForm()
    low, high = limits(SAMPLING, "temperature")
    assert (form.fields["temperature"].min_value, form.fields["temperature"].max_value) == (low, high)
    assert form.fields["max_tokens"].max_value == limits(SAMPLING, "max_tokens")[1]
    assert form.fields["top_p"].min_value is None  # exclusive: the service says "greater than 0"
    client.force_login(admin_user)
    too_hot = client.post(reverse("studies:model_spec_create"), {**VALID, "backend": "vllm", "temperature": "2.5"})
    assert "temperature" in too_hot.context["form"].errors
    zero_p = client.post(reverse("studies:model_spec_create"), {**VALID, "backend": "vllm", "top_p": "0"})
    assert "must be greater than 0" in str(zero_p.context["form"].errors["top_p"])
    html = client.get(reverse("studies:model_spec_create")).content.decode()
    assert 'aria-describedby="id_temperature_helptext"' in html and 'id="id_temperature_helptext"' in html


@pytest.mark.django_db
def test_a_model_with_outputs_is_frozen_and_says_which_fields(client, admin_user):
    spec = factories.ModelSpecFactory(name="used", model_path="org/used", temperature=0.7)
    study = factories.StudyFactory(model_specs=[spec])
    study.status = StudyStatus.RATING
    study.save(update_fields=["status"])
    client.force_login(admin_user)
    edit_url = reverse("studies:model_spec_edit", args=[spec.pk])
    page = client.get(edit_url)
    form = page.context["form"]
    assert form.fields["temperature"].disabled and form.fields["model_path"].disabled
    assert not form.fields["name"].disabled and not form.fields["api_base"].disabled
    html = page.content.decode()
    assert 'id="frozen-note"' in html and "Temperature" in html and "Model path or name" in html
    # A posted change to a frozen field is ignored; the name still changes.
    saved = client.post(edit_url, {**VALID, "backend": "vllm", "name": "used-renamed", "temperature": "1.5"})
    spec.refresh_from_db()
    assert saved.status_code == 302 and spec.name == "used-renamed" and spec.temperature == 0.7
    assert "frozen" in client.get(reverse("studies:model_spec_detail", args=[spec.pk])).content.decode()


@pytest.mark.django_db
def test_a_draft_only_model_can_change_everything(client, admin_user, spec):
    client.force_login(admin_user)
    response = client.post(reverse("studies:model_spec_edit", args=[spec.pk]), {
        **VALID, "backend": "vllm", "name": "model-a", "model_path": "org/other", "temperature": "0.2"})
    spec.refresh_from_db()
    assert response.status_code == 302 and (spec.model_path, spec.temperature) == ("org/other", 0.2)


@pytest.mark.django_db
def test_the_services_frozen_refusal_is_shown_on_each_frozen_field(client, admin_user, monkeypatch):
    """A model that became frozen after its form was built: the service refuses, naming the fields."""
    spec = factories.ModelSpecFactory(name="racing", model_path="org/racing", temperature=0.7)
    study = factories.StudyFactory(model_specs=[spec])
    study.status = StudyStatus.RATING
    study.save(update_fields=["status"])
    monkeypatch.setattr("studies.views_models.model_spec_is_frozen", lambda spec: False)
    client.force_login(admin_user)
    page = client.post(reverse("studies:model_spec_edit", args=[spec.pk]),
                       {**VALID, "backend": "vllm", "name": "racing", "model_path": "org/racing", "temperature": "1.5"})
    assert page.status_code == 200
    assert "frozen: create a new model spec" in str(page.context["form"].errors["temperature"])
    assert "model_path" not in page.context["form"].errors
    spec.refresh_from_db()
    assert spec.temperature == 0.7


def test_a_new_model_form_starts_from_the_models_defaults(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("studies:model_spec_create")).content.decode()
    assert 'name="seed" value="0"' in page and 'name="temperature" value="0.7"' in page
