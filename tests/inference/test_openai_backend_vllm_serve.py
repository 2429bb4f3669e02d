"""The OpenAI-compatible backend against a real `vllm serve` (vLLM's CPU build, the tiny random-weight model).

Checks that the request fields this backend sends are the ones the pinned vLLM understands: seeds,
n, usage, structured output through `response_format` and through `structured_outputs`, and a clear
4xx. The model's text is gibberish by design; only the plumbing is asserted.
"""
import importlib.util
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from inference.backends.base import ChatRequest, SamplingSettings
from inference.backends.openai_server import OpenAIServerBackend
from inference.judge import judge_json_schema, parse_judge_answer
from studies.schema import default_rating_schema
from tests.conftest import skip_or_fail
from tests.inference.tiny_model import build_tiny_model

pytestmark = pytest.mark.vllm
STARTUP_SECONDS = 600
MESSAGES = [{"role": "system", "content": "You are an ED physician."},
            {"role": "user", "content": "Chest pain for one hour. Triage level?"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if importlib.util.find_spec("vllm") is None:
        skip_or_fail("vLLM is not installed in this environment (scripts/setup_vllm_cpu.sh)")
    model = build_tiny_model(tmp_path_factory.mktemp("tiny-served"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(tmp_path_factory.mktemp("serve-log") / "serve.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
         "--served-model-name", "tiny", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
         "--max-model-len", "1024", "--gpu-memory-utilization", "0.3", "--generation-config", "vllm"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"vllm serve exited with {process.returncode}:\n{log.read()[-3000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not answer within {STARTUP_SECONDS}s")
            time.sleep(2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_samples_seeds_usage_and_info(served):
    backend = OpenAIServerBackend(api_base=served, model="tiny", timeout=120)
    requests = [ChatRequest("a", MESSAGES, seed=101), ChatRequest("b", MESSAGES, seed=101),
                ChatRequest("c", MESSAGES, seed=9001)]
    results = backend.chat(requests, SamplingSettings(temperature=1.0, max_tokens=12, n=2))

    assert [(r.key, r.sample_index) for r in results] == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]
    assert all(r.ok and r.prompt_tokens > 0 and r.finish_reason in ("length", "stop") for r in results)
    assert results[0].extra["usage"]["completion_tokens"] > 0
    assert [r.text for r in results[:2]] == [r.text for r in results[2:4]]  # same seed, same samples
    assert results[0].text != results[1].text  # n samples differ
    [single] = backend.chat([ChatRequest("d", MESSAGES, seed=5)], SamplingSettings(max_tokens=7))
    assert single.completion_tokens == 7 and single.finish_reason == "length"
    info = backend.info()
    assert info["server_models"] == ["tiny"] and info["max_model_len"] == 1024 and info["owned_by"] == "vllm"


@pytest.mark.parametrize("mode", ["response_format", "structured_outputs"])
def test_structured_output_gives_a_valid_judge_answer(served, mode):
    schema = default_rating_schema()
    backend = OpenAIServerBackend(api_base=served, model="tiny", timeout=120, structured_output=mode)
    [result] = backend.chat([ChatRequest("j", MESSAGES, seed=3)],
                            SamplingSettings(max_tokens=400, json_schema=judge_json_schema(schema)))
    assert result.ok and result.finish_reason == "stop", result
    answer = parse_judge_answer(result.text, schema)  # a random-weight model, constrained to the scales
    assert set(answer) == {"safety", "reasoning"}


def test_a_request_the_server_refuses_is_a_clear_row_error(served):
    backend = OpenAIServerBackend(api_base=served, model="tiny", timeout=120)
    results = backend.chat([ChatRequest("x", MESSAGES), ChatRequest("y", MESSAGES)], SamplingSettings(max_tokens=5000))
    for result in results:  # refused at once, row by row: no retry, no TransientBackendError
        assert "HTTP 400" in result.error and "max_tokens" in result.error and not result.extra["transient"]
