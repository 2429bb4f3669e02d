"""Try one prompt: one real call through the model's backend (a loopback OpenAI stub, or the dry-run backend),
its answer, tokens, finish reason and latency on the page; every failure shown, never a 500."""
import socket

import pytest
from django.core.cache import cache
from django.urls import reverse

from config.exceptions import ApplicationError
from inference.services.try_prompt import LOCK_KEY, try_prompt
from tests import factories
from tests.inference.openai_stub import FIXTURE_PREFIX, Reply, StubOpenAIServer


@pytest.fixture
def allow_loopback(settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]


def server_spec(url, **kw):
    return factories.ModelSpecFactory(name=kw.pop("name", "served"), backend="openai", model_path="stub-model",
                                      api_base=url, temperature=0.3, top_p=0.9, max_tokens=64, seed=7, **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def try_url(spec):
    return reverse("inference:model_spec_try", args=[spec.pk])


@pytest.mark.django_db
def test_one_call_to_the_server_shows_answer_tokens_finish_reason_and_latency(client, admin_user, allow_loopback):
    with StubOpenAIServer() as server:
        spec = server_spec(server.url)
        client.force_login(admin_user)
        page = client.post(try_url(spec), {"system_prompt": "You are an ED physician.",
                                           "user_message": "Chest pain, BP 90/60. Triage?"})
    assert page.status_code == 200
    result = page.context["result"]
    assert result.ok and result.text.startswith(FIXTURE_PREFIX) and result.finish_reason == "stop"
    assert result.prompt_tokens == 10 and result.completion_tokens == len(result.text.split())
    assert 0 < result.latency_s < 10
    html = page.content.decode()
    assert FIXTURE_PREFIX in html and 'id="try-result"' in html
    assert f"{result.latency_s:.3f} s" in html and f"{result.prompt_tokens} in" in html
    (body,) = server.requests  # exactly one call, with the spec's sampling settings and seed
    assert body["messages"] == [{"role": "system", "content": "You are an ED physician."},
                                {"role": "user", "content": "Chest pain, BP 90/60. Triage?"}]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"], body["n"]) == (0.3, 0.9, 64, 7, 1)


@pytest.mark.django_db
def test_an_unreachable_server_is_an_error_on_the_page_after_one_attempt(client, admin_user, allow_loopback):
    spec = server_spec(f"http://127.0.0.1:{closed_port()}/v1")
    client.force_login(admin_user)
    page = client.post(try_url(spec), {"system_prompt": "", "user_message": "Hello?"})
    assert page.status_code == 200
    result = page.context["result"]
    assert not result.ok and "connection error" in result.error and result.latency_s < 10
    assert "The call failed" in page.content.decode() and 'role="alert"' in page.content.decode()


@pytest.mark.django_db
def test_a_server_error_is_shown_with_its_message(client, admin_user, allow_loopback):
    with StubOpenAIServer(script={"Hello?": [Reply(status=400, text="model 'stub-model' has no chat template")]}
                          ) as server:
        spec = server_spec(server.url)
        client.force_login(admin_user)
        page = client.post(try_url(spec), {"user_message": "Hello?"})
    assert "HTTP 400" in page.context["result"].error and "no chat template" in page.content.decode()


@pytest.mark.django_db
def test_a_missing_key_variable_and_a_refused_base_url_are_shown(client, admin_user, settings, monkeypatch):
    monkeypatch.delenv("MISSING_TRY_API_KEY", raising=False)
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    keyless = server_spec("http://127.0.0.1:9/v1", name="keyless", api_key_env="MISSING_TRY_API_KEY")
    client.force_login(admin_user)
    page = client.post(try_url(keyless), {"user_message": "Hello?"})
    assert page.status_code == 200 and "MISSING_TRY_API_KEY (api_key_env) is not set" in page.content.decode()
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    page = client.post(try_url(server_spec("http://127.0.0.1:9/v1", name="elsewhere")), {"user_message": "Hello?"})
    assert page.status_code == 200 and "is not in MODEL_API_BASE_ALLOWLIST" in page.content.decode()


@pytest.mark.django_db
def test_the_call_has_a_timeout(allow_loopback):
    with StubOpenAIServer(script={"slow": [Reply(text="late", delay=3)]}) as server:
        spec = server_spec(server.url)
        result = try_prompt(spec=spec, system="", user="slow", timeout=0.5)
    assert not result.ok and result.latency_s < 2.5
    assert "timed out" in result.error or "No answer within" in result.error


@pytest.mark.django_db
def test_the_dry_run_backend_answers_without_a_model(client, admin_user):
    spec = factories.ModelSpecFactory(name="dry", backend="vllm", engine_options={"dry_run": True}, max_tokens=16)
    client.force_login(admin_user)
    page = client.post(try_url(spec), {"system_prompt": "", "user_message": "Hello?"})
    result = page.context["result"]
    assert result.ok and result.text.startswith("[dry run") and result.backend == "dry-run"
    assert result.finish_reason in ("stop", "length") and result.completion_tokens >= 1


@pytest.mark.django_db
def test_the_offline_engine_and_an_empty_message_are_refused_with_a_message(client, admin_user):
    spec = factories.ModelSpecFactory(name="offline", backend="vllm", engine_options={})
    client.force_login(admin_user)
    page = client.post(try_url(spec), {"user_message": "Hello?"}, follow=True)
    assert page.status_code == 200 and page.context["result"] is None
    assert "loads the model on the GPU worker" in page.content.decode()
    with pytest.raises(ApplicationError, match="Write a user message"):
        try_prompt(spec=spec, system="", user="  ")


@pytest.mark.django_db
def test_one_try_at_a_time_per_user(admin_user):
    spec = factories.ModelSpecFactory(name="dry", engine_options={"dry_run": True})
    cache.add(LOCK_KEY.format(admin_user.pk), 1, timeout=30)
    try:
        with pytest.raises(ApplicationError, match="still waiting") as refused:
            try_prompt(spec=spec, system="", user="Hello?", user_id=admin_user.pk)
        assert refused.value.status_code == 429
        assert try_prompt(spec=spec, system="", user="Hello?", user_id=admin_user.pk + 1).ok  # another user may
    finally:
        cache.delete(LOCK_KEY.format(admin_user.pk))
    assert try_prompt(spec=spec, system="", user="Hello?", user_id=admin_user.pk).ok
    assert cache.get(LOCK_KEY.format(admin_user.pk)) is None  # released after the call


@pytest.mark.django_db
def test_the_messages_default_to_a_case_and_persona(client, admin_user):
    spec = factories.ModelSpecFactory(name="dry", engine_options={"dry_run": True})
    case = factories.CaseFactory(external_id="T-9", vignette="Chest pain, BP 90/60.")
    persona = factories.PersonaFactory(slug="ed-physician", role="ED physician")
    client.force_login(admin_user)
    page = client.get(try_url(spec), {"case": case.pk, "persona": persona.pk})
    form = page.context["form"]
    assert form.initial["system_prompt"] == "You are an ED physician."
    assert "Chest pain, BP 90/60." in form.initial["user_message"]
    assert "Chest pain, BP 90/60." in page.content.decode()
    baseline = client.get(try_url(spec), {"case": case.pk}).context["form"]
    assert baseline.initial["system_prompt"] == "" and "Chest pain" in baseline.initial["user_message"]


@pytest.mark.django_db
def test_researchers_and_clinicians_cannot_call_a_model(client, researcher, clinician):
    spec = factories.ModelSpecFactory(name="dry", engine_options={"dry_run": True})
    for user in (researcher, clinician):
        client.force_login(user)
        assert client.post(try_url(spec), {"user_message": "Hello?"}).status_code == 403
