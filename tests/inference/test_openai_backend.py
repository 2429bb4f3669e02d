"""The OpenAI-compatible backend against a real HTTP server on loopback (tests/inference/openai_stub.py)."""
import socket

import pytest

from inference.backends.base import ChatRequest, SamplingSettings, TransientBackendError
from inference.backends.openai_server import OpenAIServerBackend
from tests.inference.openai_stub import FIXTURE_PREFIX, Reply, StubOpenAIServer


class RecordingSleep:
    """Stands in for time.sleep: records each backoff wait instead of spending it."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


def backend_for(server, **kw):
    kw.setdefault("sleep", RecordingSleep())
    kw.setdefault("timeout", 5.0)
    kw.setdefault("max_attempts", 4)
    return OpenAIServerBackend(api_base=server.url, model="stub-model", **kw)


def request(key, text, seed=None):
    return ChatRequest(key=key, messages=[{"role": "system", "content": ""}, {"role": "user", "content": text}],
                       seed=seed)


def test_success_sends_every_sampling_setting_and_returns_results_in_request_order():
    with StubOpenAIServer() as server:
        backend = backend_for(server, api_key="secret-key")
        sampling = SamplingSettings(temperature=0.3, top_p=0.9, max_tokens=77, n=1)
        results = backend.chat([request("a", "first case", seed=11), request("b", "second case", seed=12)], sampling)

    assert [(r.key, r.sample_index, r.ok) for r in results] == [("a", 0, True), ("b", 0, True)]
    assert results[0].text == f"{FIXTURE_PREFIX} reply to: first case"
    assert results[0].prompt_tokens == 2 and results[0].completion_tokens == 6
    assert results[0].finish_reason == "stop" and results[0].seconds is not None
    assert results[0].extra["attempts"] == 1
    body = next(b for b in server.requests if b["seed"] == 11)
    assert {k: body[k] for k in ("model", "n", "temperature", "top_p", "max_tokens", "seed")} == {
        "model": "stub-model", "n": 1, "temperature": 0.3, "top_p": 0.9, "max_tokens": 77, "seed": 11}
    assert body["messages"][1] == {"role": "user", "content": "first case"}
    assert "response_format" not in body
    assert all(h.get("Authorization") == "Bearer secret-key" for h in server.headers)


def test_n_samples_come_back_per_request_with_sample_indices():
    with StubOpenAIServer() as server:
        results = backend_for(server).chat([request("a", "x"), request("b", "y")], SamplingSettings(n=3))
    assert [(r.key, r.sample_index) for r in results] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert results[1].text.endswith("(sample 1)")
    assert results[0].completion_tokens is None  # usage is per request: not split across samples
    assert results[0].extra["usage"]["completion_tokens"] > 0
    assert len(server.requests) == 2 and server.requests[0]["n"] == 3


def test_structured_output_is_requested_as_response_format_json_schema():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    with StubOpenAIServer() as server:
        backend_for(server).chat([request("a", "x")], SamplingSettings(json_schema=schema))
        backend_for(server, structured_output="both").chat([request("b", "y")], SamplingSettings(json_schema=schema))
        backend_for(server, structured_output="structured_outputs").chat([request("c", "z")],
                                                                         SamplingSettings(json_schema=schema))
    first, both, vllm_only = server.requests
    assert first["response_format"] == {"type": "json_schema",
                                        "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    assert "structured_outputs" not in first
    assert both["response_format"]["json_schema"]["schema"] == schema and both["structured_outputs"] == {"json": schema}
    assert vllm_only["structured_outputs"] == {"json": schema} and "response_format" not in vllm_only


def test_extra_body_fields_are_sent():
    with StubOpenAIServer() as server:
        backend_for(server, extra_body={"top_k": 20, "repetition_penalty": 1.1}).chat([request("a", "x")],
                                                                                      SamplingSettings())
    assert server.requests[0]["top_k"] == 20 and server.requests[0]["repetition_penalty"] == 1.1


def test_429_is_retried_after_the_servers_retry_after():
    script = {"busy": [Reply(status=429, text="rate limited", headers={"Retry-After": "7"})]}
    with StubOpenAIServer(script) as server:
        backend = backend_for(server, backoff_base=0.01)
        [result] = backend.chat([request("a", "busy")], SamplingSettings())
    assert result.ok and result.text.startswith(FIXTURE_PREFIX)
    assert server.calls_for("busy") == 2 and result.extra["attempts"] == 2
    assert backend._sleep.waits == [pytest.approx(7.0)]  # the server's wait, not the tiny backoff


def test_500_then_success_backs_off_exponentially_with_jitter():
    script = {"flaky": [Reply(status=500, text="boom"), Reply(status=503, text="overloaded"),
                        Reply(status=502, text="bad gateway")]}
    with StubOpenAIServer(script) as server:
        backend = backend_for(server, backoff_base=1.0, backoff_max=30.0)
        [result] = backend.chat([request("a", "flaky")], SamplingSettings())
    assert result.ok and server.calls_for("flaky") == 4
    first, second, third = backend._sleep.waits
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0


def test_a_timeout_is_retried():
    script = {"slow": [Reply(delay=3.0, text="too late")]}
    with StubOpenAIServer(script) as server:
        backend = backend_for(server, timeout=0.5)
        [result] = backend.chat([request("a", "slow")], SamplingSettings())
    assert result.ok and result.text.startswith(FIXTURE_PREFIX)  # the second, prompt answer
    assert server.calls_for("slow") == 2 and len(backend._sleep.waits) == 1


def test_a_400_fails_at_once_with_the_servers_message_and_the_rest_of_the_batch_succeeds():
    script = {"bad": [Reply(status=400, text="max_tokens is too large: 99999 > 2048")]}
    with StubOpenAIServer(script) as server:
        backend = backend_for(server)
        bad, good = backend.chat([request("a", "bad"), request("b", "good")], SamplingSettings())
    assert not bad.ok and "HTTP 400" in bad.error and "max_tokens is too large" in bad.error
    assert bad.extra == {"transient": False}
    assert good.ok
    assert server.calls_for("bad") == 1 and backend._sleep.waits == []


def test_retries_are_bounded_and_the_row_records_the_last_error():
    script = {"down": [Reply(status=503, text="overloaded")] * 10}
    with StubOpenAIServer(script) as server:
        backend = backend_for(server, max_attempts=3)
        down, fine = backend.chat([request("a", "down"), request("b", "fine")], SamplingSettings())
    assert "gave up after 3 attempts" in down.error and "HTTP 503" in down.error and "overloaded" in down.error
    assert fine.ok
    assert server.calls_for("down") == 3


def test_a_whole_batch_failing_transiently_raises_for_the_task_to_retry_later():
    script = {"x": [Reply(status=503)] * 5, "y": [Reply(status=429)] * 5}
    with StubOpenAIServer(script) as server:
        with pytest.raises(TransientBackendError, match="all 2 requests failed"):
            backend_for(server, max_attempts=2).chat([request("a", "x"), request("b", "y")], SamplingSettings())


def test_an_unreachable_server_is_a_transient_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        backend = OpenAIServerBackend(api_base=f"http://127.0.0.1:{port}/v1", model="m", max_attempts=2,
                                      sleep=RecordingSleep())
        with pytest.raises(TransientBackendError, match="connection error"):
            backend.chat([request("a", "x")], SamplingSettings())
        assert len(backend._sleep.waits) == 1
        assert "models_error" in backend.info()


@pytest.mark.parametrize("raw", [b"<html>proxy</html>", b'{"choices": "none"}', b'{"choices": ["text"]}',
                                 b'{"choices": [{"message": "text"}]}'])
def test_a_malformed_200_is_a_row_error_not_a_crash(raw):
    with StubOpenAIServer({"junk": [Reply(raw=raw)]}) as server:
        junk, fine = backend_for(server).chat([request("a", "junk"), request("b", "ok")], SamplingSettings())
    assert "malformed response" in junk.error and not junk.extra["transient"] and fine.ok


def test_concurrency_is_bounded_by_the_pool():
    # The first 4 requests are held until 4 are in flight (or 1 s passes): with a pool of 3 the 4th can
    # only arrive after the hold times out, so a broken bound would show as max_inflight == 4.
    with StubOpenAIServer(hold_first=4, hold_timeout=1.0) as server:
        backend = backend_for(server, max_concurrency=3)
        results = backend.chat([request(str(i), f"case {i}") for i in range(12)], SamplingSettings())
    assert all(r.ok for r in results) and [r.key for r in results] == [str(i) for i in range(12)]
    assert server.max_inflight == 3


def test_info_describes_the_served_model():
    with StubOpenAIServer() as server:
        info = backend_for(server).info()
    assert info["engine"] == "openai-compatible" and info["model"] == "stub-model"
    assert info["server_models"] == ["stub-model"] and info["root"] == "stub/root" and info["max_model_len"] == 2048


def test_empty_batch_makes_no_request():
    with StubOpenAIServer() as server:
        assert backend_for(server).chat([], SamplingSettings()) == []
    assert server.requests == []


@pytest.mark.django_db
def test_from_spec_reads_the_model_spec_and_settings(settings, monkeypatch):
    from config.exceptions import ApplicationError
    from tests.factories import ModelSpecFactory

    monkeypatch.setenv("GPU_API_KEY", "k")
    settings.MODEL_API_BASE_ALLOWLIST = ["gpu", "x"]
    settings.OPENAI_MAX_CONCURRENCY = 7
    spec = ModelSpecFactory(backend="openai", api_base="http://gpu:8000/v1/", model_path="served-name",
                            api_key_env="GPU_API_KEY", engine_options={"timeout": 9, "structured_output": "both"})
    backend = OpenAIServerBackend.from_spec(spec)
    assert (backend.api_base, backend.model, backend.api_key) == ("http://gpu:8000/v1", "served-name", "k")
    assert (backend.max_concurrency, backend.timeout, backend.structured_output) == (7, 9.0, "both")
    with pytest.raises(ApplicationError, match="no API base URL"):
        OpenAIServerBackend.from_spec(ModelSpecFactory(backend="openai", api_base=""))
    with pytest.raises(ApplicationError, match="bad engine options"):
        OpenAIServerBackend.from_spec(ModelSpecFactory(backend="openai", api_base="http://x/v1",
                                                       engine_options={"structured_output": "guided_json"}))
