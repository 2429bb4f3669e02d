"""Which key goes to which model server: each spec names its key's variable, and its URL must be allowed.

The server's OPENAI_API_KEY used to go to any base URL an admin typed into a model spec.
"""
import pytest

from config.exceptions import ApplicationError
from inference.backends import backend_for
from inference.backends.base import ChatRequest, SamplingSettings
from inference.backends.openai_server import OpenAIServerBackend
from studies.services.model_specs import MODEL_SPEC_FIELDS, api_base_problem, model_spec_create, model_spec_update
from studies.services.study_files import study_export
from tests import factories
from tests.inference.openai_stub import StubOpenAIServer


def spec(**kw):
    return factories.ModelSpecFactory(**{"backend": "openai", "api_base": "http://gpu:8000/v1", "model_path": "m",
                                         **kw})


@pytest.mark.django_db
def test_no_key_variable_sends_no_key_even_when_the_server_has_one(settings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-secret")
    settings.OPENAI_API_KEY = "sk-server-secret"
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    with StubOpenAIServer() as server:
        backend = backend_for(spec(api_base=server.url))
        assert backend.api_key == ""
        backend.chat([ChatRequest(key="1", messages=[{"role": "user", "content": "hi"}])], SamplingSettings())
    assert server.requests and all("authorization" not in {k.lower() for k in h} for h in server.headers)


@pytest.mark.django_db
def test_the_key_comes_only_from_the_variable_the_spec_names(settings, monkeypatch):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("LAB_GPU_API_KEY", "sk-lab")
    assert OpenAIServerBackend.from_spec(spec(api_key_env="LAB_GPU_API_KEY")).api_key == "sk-lab"
    assert OpenAIServerBackend.from_spec(spec(api_key_env="OPENAI_API_KEY")).api_key == "sk-openai"
    monkeypatch.delenv("LAB_GPU_API_KEY")
    with pytest.raises(ApplicationError, match=r"the environment variable LAB_GPU_API_KEY \(api_key_env\) is not set"):
        OpenAIServerBackend.from_spec(spec(api_key_env="LAB_GPU_API_KEY"))
    with pytest.raises(ApplicationError, match="is not the name of an API key variable"):
        OpenAIServerBackend.from_spec(spec(api_key_env="SECRET_KEY"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "lower_api_key", "A-B_API_KEY", "_API_KEY",
                                  "OPENAI_API_KEY!", "X" * 120 + "_API_KEY"])
def test_api_key_env_must_name_an_api_key_variable(settings, name):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    with pytest.raises(ApplicationError) as caught:
        model_spec_create(name="m", backend="openai", model_path="m", api_base="http://gpu:8000/v1",
                          api_key_env=name)
    assert "api_key_env" in caught.value.extra["fields"]


@pytest.mark.django_db
def test_api_key_env_is_a_model_spec_field_and_is_exported(settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    created = model_spec_create(name="m", backend="openai", model_path="m", api_base="http://gpu:8000/v1",
                                api_key_env=" LAB_API_KEY ")
    assert created.api_key_env == "LAB_API_KEY" and "api_key_env" in MODEL_SPEC_FIELDS
    study = factories.StudyFactory(model_specs=[created])
    assert study_export(study=study)["model_specs"][0]["api_key_env"] == "LAB_API_KEY"
    assert model_spec_update(model_spec=created, api_key_env="").api_key_env == ""


@pytest.mark.django_db
@pytest.mark.parametrize(("allowlist", "url", "allowed"), [
    (["gpu"], "http://gpu:8000/v1", True),
    (["gpu"], "http://GPU:8000/v1", True),
    (["gpu"], "http://gpu.evil.example/v1", False),
    (["gpu"], "http://evil.example/v1", False),
    (["gpu"], "http://gpu@evil.example/v1", False),
    (["*.lab.example"], "https://a.lab.example/v1", True),
    (["*.lab.example"], "https://lab.example.evil/v1", False),
    (["https://api.openai.com/v1"], "https://api.openai.com/v1", True),
    (["https://api.openai.com/v1"], "https://api.openai.com/v1/", True),
    (["https://api.openai.com/v1"], "https://api.openai.com.evil.example/v1", False),
    (["https://api.openai.com/v1"], "http://api.openai.com/v1", False),
    (["https://api.openai.com/v1"], "https://api.openai.com:8443/v1", False),
    (["https://api.openai.com/v1"], "https://api.openai.com/v10", False),
    (["https://api.openai.com/v1"], "https://api.openai.com/", False),
])
def test_base_urls_are_checked_against_the_allowlist(settings, allowlist, url, allowed):
    settings.MODEL_API_BASE_ALLOWLIST = allowlist
    assert (api_base_problem(url) is None) is allowed


@pytest.mark.django_db
def test_an_empty_allowlist_allows_any_url_only_while_debug_is_on(settings):
    settings.MODEL_API_BASE_ALLOWLIST = []
    settings.DEBUG = True
    assert api_base_problem("http://anything:8000/v1") is None
    settings.DEBUG = False
    assert "set MODEL_API_BASE_ALLOWLIST" in api_base_problem("http://anything:8000/v1")


@pytest.mark.django_db
def test_a_url_outside_the_allowlist_is_refused_when_saved_and_when_used(settings, monkeypatch):
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    with pytest.raises(ApplicationError) as caught:
        model_spec_create(name="m", backend="openai", model_path="m", api_base="https://collector.example/v1",
                          api_key_env="OPENAI_API_KEY")
    assert caught.value.extra["fields"]["api_base"] == (
        "is not allowed: collector.example is not in MODEL_API_BASE_ALLOWLIST (gpu)")
    with pytest.raises(ApplicationError, match="may not carry a user name or password"):
        model_spec_create(name="m", backend="openai", model_path="m", api_base="http://u:p@gpu/v1")
    saved = spec(api_base="https://collector.example/v1", api_key_env="OPENAI_API_KEY")  # saved before the list
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    with pytest.raises(ApplicationError, match="collector.example is not in MODEL_API_BASE_ALLOWLIST"):
        backend_for(saved)
