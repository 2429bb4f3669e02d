"""vLLM for real, on the CPU build, with a tiny random-weight Llama model built by the test (no hub).

Run in the vLLM environment: `.venv-vllm/bin/pytest -m vllm tests/inference/test_vllm_cpu.py`. One
engine serves the whole session (its start takes about a minute here). The model's text is gibberish
by design: these tests check the plumbing (batching, chat template, token counts, seeds, structured
output, rows stored once through the real generation service), not the answers.
"""
import json

import pytest

from inference import services
from inference.backends import ChatRequest, SamplingSettings
from inference.models import ItemStatus, Job, JobStatus
from studies.models import Response
from tests import factories
from tests.conftest import skip_or_fail
from tests.inference.grid import grid_study

pytestmark = pytest.mark.vllm

# On the CPU the "GPU" memory fraction is a share of RAM for the KV cache; the tiny model needs little.
ENGINE_OPTIONS = {"dtype": "float32", "max_model_len": 1024, "gpu_memory_utilization": 0.1}
SAMPLING = SamplingSettings(temperature=0.7, top_p=0.95, max_tokens=16)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        skip_or_fail(f"vLLM is not installed here ({exc}); run in .venv-vllm (scripts/setup_vllm_cpu.sh)")
    from tests.inference.tiny_model import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def backend(tiny_model):
    from inference.backends.vllm_engine import VllmBackend, engine_shutdown

    backend = VllmBackend(model_path=tiny_model, options=ENGINE_OPTIONS)
    backend.info()  # starts the session's one engine
    yield backend
    engine_shutdown()


def conversation(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


REQUESTS = [
    ChatRequest(key="b", messages=conversation("You are an ED nurse.", "Chest pain for an hour."), seed=2),
    ChatRequest(key="a", messages=conversation("You are an ED physician.", "Fever and a rash."), seed=1),
    ChatRequest(key="c", messages=conversation("", "Chest pain for an hour."), seed=3),
    ChatRequest(key="d", messages=conversation("You are an ED nurse.", "Fever and a rash."), seed=4),
]


def test_one_batch_returns_results_in_the_callers_order_with_the_chat_template_applied(backend):
    results = backend.chat(REQUESTS, SAMPLING)
    assert [r.key for r in results] == ["b", "a", "c", "d"]
    tokenizer = backend.engine.llm.get_tokenizer()
    for request, result in zip(REQUESTS, results, strict=True):
        system, user = request.messages[0]["content"], request.messages[1]["content"]
        assert result.ok and result.sample_index == 0
        assert result.rendered_prompt == f"<|system|>\n{system}<|end|>\n<|user|>\n{user}<|end|>\n<|assistant|>\n"
        assert result.prompt_tokens == len(tokenizer.encode(result.rendered_prompt, add_special_tokens=False))
        assert 0 < result.completion_tokens <= SAMPLING.max_tokens
        assert result.finish_reason in ("length", "stop") and result.seconds > 0
        assert result.extra == {"batch_size": 4}  # one LLM.chat call for the whole batch


def test_the_baseline_keeps_its_empty_system_message(backend):
    (result,) = backend.chat([REQUESTS[2]], SAMPLING)
    assert result.rendered_prompt.startswith("<|system|>\n<|end|>\n<|user|>\n")


def test_the_same_seed_gives_the_same_text_and_another_seed_another(backend):
    first = backend.chat(REQUESTS, SAMPLING)
    again = backend.chat(list(reversed(REQUESTS)), SAMPLING)
    assert [r.text for r in first] == [r.text for r in reversed(again)]
    reseeded = backend.chat([ChatRequest(key="a", messages=REQUESTS[1].messages, seed=99)], SAMPLING)
    assert reseeded[0].text != first[1].text


def test_n_samples_come_back_grouped_per_request(backend):
    results = backend.chat(REQUESTS[:2], SamplingSettings(temperature=0.7, max_tokens=8, n=3))
    assert [(r.key, r.sample_index) for r in results] == [("b", 0), ("b", 1), ("b", 2), ("a", 0), ("a", 1), ("a", 2)]


def test_results_stream_request_by_request_and_a_caller_may_stop_early(backend):
    stream = backend.chat_iter(REQUESTS, SamplingSettings(temperature=0.7, max_tokens=200))
    first = next(stream)
    assert len(first) == 1 and first[0].key in {"a", "b", "c", "d"}
    stream.close()  # the rest is aborted, not left running in the engine
    assert not backend.engine.llm.llm_engine.has_unfinished_requests()
    assert [r.key for r in backend.chat(REQUESTS[:2], SAMPLING)] == ["b", "a"]


def test_structured_output_follows_the_json_schema(backend):
    schema = {"type": "object", "properties": {"esi": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
              "required": ["esi"], "additionalProperties": False}
    requests = [ChatRequest(key=str(i), messages=REQUESTS[i % 4].messages, seed=i) for i in range(6)]
    results = backend.chat(requests, SamplingSettings(temperature=0.7, max_tokens=48, json_schema=schema))
    finished = [r for r in results if r.finish_reason == "stop"]
    assert finished  # random weights may ramble in whitespace until max_tokens; most close the object
    for result in finished:
        assert json.loads(result.text)["esi"] in (1, 2, 3, 4, 5)
    assert all(r.text.lstrip().startswith("{") for r in results)


def test_info_names_the_engine_model_dtype_and_device(backend, tiny_model):
    import torch
    import vllm

    info = backend.info()
    assert info["engine"] == "vllm" and info["model"] == tiny_model
    assert (info["vllm_version"], info["torch_version"]) == (vllm.__version__, torch.__version__)
    assert info["dtype"] == "float32" and info["device"] == "cpu" and info["prefix_caching"] is True


@pytest.mark.django_db
def test_the_generation_service_stores_every_cell_once_through_the_engine(backend, tiny_model, settings):
    settings.GENERATION_CHUNK_SIZE = 5
    spec = factories.ModelSpecFactory(backend="vllm", model_path=tiny_model, engine_options=ENGINE_OPTIONS,
                                      max_tokens=12, samples_per_prompt=2, seed=5)
    study = grid_study(cases=2, personas=2, specs=[spec])
    job = services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    assert job.status == JobStatus.DONE and job.items.count() == 8
    responses = list(Response.objects.filter(study=study).select_related("persona", "case"))
    assert len(responses) == 8
    assert len({(r.case_id, r.persona_id, r.sample_index) for r in responses}) == 8
    for response in responses:
        system, user = (m["content"] for m in response.prompt_messages)
        assert response.rendered_prompt == (f"<|system|>\n{system}<|end|>\n<|user|>\n{user}<|end|>\n"
                                            "<|assistant|>\n")
        assert response.backend == "vllm" and response.provenance["vllm_version"]
        assert response.provenance["engine"] == "vllm" and response.provenance["model"] == tiny_model
        assert response.sampling == {"temperature": 0.7, "top_p": 1.0, "max_tokens": 12, "n": 1}
        assert 0 < response.completion_tokens <= 12 and response.prompt_tokens > 0
        assert response.provenance["backend_extra"]["batch_size"] == 5 or response.provenance["chunk"] == 1
    baseline = [r for r in responses if r.persona.is_baseline]
    assert baseline and all(r.prompt_messages[0] == {"role": "system", "content": ""} for r in baseline)
    assert all(r.rendered_prompt.startswith("<|system|>\n<|end|>\n") for r in baseline)

    # Each stored response is reproducible from what it stores: its messages, sampling and seed.
    sample = responses[3]
    (again,) = backend.chat([ChatRequest(key="x", messages=sample.prompt_messages, seed=sample.seed)],
                            SamplingSettings(**{k: v for k, v in sample.sampling.items()}))
    assert again.text == sample.text

    # A redelivered chunk adds nothing.
    stored = set(Response.objects.filter(study=study).values_list("pk", "text"))
    job.items.update(status=ItemStatus.PENDING)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    services.job_run_in_process(job=job)
    assert set(Response.objects.filter(study=study).values_list("pk", "text")) == stored
